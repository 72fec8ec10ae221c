"""Calibration data for pruners, following ``optimum.gptq.data.get_dataset`` conventions.

Accepted forms of ``calibration_dataset``:

- a name, ``"c4"``, ``"c4-new"`` or ``"wikitext2"``: loaded from the Hub by optimum's ``get_dataset`` (needs
  network access; random windows of ``seq_len`` tokens); or ``"hf-ext-testing:prose"`` /
  ``"hf-ext-testing:prose-heldout"``: the offline prose of :mod:`hf_ext.data.prose` (train / held-out split);
- a list of strings, or a ``datasets.Dataset`` with a ``text`` column: joined with EOS into one token stream
  and cut into non-overlapping windows, of which ``num_samples`` are drawn with the seed;
- token ids: a 2-D integer tensor, a list of lists of ints, or a list of ``{"input_ids": ...}`` dicts (what
  ``get_dataset`` returns); rows are used as they are (cut to ``seq_len``).

The result is always a ``[num_samples, seq_len]`` LongTensor.

Example:
    >>> from hf_ext.pruning.calibration import calibration_tokens
    >>> from hf_ext.testing import tiny_tokenizer, reference_texts
    >>> texts = list(reference_texts("train"))
    >>> tokens = calibration_tokens(texts, tiny_tokenizer(), num_samples=4, seq_len=32)
    >>> tuple(tokens.shape)
    (4, 32)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

NAMED_DATASETS = ("c4", "c4-new", "wikitext2")
OFFLINE_TEXTS = ("hf-ext-testing:prose", "hf-ext-testing:prose-heldout")


def offline_texts(name: str) -> list[str]:
    """The texts of an ``hf-ext-testing:prose[-heldout]`` name (the reference LM's train / held-out prose)."""
    if name not in OFFLINE_TEXTS:
        raise ValueError(f"unknown offline text set {name!r}; choose one of {', '.join(OFFLINE_TEXTS)}")
    from hf_ext.data.prose import prose_split

    train, heldout = prose_split()
    return list(train if name == OFFLINE_TEXTS[0] else heldout)


def calibration_tokens(
    dataset: Any, tokenizer: Any, num_samples: int, seq_len: int, seed: int = 0
) -> torch.Tensor:
    """``[num_samples, seq_len]`` token ids from any accepted form of calibration data (see module doc)."""
    if isinstance(dataset, str) and dataset in OFFLINE_TEXTS:
        return _text_windows(offline_texts(dataset), tokenizer, num_samples, seq_len, seed)
    if isinstance(dataset, str):
        return _named_dataset(dataset, tokenizer, num_samples, seq_len, seed)
    if _is_datasets_dataset(dataset):
        return _text_windows(_texts_of_dataset(dataset), tokenizer, num_samples, seq_len, seed)
    if isinstance(dataset, torch.Tensor):
        return _token_rows(dataset, num_samples, seq_len)
    if isinstance(dataset, Sequence) and len(dataset) > 0:
        first = dataset[0]
        if isinstance(first, str):
            return _text_windows(dataset, tokenizer, num_samples, seq_len, seed)
        if isinstance(first, dict):
            if "input_ids" not in first:
                raise ValueError("calibration_dataset: dict items need an 'input_ids' field")
            rows = [torch.as_tensor(item["input_ids"]).reshape(-1) for item in dataset]
            return _token_rows(rows, num_samples, seq_len)
        if isinstance(first, Sequence | torch.Tensor):
            return _token_rows([torch.as_tensor(row).reshape(-1) for row in dataset], num_samples, seq_len)
    raise ValueError(
        "calibration_dataset must be a name (c4, c4-new, wikitext2), a list of strings, a datasets.Dataset "
        f"with a 'text' column, or token ids; got {type(dataset).__name__}"
        + (" (empty)" if isinstance(dataset, Sequence) and len(dataset) == 0 else "")
    )


def _named_dataset(name: str, tokenizer: Any, num_samples: int, seq_len: int, seed: int) -> torch.Tensor:
    if name not in NAMED_DATASETS:
        names = ", ".join(NAMED_DATASETS + OFFLINE_TEXTS)
        raise ValueError(f"unknown calibration dataset {name!r}; named sets are {names}")
    from optimum.gptq.data import get_dataset

    samples = get_dataset(name, tokenizer, nsamples=num_samples, seqlen=seq_len, seed=seed, split="train")
    return torch.cat([torch.as_tensor(sample["input_ids"]).reshape(1, -1) for sample in samples])


def _is_datasets_dataset(dataset: Any) -> bool:
    return type(dataset).__module__.startswith("datasets.") and hasattr(dataset, "column_names")


def _texts_of_dataset(dataset: Any) -> list[str]:
    if "text" not in dataset.column_names:
        raise ValueError(f"calibration datasets.Dataset needs a 'text' column; it has {dataset.column_names}")
    return [text for text in dataset["text"] if text]


def _text_windows(
    texts: Sequence[str], tokenizer: Any, num_samples: int, seq_len: int, seed: int
) -> torch.Tensor:
    from hf_ext.evaluation.perplexity import token_stream

    stream = token_stream(tokenizer, list(texts))
    num_windows = len(stream) // seq_len
    if num_windows < num_samples:
        raise ValueError(
            f"too little calibration text: {len(stream)} tokens give {num_windows} windows of {seq_len} "
            "tokens, "
            f"but num_calibration_samples={num_samples}; give more text or lower num_calibration_samples / "
            "calibration_seq_len"
        )
    windows = stream[: num_windows * seq_len].view(num_windows, seq_len)
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(num_windows, generator=generator)[:num_samples]
    return windows[chosen.sort().values]


def _token_rows(rows: Sequence[torch.Tensor] | torch.Tensor, num_samples: int, seq_len: int) -> torch.Tensor:
    if isinstance(rows, torch.Tensor):
        if rows.dim() != 2:
            raise ValueError(
                f"calibration token ids must be 2-D [samples, seq_len], got shape {tuple(rows.shape)}"
            )
        rows = list(rows)
    usable = [row[:seq_len].long() for row in rows if row.numel() >= seq_len]
    if len(usable) < num_samples:
        raise ValueError(
            f"too little calibration data: {len(usable)} token rows have at least {seq_len} tokens, but "
            f"num_calibration_samples={num_samples}; give more rows or lower num_calibration_samples / "
            "calibration_seq_len"
        )
    return torch.stack(usable[:num_samples])
