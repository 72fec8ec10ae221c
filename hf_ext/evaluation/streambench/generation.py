"""A transformers causal LM as a StreamBench model: ``model(prompt, max_tokens) -> str``, greedy.

The prompt is cut from the left when it would not fit the model's context with the new tokens, and the reply
is cut at the first stop string (a blank line or a new ``Question:``, as the lm-eval tasks do).

Example:
    >>> from hf_ext.testing import tiny_causal_lm
    >>> model, tokenizer = tiny_causal_lm()
    >>> generate = transformers_generator(model, tokenizer)
    >>> isinstance(generate("Question: 1 + 1?", 4), str)
    True
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

DEFAULT_STOP = ("\n\n", "Question:")


def cut_at_stop(text: str, stop: Sequence[str] = DEFAULT_STOP) -> str:
    """``text`` up to the first stop string."""
    cut = min((text.find(s) for s in stop if s and s in text), default=len(text))
    return text[:cut]


def transformers_generator(
    model: Any, tokenizer: Any, stop: Sequence[str] = DEFAULT_STOP, device: str | None = None
):
    """Wrap a loaded causal LM and its tokenizer as a greedy ``model(prompt, max_tokens) -> str``."""
    import torch

    device = device or str(next(model.parameters()).device)
    limit = int(getattr(model.config, "max_position_embeddings", 2048) or 2048)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def generate(prompt: str, max_tokens: int) -> str:
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"][:, -(limit - max_tokens) :].to(device)
        with torch.no_grad():
            out = model.generate(
                input_ids=ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=max_tokens,
                do_sample=False,
                pad_token_id=pad,
            )
        return cut_at_stop(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True), stop)

    return generate


def load_generator(name_or_path: str, device: str = "cpu", dtype: str = "auto"):
    """Load a model by Hub id or local path (``trust_remote_code=False``) and wrap it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    model = AutoModelForCausalLM.from_pretrained(name_or_path, dtype=dtype).to(device).eval()
    return transformers_generator(model, tokenizer, device=device)
