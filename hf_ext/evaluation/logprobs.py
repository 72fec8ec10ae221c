"""Summed log-probabilities of completions given prompts, the quantity DPO's implicit reward is built on.

Example:
    >>> from hf_ext.testing import tiny_causal_lm
    >>> from hf_ext.evaluation.logprobs import completion_logprobs
    >>> model, tokenizer = tiny_causal_lm()
    >>> scores = completion_logprobs(model, tokenizer, ["The cat"], [" sat down."])
    >>> scores.shape, bool(scores[0] < 0)
    (torch.Size([1]), True)
"""

from __future__ import annotations

from collections.abc import Sequence

import torch


@torch.no_grad()
def completion_logprobs(model, tokenizer, prompts: Sequence[str], completions: Sequence[str]) -> torch.Tensor:
    """``log p(completion | prompt)`` for each pair, summed over the completion's tokens (float32, CPU)."""
    if len(prompts) != len(completions):
        raise ValueError(f"got {len(prompts)} prompts but {len(completions)} completions")
    device = next(model.parameters()).device
    scores = []
    for prompt, completion in zip(prompts, completions):
        prompt_ids = tokenizer(prompt)["input_ids"]
        completion_ids = tokenizer(completion, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([prompt_ids + completion_ids], device=device)
        logits = model(input_ids=ids).logits[0, :-1].float()
        targets = ids[0, 1:]
        token_logprobs = torch.log_softmax(logits, dim=-1).gather(-1, targets[:, None])[:, 0]
        scores.append(token_logprobs[len(prompt_ids) - 1 :].sum().cpu())
    return torch.stack(scores)
