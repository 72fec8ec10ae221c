"""A tiny random-init HVFA model on an Idefics3 host, built offline, with its processor.

Crops are 16x16 pixels, 4x4 patches of 4 pixels, pixel shuffle by 2: 4 image tokens per crop. The language
model is a 2-layer Llama of width 64 over :func:`~hf_ext.testing.tiny_tokenizer` plus Idefics3's special
tokens.

Example:
    >>> from hf_ext.testing.hvfa import tiny_hvfa
    >>> model, processor = tiny_hvfa(hvfa_scales=3, multiscale_mode="aggregate")
    >>> model.config.tokens_per_crop, processor.tokens_per_crop
    (4, 4)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from hf_ext.multimodal.hvfa.configuration import HVFAConfig
from hf_ext.multimodal.hvfa.modeling import HVFAForConditionalGeneration
from hf_ext.multimodal.hvfa.processing import SPECIAL_TOKENS, HVFAProcessor
from hf_ext.testing.tokenizer import tiny_tokenizer

TINY_VISION = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "image_size": 16,
    "patch_size": 4,
}
TINY_TEXT = {
    "model_type": "llama",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "num_key_value_heads": 4,
    "max_position_embeddings": 4096,
    "pad_token_id": 0,
    "bos_token_id": 1,
    "eos_token_id": 2,
}


def tiny_hvfa_tokenizer():
    """:func:`~hf_ext.testing.tiny_tokenizer` with Idefics3's image tokens added as special tokens."""
    tokenizer = tiny_tokenizer(model_max_length=8192)
    tokenizer.add_special_tokens({"additional_special_tokens": SPECIAL_TOKENS})
    return tokenizer


def tiny_hvfa_config(tokenizer=None, **overrides: Any) -> HVFAConfig:
    """The tiny :class:`HVFAConfig`; ``overrides`` set HVFA fields (``vision``/``text`` update the towers)."""
    tokenizer = tokenizer or tiny_hvfa_tokenizer()
    vision = {**TINY_VISION, **overrides.pop("vision", {})}
    text = {**TINY_TEXT, "vocab_size": len(tokenizer), **overrides.pop("text", {})}
    defaults = {"max_crops": 6, "num_pooling_heads": 2}
    return HVFAConfig(
        vision_config=vision,
        text_config=text,
        scale_factor=2,
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        **{**defaults, **overrides},
    )


def tiny_hvfa_processor(**overrides: Any) -> HVFAProcessor:
    tokenizer = tiny_hvfa_tokenizer()
    return HVFAProcessor.from_config(tokenizer, tiny_hvfa_config(tokenizer, **overrides))


def tiny_hvfa(*, seed: int = 0, **overrides: Any) -> tuple[HVFAForConditionalGeneration, HVFAProcessor]:
    """A random-init tiny HVFA model (weights a pure function of ``seed``) and its processor."""
    tokenizer = tiny_hvfa_tokenizer()
    config = tiny_hvfa_config(tokenizer, **overrides)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = HVFAForConditionalGeneration(config)
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model.eval(), HVFAProcessor.from_config(tokenizer, config)


def save_tiny_hvfa(path: str | Path, **kwargs: Any) -> Path:
    """Build :func:`tiny_hvfa` and save model (safetensors) and processor to ``path``; return the path."""
    model, processor = tiny_hvfa(**kwargs)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return Path(path)
