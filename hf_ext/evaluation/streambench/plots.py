"""Learning curves over a stream: accuracy so far (or over a sliding window) against the time step.

Curves come from this package's step logs (``steps.jsonl`` of ``hf-ext streambench run`` or of
``hfx-stream``'s ``log_dir``) or from lm-eval's ``--log_samples`` files (``samples_<task>_*.jsonl``,
ordered by ``doc_id``, which is the stream order of the ``hfx_streambench_*`` tasks).

Example:
    >>> figure = plot_curves({"zeroshot": [0, 1, 0, 0], "self_stream_icl": [0, 1, 1, 1]})
    >>> [line.get_label() for line in figure.axes[0].get_lines()]
    ['zeroshot', 'self_stream_icl']
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from matplotlib.figure import Figure

from hf_ext.errors import HFExtError
from hf_ext.evaluation.streambench.protocol import rolling_accuracy


def _read_jsonl(path: Path) -> list[dict]:
    records = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise HFExtError(f"{path}, line {number}: not JSON ({error.msg})") from None
    return records


def _steps_correct(path: Path) -> list[float]:
    records = _read_jsonl(path)
    for number, record in enumerate(records, 1):
        if "metrics" not in record or "acc" not in record["metrics"]:
            raise HFExtError(f"{path}, line {number}: no field 'metrics.acc'")
    return [float(r["metrics"]["acc"]) for r in sorted(records, key=lambda r: r["step"])]


def _samples_correct(path: Path) -> list[float]:
    records = _read_jsonl(path)
    for number, record in enumerate(records, 1):
        if "doc_id" not in record or "acc" not in record:
            raise HFExtError(
                f"{path}, line {number}: needs fields 'doc_id' and 'acc' (an hfx_streambench task?)"
            )
    return [float(r["acc"]) for r in sorted(records, key=lambda r: r["doc_id"])]


def load_runs(paths: Sequence[str | Path]) -> dict[str, list[float]]:
    """Per-step correctness of every run found under ``paths`` (a run folder, a ``log_dir`` of task folders,
    or an lm-eval output folder), keyed by a readable name."""
    runs: dict[str, list[float]] = {}
    for given in paths:
        path = Path(given)
        if not path.exists():
            raise HFExtError(f"{path}: no such file or folder")
        step_files = (
            [path] if path.is_file() and path.suffix == ".jsonl" else sorted(path.rglob("steps.jsonl"))
        )
        for file in step_files:
            if file.name == "steps.jsonl":
                name = str(file.parent.relative_to(path)) if file.parent != path else path.name
                runs[name if name != "." else path.name] = _steps_correct(file)
        for file in sorted(path.rglob("samples_hfx_streambench_*.jsonl")) if path.is_dir() else []:
            task = file.stem.removeprefix("samples_").rsplit("_", 1)[0]
            runs[f"{file.parent.name}/{task}"] = _samples_correct(file)
    if not runs:
        raise HFExtError(
            f"no steps.jsonl or samples_hfx_streambench_*.jsonl under {', '.join(map(str, paths))}"
        )
    return runs


def plot_curves(runs: Mapping[str, Sequence[float]], window: int | None = None, title: str = "") -> Figure:
    """One line per run: accuracy so far (``window=None``) or over the last ``window`` steps."""
    figure = Figure(figsize=(7, 4), constrained_layout=True)
    axes = figure.subplots()
    for name, correct in runs.items():
        axes.plot(range(1, len(correct) + 1), rolling_accuracy(correct, window), label=name)
    axes.set_xlabel("time step")
    axes.set_ylabel("accuracy so far" if window is None else f"accuracy over the last {window} steps")
    axes.set_ylim(-0.02, 1.02)
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    if title:
        axes.set_title(title)
    return figure
