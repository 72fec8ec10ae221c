"""lm-eval glue for the ``hfx_babilong_qa*`` tasks (loaded by file path: absolute imports only).

Task metadata (``--metadata '{...}'`` or ``TaskManager(metadata=...)``), all optional:

* ``max_seq_lengths``: lengths in tokens, a list (``[4096, 32768]``) or a comma string (``"0,4k,1M"``);
  default ``4k``. Each length gets its own metric ``acc_<tokens>``.
* ``tokenizer``: the tokenizer that counts tokens; default the evaluated model's (``pretrained`` or
  ``model`` from ``--model_args``), as lm-eval's RULER tasks do.
* ``num_samples`` (default 100), ``seed`` (0), ``reserve`` (300), ``haystack`` (offline prose; ``pg19``,
  ``hf:<dataset>`` or a path), ``depth`` (percent or ``[low, high]`` window).
* ``length_convention``: ``model`` (default: ``4k`` is 4096 tokens of the evaluated model's tokenizer) or
  ``official`` (the released data's: ``4k`` is 4000 GPT-2 tokens, tokenizer GPT-2 unless ``tokenizer`` is
  given), to compare with published tables.
* ``source``: ``generate`` (default) or ``hub`` to read the official ``RMT-team/babilong`` dataset. Its
  configs hold decimal GPT-2 lengths whatever the convention (config ``4k`` is 4000 tokens), so its rows
  and metrics are labelled by that real length (``acc_4000``).

Example:
    >>> from hf_ext.tasks.babilong.utils import metric_names
    >>> metric_names(4096, [12.5, 80.0])
    ['acc_4096', 'acc_depth_0']
"""

from __future__ import annotations

import itertools
from typing import Any

from hf_ext.evaluation.babilong.generator import (
    OFFICIAL_TOKENIZER,
    iter_babilong,
    length_label,
    load_tokenizer,
    parse_length,
    parse_lengths,
    write_rows,
)
from hf_ext.evaluation.babilong.metric import compare_answers, compare_answers_official, contains_answer
from hf_ext.evaluation.babilong.prompts import build_prompt

DEFAULT_LENGTHS = ("4k",)
HUB_DATASET = "RMT-team/babilong"
HUB_CONFIGS = ("0k", "1k", "2k", "4k", "8k", "16k", "32k", "64k", "128k", "256k", "512k", "1M", "10M")
TOKENIZER_KEYS = ("tokenizer", "pretrained", "model")
DEPTH_BUCKET = 20  # percent


def tokenizer_name(metadata: dict[str, Any]) -> str:
    for key in TOKENIZER_KEYS:
        value = metadata.get(key)
        if isinstance(value, str) and value:
            return value
    raise ValueError(
        "hfx_babilong needs a tokenizer to size its contexts: evaluate a model given by "
        "'pretrained=...' or pass --metadata '{\"tokenizer\": \"<name or path>\"}'"
    )


def hub_config_name(tokens: int) -> str:
    """The ``RMT-team/babilong`` config for a length: 0 -> ``0k``, 4096 or 4000 -> ``4k``, 2**20 or 10**6 ->
    ``1M`` (a length in either convention names the same config)."""
    for convention in ("official", "model"):
        label = length_label(tokens, convention)
        if label in HUB_CONFIGS:
            return label
    raise ValueError(f"the Hub dataset has no config for {tokens} tokens; use lengths like 4k, 32k, 1M")


def load_hub(task: str, lengths: list[int]):
    """The official samples of ``task`` at each length, with this package's extra columns; ``length`` is
    the length the data really has (decimal GPT-2 tokens: config ``4k`` is 4000)."""
    from datasets import concatenate_datasets, load_dataset

    parts = []
    for tokens in lengths:
        config = hub_config_name(tokens)
        real = parse_length(config, "official")
        try:
            part = load_dataset(HUB_DATASET, config, split=task)
        except (ValueError, KeyError) as error:  # datasets names an unknown split or config this way
            raise ValueError(
                f"{HUB_DATASET} has no split {task!r} in config {config!r} (the Hub holds qa11-qa20 only at "
                f"0k); generate it instead (source: generate): {error}"
            ) from error
        part = part.map(lambda row, t=real: {"length": t, "task": task, "support_depths": []})
        parts.append(part)
    return concatenate_datasets(parts)


def load_babilong(**metadata: Any) -> dict[str, Any]:
    """lm-eval ``custom_dataset``: ``{"test": Dataset}`` for one task at every requested length."""
    task = metadata["babilong_task"]
    convention = metadata.get("length_convention", "model")
    lengths = parse_lengths(metadata.get("max_seq_lengths"), DEFAULT_LENGTHS, convention)
    source = metadata.get("source", "generate")
    if source == "hub":
        return {"test": load_hub(task, lengths)}
    if source != "generate":
        raise ValueError(f"metadata 'source' must be 'generate' or 'hub', got {source!r}")
    if convention == "official" and not metadata.get("tokenizer"):
        tokenizer = load_tokenizer(OFFICIAL_TOKENIZER)
    else:
        tokenizer = load_tokenizer(tokenizer_name(metadata))
    options = {
        key: metadata[key]
        for key in ("num_samples", "seed", "reserve", "haystack", "depth")
        if key in metadata
    }
    rows = itertools.chain.from_iterable(
        iter_babilong(task, tokens, tokenizer=tokenizer, length_convention=convention, **options)
        for tokens in lengths
    )
    return {"test": write_rows(rows)}


def doc_to_text(doc: dict[str, Any]) -> str:
    return build_prompt(doc["task"], doc["input"], doc["question"])


def metric_names(length: int, support_depths: list[float]) -> list[str]:
    """Per-length key, plus the depth bucket of the earliest supporting fact when there is a haystack."""
    names = [f"acc_{length}"]
    if length and support_depths:
        bucket = min(int(min(support_depths) // DEPTH_BUCKET) * DEPTH_BUCKET, 100 - DEPTH_BUCKET)
        names.append(f"acc_depth_{bucket}")
    return names


def process_results(doc: dict[str, Any], results: list[str]) -> dict[str, float]:
    output = results[0]
    correct = float(compare_answers(doc["target"], output, doc["question"], doc["task"]))
    scores = {
        "acc": correct,
        "acc_official": float(compare_answers_official(doc["target"], output, doc["question"], doc["task"])),
        "contains": float(contains_answer(doc["target"], output)),
    }
    scores.update(
        {name: correct for name in metric_names(doc["length"], list(doc.get("support_depths") or []))}
    )
    return scores
