"""``hfx-stream``: an lm-eval model that runs a StreamBench agent around any other lm-eval model.

lm-eval sends every request of a task in one list and has no feedback loop. This wrapper takes the list,
runs the requests **one by one in ``doc_id`` order**, builds each prompt from the agent's memory, asks the
base model, scores the reply against ``request.doc`` with the same checker the task's metric uses, updates
the agent, and returns the replies in the original order. Each task gets its own agent (memory is never
shared across tasks).

``--model_args`` are the base model's, plus these (all optional):

* ``base`` (``hf``): the lm-eval model to wrap (``hf``, ``vllm``, ``local-completions``, ...).
* ``agent`` (``self_stream_icl``): an agent of :data:`hf_ext.evaluation.streambench.agents.AGENTS` except
  ``fewshot`` (use the base model with ``--num_fewshot`` for that baseline).
* ``pretrained``: for ``agent=ma_rr`` (or ``ma_ts``/``ma_dts``), several models separated by ``|`` (one base
  model each, answering round-robin, or chosen by Thompson sampling, over one shared memory).
* ``feedback`` (``binary``/``ground_truth``), ``top_k``, ``window``, ``grow_mode``, ``order``, ``embedder``,
  ``retrieval`` (``auto``/``faiss``/``numpy``), ``max_tokens``, ``long_max_tokens``; for ``ma_ts``/``ma_dts``
  ``agent_seed`` (0), ``warmup_steps`` (0) and ``dts_c`` (100).
* ``log_dir``: per-task ``steps.jsonl``, ``state.json`` and ``curve.json`` go to ``log_dir/<task>/``;
  ``resume=True`` continues a stopped run from there.

The stream breaks under data parallelism (ranks take strided documents) and under lm-eval's response cache
(cached replies skip the update), so both are refused with an error.

Example:
    >>> from hf_ext.evaluation.streambench.lm_eval_model import split_model_args
    >>> split_model_args({"base": "hf", "pretrained": "a|b", "agent": "ma_rr", "top_k": 4})
    ('hf', {'agent': 'ma_rr', 'top_k': 4}, [{'pretrained': 'a'}, {'pretrained': 'b'}])
"""

from __future__ import annotations

import inspect
import os
from pathlib import Path
from typing import Any

from lm_eval.api.instance import Instance
from lm_eval.api.model import LM
from lm_eval.api.registry import get_model

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.agents import MULTI_MODEL_AGENTS, AgentConfig, make_agent
from hf_ext.evaluation.streambench.benches import Settings
from hf_ext.evaluation.streambench.protocol import StreamLogger, run_step

WRAPPER_KEYS = {
    "base",
    "agent",
    "feedback",
    "top_k",
    "window",
    "grow_mode",
    "order",
    "embedder",
    "retrieval",
    "max_tokens",
    "long_max_tokens",
    "refine_rounds",
    "log_dir",
    "resume",
    "agent_seed",
    "warmup_steps",
    "dts_c",
}
CONFIG_KEYS = {
    "feedback": "feedback",
    "top_k": "top_k",
    "window": "window",
    "grow_mode": "grow_mode",
    "order": "order",
    "embedder": "embedder",
    "retrieval": "backend",
    "max_tokens": "max_tokens",
    "long_max_tokens": "long_max_tokens",
    "refine_rounds": "refine_rounds",
    "agent_seed": "seed",
    "warmup_steps": "warmup_steps",
    "dts_c": "dts_c",
}


def split_model_args(args: dict[str, Any]) -> tuple[str, dict[str, Any], list[dict[str, Any]]]:
    """``(base name, wrapper args, one argument dict per base model)`` from ``--model_args``."""
    base = str(args.get("base", "hf"))
    own = {k: v for k, v in args.items() if k in WRAPPER_KEYS and k != "base"}
    rest = {k: v for k, v in args.items() if k not in WRAPPER_KEYS}
    if int(rest.get("data_parallel_size", 1) or 1) > 1:
        raise HFExtError("hfx-stream runs one stream in order: data_parallel_size must be 1")
    pretrained = rest.get("pretrained")
    if isinstance(pretrained, str) and "|" in pretrained:
        bases = [{**rest, "pretrained": name} for name in pretrained.split("|") if name]
    else:
        bases = [rest]
    return base, own, bases


def _generator(lm: LM, until: list[str]):
    takes_flag = "disable_tqdm" in inspect.signature(lm.generate_until).parameters

    def generate(prompt: str, max_tokens: int) -> str:
        kwargs = {
            "until": list(until),
            "max_gen_toks": int(max_tokens),
            "do_sample": False,
            "temperature": 0.0,
        }
        request = Instance("generate_until", {}, (prompt, kwargs), 0, metadata=("hfx-stream", 0, 1))
        replies = (
            lm.generate_until([request], disable_tqdm=True) if takes_flag else lm.generate_until([request])
        )
        return replies[0]

    return generate


class StreamLM(LM):
    """lm-eval model ``hfx-stream`` (see the module docstring for its arguments)."""

    def __init__(self, **kwargs: Any):
        super().__init__()
        if int(os.environ.get("WORLD_SIZE", "1")) > 1:
            raise HFExtError(
                "hfx-stream cannot run data parallel (each rank would see every n-th document and its own "
                "memory): launch a single process"
            )
        extra = {k: kwargs.pop(k) for k in ("batch_size", "max_batch_size", "device") if k in kwargs}
        base, own, bases = split_model_args(kwargs)
        self.agent_name = str(own.get("agent", "self_stream_icl"))
        if self.agent_name == "fewshot":
            raise HFExtError(
                "agent=fewshot: run the base model itself with --num_fewshot K (the task's train split gives "
                "the fixed shots)"
            )
        if len(bases) > 1 and self.agent_name not in MULTI_MODEL_AGENTS:
            raise HFExtError(
                f"several models in pretrained=... need agent=ma_rr, ma_ts or ma_dts, not {self.agent_name!r}"
            )
        self.config = AgentConfig(**{CONFIG_KEYS[k]: v for k, v in own.items() if k in CONFIG_KEYS})
        self.max_tokens_from_task = "max_tokens" not in own
        self.log_dir = Path(own["log_dir"]) if own.get("log_dir") else None
        self.resume = bool(own.get("resume", False))
        if extra.get("batch_size") not in (None, 1, "1"):
            extra["batch_size"] = 1  # one request at a time; batching would reorder the stream
        self.bases = [get_model(base).create_from_arg_obj(args, extra) for args in bases]
        for lm in self.bases:
            if getattr(lm, "world_size", 1) > 1:
                raise HFExtError("hfx-stream cannot run data parallel: the base model reports world_size > 1")
        self.sessions: dict[str, tuple[Any, StreamLogger | None, dict[Any, str]]] = {}

    def set_cache_hook(self, cache_hook) -> None:
        if getattr(cache_hook, "dbdict", None) is not None:
            raise HFExtError(
                "hfx-stream cannot use lm-eval's response cache (--use_cache): cached replies would skip "
                "the agent's memory updates; run without it"
            )
        super().set_cache_hook(cache_hook)

    def session(self, task: str, until: list[str] | None = None):
        """``(agent, logger, replies of resumed steps by doc_id)`` of one task, created on first use."""
        if task not in self.sessions:
            agent = make_agent(
                self.agent_name, [_generator(lm, until or []) for lm in self.bases], self.config
            )
            logger, resumed = None, {}
            if self.log_dir is not None:
                logger = StreamLogger(self.log_dir / task, agent, resume=self.resume)
                resumed = {doc_id: step.output for step, doc_id in zip(logger.done, logger.doc_ids)}
            self.sessions[task] = (agent, logger, resumed)
        return self.sessions[task]

    def generate_until(self, requests: list[Instance], disable_tqdm: bool = False) -> list[str]:
        from tqdm.auto import tqdm

        replies: list[str] = [""] * len(requests)
        order = sorted(range(len(requests)), key=lambda i: (str(requests[i].task_name), requests[i].doc_id))
        settings = Settings(allow_code_execution=True)  # code tasks are gated by lm-eval's unsafe_code opt-in
        for i in tqdm(order, desc="hfx-stream", disable=disable_tqdm):
            request = requests[i]
            until = list(request.args[1].get("until") or []) if len(request.args) > 1 else []
            if self.max_tokens_from_task and len(request.args) > 1 and request.args[1].get("max_gen_toks"):
                self.config.max_tokens = int(request.args[1]["max_gen_toks"])  # the task's (or --gen_kwargs)
            agent, logger, resumed = self.session(str(request.task_name), until)
            if request.doc_id in resumed:
                replies[i] = resumed[request.doc_id]
                continue
            step = run_step(agent, request.doc, settings)
            if logger is not None:
                logger.log(step, request.doc_id)
            replies[i] = step.output
        for _, logger, _ in self.sessions.values():
            if logger is not None:
                logger.save()
        return replies

    def loglikelihood(self, requests):
        raise HFExtError("hfx-stream serves generation tasks only (StreamBench tasks are generate_until)")

    def loglikelihood_rolling(self, requests):
        raise HFExtError("hfx-stream serves generation tasks only (StreamBench tasks are generate_until)")

    @property
    def tokenizer_name(self) -> str:
        return getattr(self.bases[0], "tokenizer_name", "hfx-stream")

    def apply_chat_template(self, chat_history, add_generation_prompt: bool = True) -> str:
        return self.bases[0].apply_chat_template(chat_history, add_generation_prompt)
