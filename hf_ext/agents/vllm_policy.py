"""A vLLM engine as a DFSDT policy (when vLLM is installed): one chat request per search step.

:class:`VLLMPolicy` wraps a ``vllm.LLM`` and is called like every other policy, with ToolBench's message
list. It renders the conversation with :func:`~hf_ext.agents.chat.chat_messages` (the same turns
:class:`~hf_ext.agents.dfsdt.TransformersPolicy` and the tree datasets use) and sends it through
``LLM.chat(messages, sampling_params=..., use_tqdm=False, add_generation_prompt=True)``, which applies the
model's chat template; the step is ``outputs[0].outputs[0].text`` of the returned ``RequestOutput`` list.
Sampling is ``SamplingParams(temperature=..., max_tokens=..., seed=..., stop=...)``, the seed derived from
``seed`` and a call counter as in ``TransformersPolicy``, so a search is reproducible for a given engine.
``last_token_count`` is the number of generated tokens (``len(token_ids)``).

:func:`run_dfsdt <hf_ext.agents.dfsdt.run_dfsdt>` wraps a ``vllm.LLM`` passed as ``policy`` in this class by
itself; :func:`load_vllm_policy` builds the engine from a model folder or Hub id and raises
:class:`~hf_ext.errors.HFExtError` when vLLM is not installed (``pip install vllm``, on a machine with a GPU).
vLLM is imported only there and on the first call, never by ``import hf_ext``.

Example:
    >>> from hf_ext.agents.vllm_policy import load_vllm_policy
    >>> policy = load_vllm_policy("Qwen/Qwen2.5-0.5B-Instruct", temperature=0.7)  # doctest: +SKIP
    >>> run_dfsdt(policy, world, queries, out_dir="trees/")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hf_ext.agents.chat import chat_messages
from hf_ext.errors import HFExtError

INSTALL_HINT = (
    "vLLM is not installed: `pip install vllm` on a machine with a GPU, or use a transformers model"
)


def is_vllm_engine(obj: Any) -> bool:
    """Whether ``obj`` is a vLLM engine object (its class is defined in the ``vllm`` package); checked by
    module name, so vLLM is never imported to answer.

    >>> is_vllm_engine(object())
    False
    """
    return type(obj).__module__.split(".")[0] == "vllm"


def _sampling_params_class() -> Any:
    try:
        from vllm import SamplingParams
    except ImportError:
        raise HFExtError(INSTALL_HINT) from None
    return SamplingParams


class VLLMPolicy:
    """A ``vllm.LLM`` as a DFSDT policy (see the module docstring).

    Args:
        engine: the ``vllm.LLM``.
        max_new_tokens: ``SamplingParams.max_tokens``.
        temperature: ``SamplingParams.temperature`` (0 is greedy in vLLM).
        seed: base of the per-call sampling seed.
        stop: ``SamplingParams.stop`` strings (vLLM leaves them out of the text), e.g. ``["\\nObservation"]``
            for models that go on writing the tool's answer themselves.
        function_role: the chat role of observations (as in ``TransformersPolicy``).
        chat_template: passed to ``LLM.chat`` when the tokenizer has none or another one is wanted.
    """

    def __init__(
        self,
        engine: Any,
        max_new_tokens: int = 96,
        temperature: float = 1.0,
        seed: int = 0,
        stop: Sequence[str] | None = None,
        function_role: str = "tool",
        chat_template: str | None = None,
    ):
        if not callable(getattr(engine, "chat", None)):
            raise HFExtError(f"engine must be a vllm.LLM (with a .chat method), got {type(engine).__name__}")
        if max_new_tokens < 1:
            raise HFExtError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
        if temperature < 0:
            raise HFExtError(f"temperature must be >= 0, got {temperature}")
        self.engine, self.max_new_tokens, self.temperature = engine, max_new_tokens, temperature
        self.seed, self.stop, self.function_role = seed, list(stop) if stop else None, function_role
        self.chat_template = chat_template
        self.calls, self.last_token_count = 0, 0

    def sampling_params(self) -> Any:
        """The ``SamplingParams`` of the next call."""
        params = _sampling_params_class()
        return params(
            temperature=self.temperature,
            max_tokens=self.max_new_tokens,
            seed=self.seed * 1_000_003 + self.calls,
            stop=self.stop,
        )

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        conversation = chat_messages(messages, function_role=self.function_role)
        outputs = self.engine.chat(
            conversation,
            sampling_params=self.sampling_params(),
            use_tqdm=False,
            chat_template=self.chat_template,
            add_generation_prompt=True,
        )
        self.calls += 1
        if len(outputs) != 1 or not outputs[0].outputs:
            raise HFExtError(f"vLLM returned {len(outputs)} request outputs for one conversation")
        completion = outputs[0].outputs[0]
        self.last_token_count = len(completion.token_ids)
        return completion.text


def load_vllm_policy(
    model: str, engine_kwargs: dict[str, Any] | None = None, **policy_kwargs: Any
) -> VLLMPolicy:
    """A :class:`VLLMPolicy` over ``vllm.LLM(model, trust_remote_code=False, **engine_kwargs)``.

    Raises :class:`~hf_ext.errors.HFExtError` when vLLM is not installed.
    """
    try:
        from vllm import LLM
    except ImportError:
        raise HFExtError(INSTALL_HINT) from None
    engine = LLM(model=model, **{"trust_remote_code": False, **(engine_kwargs or {})})
    return VLLMPolicy(engine, **policy_kwargs)
