"""Tiny random-init causal LMs of real transformers architectures, for tests, recipes and the quickstart.

Example:
    >>> from hf_ext.testing import tiny_causal_lm
    >>> model, tokenizer = tiny_causal_lm("qwen2")
    >>> model.config.num_key_value_heads < model.config.num_attention_heads  # GQA
    True
    >>> inputs = tokenizer("Hello", return_tensors="pt")
    >>> output = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    >>> output.shape[1] == inputs["input_ids"].shape[1] + 3
    True
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    LlamaConfig,
    MistralConfig,
    PretrainedConfig,
    PreTrainedModel,
    Qwen2Config,
)

from hf_ext.testing.tokenizer import tiny_tokenizer

_COMMON = {
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 2048,
    "tie_word_embeddings": False,
}

# Architecture name -> (config class, defaults). Llama is MHA; Qwen2 and Mistral use grouped-query attention.
TINY_ARCHITECTURES: dict[str, tuple[type[PretrainedConfig], dict[str, Any]]] = {
    "llama": (LlamaConfig, {**_COMMON, "num_key_value_heads": 4}),
    "qwen2": (Qwen2Config, {**_COMMON, "num_key_value_heads": 2, "use_sliding_window": False}),
    "mistral": (MistralConfig, {**_COMMON, "num_key_value_heads": 2, "sliding_window": None}),
    "gpt2": (GPT2Config, {"n_embd": 64, "n_layer": 2, "n_head": 4, "n_positions": 2048, "n_inner": 128}),
}


def tiny_config(arch: str = "llama", vocab_size: int = 512, **config_overrides: Any) -> PretrainedConfig:
    """The config :func:`tiny_causal_lm` builds, with the tokenizer's special-token ids filled in."""
    if arch not in TINY_ARCHITECTURES:
        raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(TINY_ARCHITECTURES)}")
    config_cls, defaults = TINY_ARCHITECTURES[arch]
    special_ids = {"pad_token_id": 0, "bos_token_id": 1, "eos_token_id": 2}
    return config_cls(**{**defaults, "vocab_size": vocab_size, **special_ids, **config_overrides})


def tiny_causal_lm(
    arch: str = "llama", *, seed: int = 0, vocab_size: int = 512, **config_overrides: Any
) -> tuple[PreTrainedModel, Any]:
    """A random-init causal LM of a real architecture and its tokenizer (see :func:`tiny_tokenizer`).

    Args:
        arch: ``"llama"`` (default, MHA), ``"qwen2"`` or ``"mistral"`` (GQA: 4 query heads over 2 KV heads),
            or ``"gpt2"``.
        seed: weights are a pure function of the seed; the global RNG state is left untouched.
        vocab_size: tokenizer and embedding size.
        **config_overrides: any config field, e.g. ``num_hidden_layers=4`` or ``hidden_size=128``.
    """
    config = tiny_config(arch, vocab_size=vocab_size, **config_overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config)
    model.generation_config.pad_token_id = config.pad_token_id
    return model.eval(), tiny_tokenizer(vocab_size=vocab_size)


def save_tiny_causal_lm(path: str | Path, arch: str = "llama", **kwargs: Any) -> Path:
    """Build :func:`tiny_causal_lm` and save model and tokenizer (safetensors) to ``path``; return the path.

    The folder loads with ``AutoModelForCausalLM.from_pretrained`` and lm-eval's ``hf`` model.
    """
    path = Path(path)
    model, tokenizer = tiny_causal_lm(arch, **kwargs)
    model.save_pretrained(path, safe_serialization=True)
    tokenizer.save_pretrained(path)
    return path
