"""The StreamBench agents: the paper's baselines and its streaming methods, with the official memory rules.

A *model* is any callable ``model(prompt, max_tokens) -> str`` answering greedily (temperature 0): an
lm-eval model through :mod:`hf_ext.evaluation.streambench.lm_eval_model`, a transformers model through
:func:`hf_ext.evaluation.streambench.generation.transformers_generator`, or a scripted function in tests.

=================  ===========================================================================================
agent              memory and behaviour
=================  ===========================================================================================
``zeroshot``       none; one prompt per input
``fewshot``        ``fewshot_k`` fixed shots given at the start (correct answers from a training split)
``cot``            none; asks for ``{"rationale", "answer"}`` JSON (512 new tokens)
``self_refine``    none across inputs; answer, then up to 4 rounds of self-feedback and refinement, stopping
                   when the feedback says "NO NEED TO REFINE" (512 new tokens)
``grow_prompt``    the last ``window`` (16) items (question, own answer, feedback), all in the prompt;
                   ``grow_mode`` ``only_correct`` / ``only_incorrect`` keep one kind
``mem_prompt``     every item (question, own answer, feedback) in a retrieval store; top-k in the prompt
``self_stream_icl``  only its own **correct** outputs, as (question, answer) shots; top-k in the prompt
``ma_rr``          MAM-StreamICL: one shared store of correct outputs, the answering model chosen
                   round-robin over ``models`` by time step
``ma_ts``          the same store; the answering model chosen by Thompson sampling over per-model Beta
                   posteriors updated by the feedback (round-robin for the first ``warmup_steps``)
``ma_dts``         as ``ma_ts`` with dynamic Thompson sampling (counts capped at ``dts_c``, 100)
``gt``             sanity check: answers with the gold reply (should score 100 %)
=================  ===========================================================================================

Feedback (:class:`Feedback`) is binary correctness in the paper (``feedback="binary"``). With
``feedback="ground_truth"`` the gold reply is also given: the StreamICL agents then store the gold answer as a
shot at every step, MemPrompt and GrowPrompt store it beside their own answer.

Example:
    >>> from hf_ext.evaluation.streambench.benches import get_bench
    >>> bench = get_bench("label")
    >>> doc = {"hfx_bench": "label", "profile": "fever", "label": "Flu", "labels": ["Cold", "Flu"]}
    >>> agent = make_agent("self_stream_icl", models=[lambda prompt, max_tokens: "1. Flu"])
    >>> output = agent(bench, doc)
    >>> agent.update(bench, doc, output, Feedback(correct=True))
    True
    >>> agent.memory.values
    ['Question: fever\\n1. Flu']
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.bandit import DTS_C, ThompsonArms
from hf_ext.evaluation.streambench.benches import SHOTS_SEPARATOR, Bench
from hf_ext.evaluation.streambench.memory import ORDERS, RetrievalMemory, WindowMemory

Model = Callable[[str, int], str]
FEEDBACK_MODES = ("binary", "ground_truth")
GROW_MODES = ("normal", "only_correct", "only_incorrect")
NO_NEED = "NO NEED TO REFINE"


@dataclass
class Feedback:
    """What the user tells the agent after one input: correctness, and the gold reply in ground-truth mode."""

    correct: bool
    ground_truth: str | None = None


@dataclass
class AgentConfig:
    """Settings of every agent (each reads the fields it needs).

    Args:
        max_tokens: new tokens per answer (the official 64; CoT and self-refine use ``long_max_tokens``).
        long_max_tokens: new tokens for ``cot`` and ``self_refine`` (512).
        top_k: shots retrieved per input (16), capped by the store size.
        window: GrowPrompt's window (16).
        grow_mode: ``normal``, ``only_correct`` or ``only_incorrect``.
        order: ``similar_at_bottom`` (most similar shot last), ``similar_at_top`` or ``random``.
        embedder: ``hashing`` (offline), ``auto`` (bge-base-en-v1.5 if it loads) or a transformers encoder.
        backend: exact search with ``faiss``, ``numpy`` or ``auto`` (faiss when installed).
        feedback: ``binary`` (the paper's) or ``ground_truth``.
        refine_rounds: self-refine's feedback/refine rounds (4).
        fewshot_k: shots of the ``fewshot`` agent.
        seed: random order of retrieved shots (``order="random"``) and the Thompson-sampling draws.
        warmup_steps: ``ma_ts``/``ma_dts`` answer round-robin for this many steps first (official: 0).
        dts_c: the total count ``C`` at which ``ma_dts`` starts forgetting (official: 100).
    """

    max_tokens: int = 64
    long_max_tokens: int = 512
    top_k: int = 16
    window: int = 16
    grow_mode: str = "normal"
    order: str = "similar_at_bottom"
    embedder: str = "hashing"
    backend: str = "auto"
    feedback: str = "binary"
    refine_rounds: int = 4
    fewshot_k: int = 4
    seed: int = 0
    warmup_steps: int = 0
    dts_c: float = DTS_C

    def __post_init__(self) -> None:
        if self.warmup_steps < 0:
            raise HFExtError(f"agent config: warmup_steps must be >= 0, got {self.warmup_steps}")
        if self.dts_c <= 0:
            raise HFExtError(f"agent config: dts_c must be positive, got {self.dts_c}")
        for name in ("max_tokens", "long_max_tokens", "top_k", "window", "fewshot_k"):
            if int(getattr(self, name)) < 1:
                raise HFExtError(f"agent config: {name} must be at least 1, got {getattr(self, name)}")
        if self.refine_rounds < 0:
            raise HFExtError(f"agent config: refine_rounds must be >= 0, got {self.refine_rounds}")
        for name, allowed in (("grow_mode", GROW_MODES), ("order", ORDERS), ("feedback", FEEDBACK_MODES)):
            if getattr(self, name) not in allowed:
                raise HFExtError(
                    f"agent config: {name} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}"
                )


class Agent:
    """Base agent: answers with ``models[0]``; subclasses add memory. Counts model calls and prompt size."""

    name = "base"

    def __init__(self, models: Sequence[Model], config: AgentConfig | None = None):
        if not models:
            raise HFExtError(f"agent {self.name!r} needs at least one model")
        self.models = list(models)
        self.config = config or AgentConfig()
        self.step = 0
        self.calls = 0
        self.prompt_chars = 0
        self.last_model = 0

    def generate(self, prompt: str, max_tokens: int | None = None, model_index: int = 0) -> str:
        self.calls += 1
        self.prompt_chars += len(prompt)
        self.last_model = model_index
        return self.models[model_index](prompt, max_tokens or self.config.max_tokens)

    def __call__(self, bench: Bench, doc: dict[str, Any]) -> str:
        return self.generate(bench.prompt(doc))

    def update(self, bench: Bench, doc: dict[str, Any], output: str, feedback: Feedback) -> bool:
        """Take the feedback on ``output``; returns whether memory changed. Always advances the time step."""
        self.step += 1
        return False

    def _memory_state(self) -> dict[str, Any] | None:
        return None

    def _load_memory_state(self, state: dict[str, Any] | None) -> None:
        return None

    def state_dict(self) -> dict[str, Any]:
        return {
            "agent": self.name,
            "config": asdict(self.config),
            "step": self.step,
            "calls": self.calls,
            "prompt_chars": self.prompt_chars,
            "memory": self._memory_state(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("agent") != self.name:
            raise HFExtError(f"saved state belongs to agent {state.get('agent')!r}, not {self.name!r}")
        if state.get("config") != asdict(self.config):
            raise HFExtError("saved state was made with another agent config; resume with the same settings")
        self.step, self.calls, self.prompt_chars = state["step"], state["calls"], state["prompt_chars"]
        self._load_memory_state(state["memory"])


class ZeroShot(Agent):
    name = "zeroshot"


class GroundTruth(Agent):
    name = "gt"

    def __call__(self, bench, doc):
        return bench.gold_answer(doc)


class FewShot(Agent):
    """Fixed shots chosen before the stream: ``shots`` are (document, correct reply) pairs."""

    name = "fewshot"

    def __init__(self, models, config=None, shots: Sequence[tuple[dict[str, Any], str]] = ()):
        super().__init__(models, config)
        if not shots:
            raise HFExtError("the fewshot agent needs shots (documents with answers from a training split)")
        self.shots = list(shots)[: self.config.fewshot_k]

    def __call__(self, bench, doc):
        text = SHOTS_SEPARATOR.join(bench.shot(shot, answer) for shot, answer in self.shots)
        return self.generate(bench.prompt(doc, shots=text))


def _json_answer(text: str) -> str | None:
    for match in re.finditer(r"\{", text):
        try:
            value, _ = json.JSONDecoder().raw_decode(text[match.start() :])
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "answer" in value:
            return str(value["answer"])
    return None


class ChainOfThought(Agent):
    """Reasons first; the reply's ``answer`` field (or the whole reply, when it is not JSON) is the output."""

    name = "cot"

    def __call__(self, bench, doc):
        reply = self.generate(bench.cot_prompt(doc), self.config.long_max_tokens)
        answer = _json_answer(reply)
        return reply if answer is None else answer


class SelfRefine(Agent):
    name = "self_refine"

    def __call__(self, bench, doc):
        task = bench.prompt(doc)
        answer = self.generate(task, self.config.long_max_tokens)
        trajectory = f"Answer 0:\n{answer.strip()}"
        for round_ in range(1, self.config.refine_rounds + 1):
            critique = self.generate(
                f"{task}\n\n{trajectory}\n\nReview the last answer. If it is correct and complete, reply "
                f"exactly '{NO_NEED}'. Otherwise explain briefly what is wrong.\nFeedback {round_}:",
                self.config.long_max_tokens,
            )
            if NO_NEED in critique.upper():
                break
            trajectory += f"\n\nFeedback {round_}:\n{critique.strip()}"
            answer = self.generate(
                f"{task}\n\n{trajectory}\n\nWrite an improved answer that follows the feedback, in the "
                f"format asked above.\nAnswer {round_}:",
                self.config.long_max_tokens,
            )
            trajectory += f"\n\nAnswer {round_}:\n{answer.strip()}"
        return answer


class GrowPrompt(Agent):
    name = "grow_prompt"

    def __init__(self, models, config=None):
        super().__init__(models, config)
        self.memory = WindowMemory(self.config.window)

    def __call__(self, bench, doc):
        return self.generate(
            bench.prompt(doc, SHOTS_SEPARATOR.join(self.memory.items()), memory_kind="feedback")
        )

    def update(self, bench, doc, output, feedback):
        super().update(bench, doc, output, feedback)
        mode = self.config.grow_mode
        if (mode == "only_correct" and not feedback.correct) or (
            mode == "only_incorrect" and feedback.correct
        ):
            return False
        item = bench.memprompt_item(doc, output, feedback.correct)
        if feedback.ground_truth is not None:
            item += f"\nCorrect answer: {feedback.ground_truth}"
        self.memory.add(item)
        return True

    def _memory_state(self):
        return self.memory.state_dict()

    def _load_memory_state(self, state):
        self.memory.load_state_dict(state)


class _RetrievalAgent(Agent):
    memory_kind = "shots"

    def __init__(self, models, config=None):
        super().__init__(models, config)
        c = self.config
        self.memory = RetrievalMemory(c.top_k, c.order, c.embedder, c.backend, seed=c.seed)

    def __call__(self, bench, doc):
        shots = self.memory.retrieve(bench.question(doc))
        prompt = bench.prompt(doc, SHOTS_SEPARATOR.join(shots), memory_kind=self.memory_kind)
        return self.generate(prompt, model_index=self.answering_model())

    def answering_model(self) -> int:
        return 0

    def _memory_state(self):
        return self.memory.state_dict()

    def _load_memory_state(self, state):
        self.memory.load_state_dict(state)


class MemPrompt(_RetrievalAgent):
    name = "mem_prompt"
    memory_kind = "feedback"

    def update(self, bench, doc, output, feedback):
        super().update(bench, doc, output, feedback)
        item = bench.memprompt_item(doc, output, feedback.correct)
        if feedback.ground_truth is not None:
            item += f"\nCorrect answer: {feedback.ground_truth}"
        self.memory.add(bench.question(doc), item)
        return True


class SelfStreamICL(_RetrievalAgent):
    name = "self_stream_icl"

    def update(self, bench, doc, output, feedback):
        super().update(bench, doc, output, feedback)
        if feedback.ground_truth is not None:
            self.memory.add(bench.question(doc), bench.shot(doc, feedback.ground_truth))
            return True
        if not feedback.correct:
            return False
        self.memory.add(bench.question(doc), bench.shot(doc, output))
        return True


class MAMStreamICL(SelfStreamICL):
    """Multi-agentic memory: one shared store, the answering model chosen round-robin by time step."""

    name = "ma_rr"

    def answering_model(self) -> int:
        return self.step % len(self.models)


class MAMThompson(MAMStreamICL):
    """MAM-StreamICL choosing the answering model by Thompson sampling (official ``ma_ts``): one Beta
    posterior per model over "the feedback says correct", updated after every step by the model that
    answered; round-robin during the first ``warmup_steps``."""

    name = "ma_ts"
    dynamic = False

    def __init__(self, models, config=None):
        super().__init__(models, config)
        c = self.config
        self.arms = ThompsonArms(len(self.models), seed=c.seed, dynamic_c=c.dts_c if self.dynamic else None)

    def answering_model(self) -> int:
        if self.step < self.config.warmup_steps:
            return super().answering_model()
        return self.arms.choose()

    def update(self, bench, doc, output, feedback):
        self.arms.update(self.last_model, feedback.correct)
        return super().update(bench, doc, output, feedback)

    def _memory_state(self):
        return {"store": self.memory.state_dict(), "arms": self.arms.state_dict()}

    def _load_memory_state(self, state):
        self.memory.load_state_dict(state["store"])
        self.arms.load_state_dict(state["arms"])


class MAMDynamicThompson(MAMThompson):
    """``ma_ts`` with dynamic Thompson sampling (official ``ma_dts``): each model's counts stop growing at
    ``dts_c`` and old feedback fades, so the choice follows a model whose accuracy changes."""

    name = "ma_dts"
    dynamic = True


MULTI_MODEL_AGENTS = ("ma_rr", "ma_ts", "ma_dts")


AGENTS: dict[str, type[Agent]] = {
    cls.name: cls
    for cls in (
        ZeroShot,
        FewShot,
        ChainOfThought,
        SelfRefine,
        GrowPrompt,
        MemPrompt,
        SelfStreamICL,
        MAMStreamICL,
        MAMThompson,
        MAMDynamicThompson,
        GroundTruth,
    )
}


def make_agent(name: str, models: Sequence[Model], config: AgentConfig | None = None, **kwargs: Any) -> Agent:
    """The agent registered as ``name`` (see :data:`AGENTS`) over ``models``."""
    if name not in AGENTS:
        raise HFExtError(f"unknown agent {name!r}; choose one of {', '.join(AGENTS)}")
    return AGENTS[name](models, config, **kwargs)


__all__ = ["AGENTS", "MULTI_MODEL_AGENTS", "Agent", "AgentConfig", "Feedback", "make_agent"]
