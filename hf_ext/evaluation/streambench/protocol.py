"""The streaming protocol: for each input in a fixed order, input -> output -> evaluate -> feedback -> update.

:func:`run_step` is one time step (the lm-eval model wrapper calls it per request); :func:`run_stream`
runs a whole stream with a tqdm bar, per-step JSONL logs and resumable state: with ``log_dir`` it writes
``steps.jsonl`` (one line per step) and ``state.json`` (the agent's memory after the last saved step), and
``resume=True`` continues from there with the same result as an uninterrupted run.

The stream order is ``numpy.random.default_rng(seed).permutation`` of the documents, the order
``datasets.Dataset.shuffle(seed=seed)`` gives; the paper's seeds are :data:`PAPER_SEEDS`.

Example:
    >>> from hf_ext.evaluation.streambench.agents import make_agent
    >>> docs = [{"hfx_bench": "label", "profile": f"case {i}", "label": "Flu", "labels": ["Cold", "Flu"]}
    ...         for i in range(4)]
    >>> result = run_stream(docs, make_agent("gt", models=[lambda p, n: ""]), progress=False)
    >>> result.accuracy, result.curve()
    (1.0, [1.0, 1.0, 1.0, 1.0])
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.agents import Agent, Feedback
from hf_ext.evaluation.streambench.benches import Settings, bench_of
from hf_ext.utils import atomic_write_text

PAPER_SEEDS = (2, 3, 7, 21, 42)


def stream_order(n: int, seed: int) -> list[int]:
    """The positions of ``n`` documents in stream order for ``seed`` (as ``Dataset.shuffle(seed=seed)``)."""
    return [int(i) for i in np.random.default_rng(seed).permutation(n)]


@dataclass
class StepResult:
    step: int
    output: str
    metrics: dict[str, float]
    model: int
    seconds: float
    memory_changed: bool

    @property
    def correct(self) -> bool:
        return self.metrics["acc"] == 1.0


def run_step(agent: Agent, doc: dict[str, Any], settings: Settings | None = None) -> StepResult:
    """One time step: the agent answers ``doc``, the bench scores it, the agent gets the feedback."""
    settings = settings or Settings()
    bench = bench_of(doc)
    started = time.perf_counter()
    output = agent(bench, doc)
    metrics = bench.score(output, doc, settings)
    ground_truth = bench.gold_answer(doc) if agent.config.feedback == "ground_truth" else None
    changed = agent.update(bench, doc, output, Feedback(metrics["acc"] == 1.0, ground_truth))
    return StepResult(
        agent.step - 1, output, metrics, agent.last_model, time.perf_counter() - started, changed
    )


def rolling_accuracy(correct: Sequence[float], window: int | None = None) -> list[float]:
    """Accuracy so far at each step (``window=None``), or over the last ``window`` steps."""
    values = np.asarray(correct, dtype=float)
    if window is None:
        return (np.cumsum(values) / np.arange(1, len(values) + 1)).tolist()
    if window < 1:
        raise HFExtError(f"window must be at least 1, got {window}")
    sums = np.convolve(values, np.ones(window), mode="full")[: len(values)]
    return (sums / np.minimum(np.arange(1, len(values) + 1), window)).tolist()


@dataclass
class StreamResult:
    steps: list[StepResult] = field(default_factory=list)

    @property
    def correct(self) -> list[float]:
        return [s.metrics["acc"] for s in self.steps]

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.correct)) if self.steps else 0.0

    def metrics(self) -> dict[str, float]:
        keys = sorted({key for s in self.steps for key in s.metrics})
        return {key: float(np.mean([s.metrics[key] for s in self.steps if key in s.metrics])) for key in keys}

    def curve(self, window: int | None = None) -> list[float]:
        return rolling_accuracy(self.correct, window)


def _step_line(result: StepResult, doc_id: Any) -> str:
    record = {"step": result.step, "doc_id": doc_id, **result.__dict__}
    record["correct"] = result.correct
    return json.dumps(record, ensure_ascii=False, default=str) + "\n"


def _read_steps(path: Path, count: int) -> list[StepResult]:
    results = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            if len(results) == count:
                break
            try:
                record = json.loads(line)
                results.append(
                    StepResult(
                        record["step"],
                        record["output"],
                        record["metrics"],
                        record["model"],
                        record["seconds"],
                        record["memory_changed"],
                    )
                )
            except (json.JSONDecodeError, KeyError) as error:
                raise HFExtError(f"{path}, line {number}: not a step record ({error})") from error
    if len(results) < count:
        raise HFExtError(f"{path} has {len(results)} steps but state.json says {count}; cannot resume")
    return results


class StreamLogger:
    """``steps.jsonl`` + ``state.json`` in a folder; resumes from the last saved state."""

    def __init__(self, log_dir: str | Path, agent: Agent, resume: bool = False, save_every: int = 1):
        self.dir = Path(log_dir)
        self.steps_path, self.state_path = self.dir / "steps.jsonl", self.dir / "state.json"
        self.agent, self.save_every = agent, max(1, save_every)
        self.done: list[StepResult] = []
        if resume and self.state_path.exists():
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
            agent.load_state_dict(state["agent"])
            self.done = _read_steps(self.steps_path, state["steps"])
            kept = "".join(_step_line(r, d) for r, d in zip(self.done, state["doc_ids"]))
            atomic_write_text(self.steps_path, kept)  # drop steps logged after the last saved state
            self.doc_ids = list(state["doc_ids"])
        else:
            if not resume and self.steps_path.exists():
                raise HFExtError(f"{self.steps_path} exists; resume the run or choose another log folder")
            self.dir.mkdir(parents=True, exist_ok=True)
            self.steps_path.write_text("", encoding="utf-8")
            self.doc_ids = []

    def log(self, result: StepResult, doc_id: Any, final: bool = False) -> None:
        with self.steps_path.open("a", encoding="utf-8") as handle:
            handle.write(_step_line(result, doc_id))
        self.done.append(result)
        self.doc_ids.append(doc_id)
        if final or len(self.done) % self.save_every == 0:
            self.save()

    def save(self) -> None:
        state = {"steps": len(self.done), "doc_ids": self.doc_ids, "agent": self.agent.state_dict()}
        atomic_write_text(self.state_path, json.dumps(state, ensure_ascii=False))
        curve = {"accuracy": rolling_accuracy([r.metrics["acc"] for r in self.done])}
        atomic_write_text(self.dir / "curve.json", json.dumps(curve))


def run_stream(
    docs: Sequence[dict[str, Any]],
    agent: Agent,
    *,
    settings: Settings | None = None,
    log_dir: str | Path | None = None,
    resume: bool = False,
    max_steps: int | None = None,
    save_every: int = 1,
    progress: bool = True,
    description: str = "stream",
) -> StreamResult:
    """Run ``agent`` over ``docs`` in the given order (shuffle them first with :func:`stream_order`).

    ``max_steps`` stops early (the log can then be resumed); the result holds every step done so far.
    """
    logger = StreamLogger(log_dir, agent, resume, save_every) if log_dir is not None else None
    result = StreamResult(list(logger.done) if logger else [])
    last = len(docs) if max_steps is None else min(len(docs), max_steps)
    bar = tqdm(total=last, initial=len(result.steps), desc=description, disable=not progress)
    for position in range(len(result.steps), last):
        step = run_step(agent, docs[position], settings)
        result.steps.append(step)
        if logger:
            logger.log(step, docs[position].get("doc_id", position), final=position == last - 1)
        bar.update(1)
        bar.set_postfix(acc=f"{result.accuracy:.3f}")
    bar.close()
    return result
