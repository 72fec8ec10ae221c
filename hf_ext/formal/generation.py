"""Text generators for the pipeline: any callable, a transformers model, or a vLLM engine, behind one call.

A generator is called as ``generate(messages, prefill="", max_new_tokens=...) -> str`` and returns the text
the model wrote after ``prefill`` (the start of the assistant turn). :func:`as_generator` wraps a plain
callable ``messages -> str`` (the prefill is then ignored), a ``(model, tokenizer)`` pair, a local model
folder or Hub id (loaded with ``trust_remote_code=False``), or a ``vllm.LLM``. Decoding is greedy, which the
official temperature of 0.01 approximates.

Example:
    >>> from hf_ext.formal.generation import as_generator
    >>> echo = as_generator(lambda messages: messages[-1]["content"].upper())
    >>> echo([{"role": "user", "content": "two plus two"}])
    'TWO PLUS TWO'
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, Protocol

from hf_ext.errors import HFExtError

Messages = list[dict[str, str]]


class TextGenerator(Protocol):
    def __call__(self, messages: Messages, prefill: str = "", max_new_tokens: int = 256) -> str: ...


class _CallableGenerator:
    def __init__(self, function: Callable[..., str]):
        self.function = function
        parameters = inspect.signature(function).parameters
        self.takes_prefill = "prefill" in parameters or any(
            p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()
        )

    def __call__(self, messages: Messages, prefill: str = "", max_new_tokens: int = 256) -> str:
        if self.takes_prefill:
            return str(self.function(messages, prefill=prefill, max_new_tokens=max_new_tokens))
        return str(self.function(messages))


def _prompt_text(tokenizer: Any, messages: Messages, prefill: str) -> str:
    if getattr(tokenizer, "chat_template", None):
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    else:  # a base model: a plain transcript
        text = "".join(f"{m['role']}: {m['content']}\n" for m in messages) + "assistant: "
    return text + prefill


class TransformersGenerator:
    """Greedy generation with a transformers causal LM and its tokenizer."""

    def __init__(self, model: Any, tokenizer: Any):
        self.model = model
        self.tokenizer = tokenizer

    def __call__(self, messages: Messages, prefill: str = "", max_new_tokens: int = 256) -> str:
        import torch

        text = _prompt_text(self.tokenizer, messages, prefill)
        inputs = self.tokenizer(text, return_tensors="pt", add_special_tokens=False).to(self.model.device)
        pad = self.tokenizer.pad_token_id
        pad = self.tokenizer.eos_token_id if pad is None else pad
        with torch.no_grad():
            output = self.model.generate(
                **inputs, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=pad
            )
        new_tokens = output[0, inputs["input_ids"].shape[1] :]
        return self.tokenizer.decode(new_tokens, skip_special_tokens=True)


class VLLMGenerator:
    """Greedy generation with a ``vllm.LLM`` engine (when vLLM is installed)."""

    def __init__(self, engine: Any):
        self.engine = engine

    def __call__(self, messages: Messages, prefill: str = "", max_new_tokens: int = 256) -> str:
        from vllm import SamplingParams

        tokenizer = self.engine.get_tokenizer()
        params = SamplingParams(temperature=0.0, max_tokens=max_new_tokens)
        output = self.engine.generate([_prompt_text(tokenizer, messages, prefill)], params, use_tqdm=False)
        return output[0].outputs[0].text


def as_generator(source: Any, tokenizer: Any = None) -> TextGenerator:
    """A :class:`TextGenerator` from a callable, a (model, tokenizer) pair, a model folder/Hub id or a vLLM
    engine."""
    if type(source).__module__.startswith("vllm"):
        return VLLMGenerator(source)
    if isinstance(source, (TransformersGenerator, VLLMGenerator, _CallableGenerator)):
        return source
    if isinstance(source, str):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        from hf_ext.names import resolve_model_name

        source = resolve_model_name(source)
        try:
            model = AutoModelForCausalLM.from_pretrained(source, trust_remote_code=False)
            tokenizer = tokenizer or AutoTokenizer.from_pretrained(source, trust_remote_code=False)
        except OSError as error:
            raise HFExtError(f"cannot load a model from {source!r}: {str(error).splitlines()[0]}") from None
        return TransformersGenerator(model, tokenizer)
    if hasattr(source, "generate") and hasattr(source, "config"):
        if tokenizer is None:
            raise HFExtError("a transformers model needs its tokenizer: as_generator(model, tokenizer)")
        return TransformersGenerator(source, tokenizer)
    if callable(source):
        return _CallableGenerator(source)
    raise HFExtError(
        f"cannot generate text with a {type(source).__name__}: pass a callable, a model, or a path"
    )
