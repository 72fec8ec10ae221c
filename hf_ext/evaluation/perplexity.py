"""Held-out perplexity of a causal LM over texts, in non-overlapping windows.

A measuring tool, not a benchmark: it imports nothing of hf-ext, and besides evaluation/ itself the
pruners (quality checks), the trainers, the offline kit :mod:`hf_ext.testing` (the reference LM's report)
and the quickstart may use it (tests/test_import_layers.py holds the list; docs/usage.md states the layers).

Example:
    >>> from hf_ext.testing import tiny_causal_lm
    >>> from hf_ext.evaluation.perplexity import perplexity
    >>> model, tokenizer = tiny_causal_lm()
    >>> ppl = perplexity(model, tokenizer, ["A short sentence about assignment statements."] * 4, seq_len=16)
    >>> 1.0 < ppl < 10 * len(tokenizer)
    True
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch


def token_stream(tokenizer, texts: Sequence[str]) -> torch.Tensor:
    """All texts tokenized (no special tokens) and joined with the EOS token into one 1-D tensor."""
    eos = tokenizer.eos_token_id
    ids: list[int] = []
    for encoded in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        ids.extend(encoded)
        ids.append(eos)
    return torch.tensor(ids, dtype=torch.long)


@torch.no_grad()
def perplexity(
    model,
    tokenizer,
    texts: Sequence[str],
    seq_len: int = 256,
    batch_size: int = 8,
    max_windows: int | None = None,
) -> float:
    """exp(mean next-token negative log-likelihood) over windows of ``seq_len`` tokens.

    The texts are joined into one stream (see :func:`token_stream`) and cut into non-overlapping windows;
    every window predicts its tokens 2..seq_len. ``max_windows`` caps the work for quick checks.
    """
    stream = token_stream(tokenizer, texts)
    num_windows = len(stream) // seq_len
    if num_windows == 0:
        raise ValueError(f"texts give {len(stream)} tokens, fewer than one window of seq_len={seq_len}")
    if max_windows is not None:
        num_windows = min(num_windows, max_windows)
    windows = stream[: num_windows * seq_len].view(num_windows, seq_len)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_nll, total_tokens = 0.0, 0
    for start in range(0, num_windows, batch_size):
        batch = windows[start : start + batch_size].to(device)
        logits = model(input_ids=batch).logits[:, :-1].float()
        nll = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1), reduction="sum"
        )
        total_nll += nll.item()
        total_tokens += batch[:, 1:].numel()
    model.train(was_training)
    return math.exp(total_nll / total_tokens)
