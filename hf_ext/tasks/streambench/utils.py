"""lm-eval glue for the ``hfx_streambench_*`` tasks (loaded by file path: absolute imports only).

Importing this file registers the ``hfx-stream`` model with lm-eval, so ``--model hfx-stream`` works once
lm-eval has loaded one of these tasks (``hf-ext eval`` registers it before that).

Task metadata (``--metadata '{...}'``), all optional except ``db_path`` for the Hub text-to-SQL tasks:

* ``seed`` (42): the stream order, ``Dataset.shuffle(seed=seed)``; the paper uses 2, 3, 7, 21 and 42.
* ``num_samples`` (200, offline streams): stream length; ``data_seed`` (0) chooses the generated documents.
* ``db_path`` (bird, spider, cosql): the folder holding ``<db_id>/<db_id>.sqlite``.
* ``split`` (Hub tasks): the split to stream (default ``test``).

Example:
    >>> docs = load_offline(stream="diagnosis", num_samples=3, seed=2)["test"]
    >>> len(docs), docs[0]["hfx_bench"]
    (3, 'label')
    >>> doc = docs[0]
    >>> process_results(doc, [doc_to_target(doc)])
    {'acc': 1.0}
"""

from __future__ import annotations

from typing import Any

from hf_ext.agents.tools.stream import offline_stream_docs
from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.benches import Settings, bench_of
from hf_ext.evaluation.streambench.hub import load_hub_stream
from hf_ext.evaluation.streambench.protocol import stream_order

try:  # registers --model hfx-stream as soon as lm-eval loads one of these tasks
    from hf_ext.evaluation.streambench.lm_eval_registration import register_lm_eval_models

    register_lm_eval_models()
except ImportError:  # lm-eval absent: the helpers below still work
    pass

DEFAULT_SEED = 42


def _int(metadata: dict[str, Any], key: str, default: int) -> int:
    value = metadata.get(key, default)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise HFExtError(f"metadata field {key!r} must be an integer, got {value!r}") from None


def load_offline(**metadata: Any) -> dict[str, Any]:
    """lm-eval ``custom_dataset`` of the offline streams: ``{"test": stream, "train": shots}``."""
    from datasets import Dataset

    stream = metadata["stream"]
    n, seed, data_seed = (
        _int(metadata, "num_samples", 200),
        _int(metadata, "seed", DEFAULT_SEED),
        _int(metadata, "data_seed", 0),
    )
    docs = offline_stream_docs(stream, n=n, seed=data_seed)
    ordered = [dict(docs[i], doc_id=position) for position, i in enumerate(stream_order(len(docs), seed))]
    train = offline_stream_docs(stream, n=16, seed=data_seed, split="train")
    return {"test": Dataset.from_list(ordered), "train": Dataset.from_list(train)}


def load_hub(**metadata: Any) -> dict[str, Any]:
    """lm-eval ``custom_dataset`` of the Hub tasks (``appier-ai-research/StreamBench``)."""
    split = str(metadata.get("split", "test"))
    stream = load_hub_stream(
        metadata["hub_config"],
        split=split,
        seed=_int(metadata, "seed", DEFAULT_SEED),
        db_path=metadata.get("db_path"),
    )
    return {"test": stream}


def doc_to_text(doc: dict[str, Any]) -> str:
    """The zero-shot prompt (what a plain model sees; ``hfx-stream`` rebuilds it with the agent's memory)."""
    return bench_of(doc).prompt(doc)


def doc_to_target(doc: dict[str, Any]) -> str:
    return bench_of(doc).gold_answer(doc)


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    """The same checker the agent's feedback uses. Code is only run for tasks marked ``unsafe_code``, which
    lm-eval refuses to start without ``--confirm_run_unsafe_code``."""
    return bench_of(doc).score(results[0], doc, Settings(allow_code_execution=True))
