"""Pictures of BABILong results: a task x length accuracy heatmap and accuracy by fact depth.

Both read lm-eval's results (the ``results`` mapping of ``simple_evaluate`` or of the JSON file that
``lm_eval --output_path`` writes), taking the ``acc_<length>`` and ``acc_depth_<bucket>`` metrics of the
``hfx_babilong_*`` tasks. Each plot returns a matplotlib ``Figure`` (no pyplot, so it works headless and
leaves the user's backend alone) and writes a PNG when given ``path``.

Example:
    >>> from hf_ext.evaluation.babilong.plots import accuracy_tables
    >>> results = {"hfx_babilong_qa1": {"acc_0,none": 1.0, "acc_4096,none": 0.5, "acc_depth_20,none": 0.5}}
    >>> accuracy_tables(results)
    ({'qa1': {0: 1.0, 4096: 0.5}}, {'qa1': {20: 0.5}})
    >>> figure = plot_heatmap(accuracy_tables(results)[0], "babilong_heatmap.png")  # doctest: +SKIP
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from hf_ext.evaluation.babilong.generator import length_label
from hf_ext.utils import save_figure

_KEY = re.compile(r"^acc_(depth_)?(\d+),")
_TASK = re.compile(r"^hfx_babilong_(qa\d+)$")


def load_results(path: str | Path) -> dict[str, Any]:
    """The ``results`` mapping from an lm-eval results JSON file (or the newest ``results*.json`` below a
    folder)."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.rglob("results*.json"), key=lambda file: file.stat().st_mtime)
        if not files:
            raise FileNotFoundError(f"no results*.json under {path}")
        path = files[-1]
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON (line {error.lineno}): {error.msg}") from error
    results = document.get("results") if isinstance(document, dict) else None
    if not isinstance(results, dict):
        raise ValueError(f"{path}: no 'results' object (expected lm-eval output)")
    return results


def _task_number(task: str) -> int:
    return int(task[2:])


def accuracy_tables(
    results: dict[str, Any],
) -> tuple[dict[str, dict[int, float]], dict[str, dict[int, float]]]:
    """``(by_length, by_depth)``: ``{task: {length or depth bucket: accuracy}}`` for hfx_babilong tasks."""
    by_length: dict[str, dict[int, float]] = {}
    by_depth: dict[str, dict[int, float]] = {}
    for name in sorted(results, key=lambda n: (len(n), n)):
        task_match = _TASK.match(name)
        if not task_match:
            continue
        for key, value in results[name].items():
            key_match = _KEY.match(key)
            if key_match and isinstance(value, int | float) and "stderr" not in key:
                table = by_depth if key_match.group(1) else by_length
                table.setdefault(task_match.group(1), {})[int(key_match.group(2))] = float(value)
    if not by_length:
        raise ValueError("no hfx_babilong_* results with per-length metrics (acc_<length>) found")
    return by_length, by_depth


def plot_heatmap(
    by_length: dict[str, dict[int, float]],
    path: str | Path | None = None,
    title: str = "BABILong accuracy",
    length_convention: str = "model",
) -> Figure:
    """Tasks (rows) x lengths (columns), accuracy in percent written in each cell; lengths named in
    ``length_convention`` (``"model"``: 4096 is ``4k``; ``"official"``: 4000 is ``4k``)."""
    tasks = sorted(by_length, key=_task_number)
    lengths = sorted({length for row in by_length.values() for length in row})
    grid = np.full((len(tasks), len(lengths)), np.nan)
    for i, task in enumerate(tasks):
        for j, length in enumerate(lengths):
            if length in by_length[task]:
                grid[i, j] = 100.0 * by_length[task][length]
    figure = Figure(figsize=(1.0 + 0.8 * len(lengths), 0.8 + 0.35 * len(tasks)))
    axes = figure.add_subplot()
    image = axes.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    for i in range(len(tasks)):
        for j in range(len(lengths)):
            if not np.isnan(grid[i, j]):
                axes.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=8)
    axes.set_xticks(range(len(lengths)), [length_label(length, length_convention) for length in lengths])
    axes.set_yticks(range(len(tasks)), tasks)
    axes.set_xlabel("context length (tokens)")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, label="accuracy (%)")
    return save_figure(figure, path, dpi=90)


def plot_depth(
    by_depth: dict[str, dict[int, float]],
    path: str | Path | None = None,
    title: str = "accuracy by fact depth",
) -> Figure:
    """Accuracy against the depth bucket of the earliest supporting fact, one line per task and the mean."""
    if not by_depth:
        raise ValueError("no acc_depth_* metrics (they exist only for lengths > 0)")
    figure = Figure(figsize=(6, 3.5))
    axes = figure.add_subplot()
    buckets = sorted({bucket for row in by_depth.values() for bucket in row})
    for task in sorted(by_depth, key=_task_number):
        points = sorted(by_depth[task].items())
        axes.plot([b for b, _ in points], [100 * v for _, v in points], marker="o", alpha=0.5, label=task)
    mean = [
        100
        * sum(row[b] for row in by_depth.values() if b in row)
        / sum(b in row for row in by_depth.values())
        for b in buckets
    ]
    axes.plot(buckets, mean, color="black", linewidth=2.5, label="mean")
    axes.set_xlabel("depth of the first supporting fact (% of context, bucket start)")
    axes.set_ylabel("accuracy (%)")
    axes.set_ylim(-5, 105)
    axes.set_title(title)
    axes.legend(fontsize=7, ncol=2)
    return save_figure(figure, path, dpi=90)
