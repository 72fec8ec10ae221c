"""Offline names that recipes and the CLI can use wherever a Hub id or a path is expected.

``hf-ext-testing:<name>`` stands for a model or dataset that :mod:`hf_ext.testing` builds on this machine.
Production code resolves these names through :mod:`hf_ext.names`, which imports this module (its
``PROVIDER``) only when such a name is used:

=================================================  ==========================================================
``hf-ext-testing:tiny-llama`` (``-qwen2``,         a tiny random model + tokenizer, saved once under the
``-mistral``, ``-gpt2``)                           cache directory
``hf-ext-testing:reference-lm``                    the trained :func:`~hf_ext.testing.reference_lm`
``hf-ext-testing:preferences[-conversational]``    :func:`~hf_ext.testing.preference_dataset`
``hf-ext-testing:prompts[-conversational]``        :func:`~hf_ext.testing.prompt_dataset`
``hf-ext-testing:tiny-hvfa``                       :func:`~hf_ext.testing.hvfa.tiny_hvfa` (model + processor)
``hf-ext-testing:synthdoc-rtpp`` (``-qa``)         32 synthetic pages as RTPP (or QA) prompt-completion rows
=================================================  ==========================================================

Example:
    >>> from hf_ext.testing.names import resolve_model_name, testing_dataset
    >>> resolve_model_name("gpt2-medium")          # anything else passes through unchanged
    'gpt2-medium'
    >>> len(testing_dataset("hf-ext-testing:preferences")["train"]) > 0
    True
"""

from __future__ import annotations

from collections.abc import Callable

from datasets import Dataset, DatasetDict
from filelock import FileLock

from hf_ext.registry import unknown_name_error
from hf_ext.testing.cache_keys import recipe_key
from hf_ext.testing.datasets import preference_dataset, prompt_dataset
from hf_ext.testing.models import TINY_ARCHITECTURES, save_tiny_causal_lm
from hf_ext.utils import cache_dir

PREFIX = "hf-ext-testing:"  # hf_ext.names.NAME_PROVIDERS maps it to PROVIDER below

TESTING_DATASETS: dict[str, Callable[[], Dataset]] = {
    "preferences": lambda: preference_dataset(64),
    "preferences-conversational": lambda: preference_dataset(64, conversational=True),
    "prompts": lambda: prompt_dataset(32),
    "prompts-conversational": lambda: prompt_dataset(32, conversational=True),
}
TINY_MODELS_VERSION = 1  # raise when tiny models change in a way their names do not show
TESTING_MODELS = [f"tiny-{arch}" for arch in TINY_ARCHITECTURES] + ["reference-lm", "tiny-hvfa"]


def _synthdoc(task: str) -> Dataset:
    """32 small synthetic pages as prompt-completion rows with one image (RTPP or DocVQA-style QA)."""
    from hf_ext.multimodal.documents import (
        synthetic_pages,
        synthetic_qa,
        synthetic_rtpp,
        to_prompt_completion,
    )

    pages = synthetic_pages(32, seed=0, scale=0.3)
    if task == "qa":
        return to_prompt_completion(synthetic_qa(pages), prompt_column="question", target_column="answer")
    return to_prompt_completion(synthetic_rtpp(pages, max_target_words=24))


TESTING_DATASETS["synthdoc-rtpp"] = lambda: _synthdoc("rtpp")
TESTING_DATASETS["synthdoc-qa"] = lambda: _synthdoc("qa")


def is_testing_name(name: str | None) -> bool:
    return isinstance(name, str) and name.startswith(PREFIX)


def resolve_model_name(name: str) -> str:
    """A local folder for an ``hf-ext-testing:`` model name (built on first use); other names unchanged."""
    if not is_testing_name(name):
        return name
    short = name.removeprefix(PREFIX)
    if short == "reference-lm":
        from hf_ext.testing.reference import reference_lm_path

        return str(reference_lm_path())
    if short == "tiny-hvfa":
        return _saved_tiny_hvfa()
    if short.removeprefix("tiny-") not in TINY_ARCHITECTURES or not short.startswith("tiny-"):
        raise unknown_name_error("testing model", name, [PREFIX + choice for choice in TESTING_MODELS])
    target = cache_dir() / "testing-models" / f"{short}-{recipe_key(short, TINY_MODELS_VERSION)}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            save_tiny_causal_lm(target, short.removeprefix("tiny-"))
    return str(target)


def _saved_tiny_hvfa() -> str:
    from hf_ext.testing.hvfa import save_tiny_hvfa

    target = cache_dir() / "testing-models" / f"tiny-hvfa-{recipe_key('tiny-hvfa', TINY_MODELS_VERSION)}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock"):
        if not (target / "config.json").exists():
            save_tiny_hvfa(target)
    return str(target)


def testing_dataset(name: str, test_fraction: float = 0.125) -> DatasetDict:
    """A ``DatasetDict`` with ``train`` and ``test`` splits for an ``hf-ext-testing:`` dataset name."""
    short = name.removeprefix(PREFIX)
    if not is_testing_name(name) or short not in TESTING_DATASETS:
        raise unknown_name_error("testing dataset", name, [PREFIX + choice for choice in TESTING_DATASETS])
    return TESTING_DATASETS[short]().train_test_split(test_size=test_fraction, seed=0)


testing_dataset.__test__ = False  # its name starts with "test": keep pytest from collecting it


class _TestingNames:
    """The provider :mod:`hf_ext.names` resolves ``hf-ext-testing:`` names through (imported on first use)."""

    model_path = staticmethod(resolve_model_name)
    dataset = staticmethod(testing_dataset)


PROVIDER = _TestingNames()
