"""Battles from several models' lm-eval ``--log_samples`` outputs on the same tasks.

lm-eval writes, per model, ``<output_path>/<model_name_sanitized>/results_<date>.json`` and
``samples_<task>_<date>.jsonl`` (one line per document with ``doc_id``, ``doc_hash`` and the metric
values). For every task all models share, and every document all of them scored, each pair of models
plays one battle: the higher score wins, equal scores tie.

Example:
    >>> from hf_ext.evaluation.elo import battles_from_lm_eval
    >>> battles = battles_from_lm_eval(["runs/model-a", "runs/model-b"])  # doctest: +SKIP
    >>> battles.columns.tolist()  # doctest: +SKIP
    ['model_a', 'model_b', 'winner', 'task', 'doc_id']
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

_SAMPLES_PREFIX = "samples_"


def _model_folder(path: Path) -> Path:
    """The folder holding samples files: ``path`` itself or its only sub-folder that has some."""
    if not path.is_dir():
        raise NotADirectoryError(f"lm-eval output {path} is not a folder")
    if any(path.glob(f"{_SAMPLES_PREFIX}*.jsonl")):
        return path
    candidates = [
        child for child in sorted(path.iterdir()) if child.is_dir() and any(child.glob("samples_*.jsonl"))
    ]
    if len(candidates) != 1:
        found = ", ".join(child.name for child in candidates) or "none"
        raise ValueError(
            f"{path}: expected lm-eval samples_<task>_<date>.jsonl files here or in exactly one sub-folder "
            f"(run lm-eval with --log_samples --output_path); sub-folders with samples: {found}"
        )
    return candidates[0]


def _model_name(folder: Path) -> str:
    results = sorted(folder.glob("results_*.json"))
    if results:
        try:
            name = json.loads(results[-1].read_text(encoding="utf-8")).get("model_name")
        except json.JSONDecodeError as error:
            raise ValueError(f"{results[-1]}: invalid JSON ({error.msg})") from None
        if isinstance(name, str) and name:
            return name
    return folder.name


def _latest_samples(folder: Path) -> dict[str, Path]:
    """task name -> its newest samples file (lm-eval dates sort as text)."""
    latest: dict[str, Path] = {}
    for path in sorted(folder.glob(f"{_SAMPLES_PREFIX}*.jsonl")):
        task = path.stem[len(_SAMPLES_PREFIX) :].rsplit("_", 1)[0]
        latest[task] = path
    return latest


def _read_scores(path: Path, metric: str | None) -> tuple[str, dict[tuple[int, str], float]]:
    """(metric used, {(doc_id, doc_hash): score}) from one samples file."""
    scores: dict[tuple[int, str], float] = {}
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                sample = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}, line {number}: invalid JSON ({error.msg})") from None
            if not isinstance(sample, dict) or "doc_id" not in sample:
                raise ValueError(f"{path}, line {number}: not an lm-eval sample (no doc_id)")
            if metric is None:
                numeric = [m for m in sample.get("metrics", []) if isinstance(sample.get(m), int | float)]
                if not numeric:
                    raise ValueError(f"{path}, line {number}: no numeric metric in {sample.get('metrics')}")
                metric = numeric[0]
            value = sample.get(metric)
            if not isinstance(value, int | float):
                raise ValueError(f"{path}, line {number}: metric {metric!r} is missing or not a number")
            if isinstance(value, float) and math.isnan(value):
                raise ValueError(f"{path}, line {number}: metric {metric!r} is NaN")
            scores[(int(sample["doc_id"]), str(sample.get("doc_hash", "")))] = float(value)
    if metric is None:
        raise ValueError(f"{path}: no samples")
    return metric, scores


def _difference(folders: list[Path], per_model: list[dict[tuple[int, str], float]]) -> str:
    """Which documents differ between the first model's samples and another's, and why that matters."""
    first = {doc_id: doc_hash for doc_id, doc_hash in per_model[0]}
    for folder, scores in zip(folders[1:], per_model[1:]):
        other = {doc_id: doc_hash for doc_id, doc_hash in scores}
        same_ids = sorted(set(first) & set(other))
        if same_ids:
            doc_id = same_ids[0]
            if first[doc_id] != other[doc_id]:
                return (
                    f"doc_id {doc_id} has doc_hash {first[doc_id][:12]} in {folders[0]} but "
                    f"{other[doc_id][:12]} in {folder}: the runs scored different document texts (another "
                    "dataset version or split)"
                )
        elif first and other:
            return (
                f"{folders[0]} has doc_ids {min(first)}..{max(first)} and {folder} has "
                f"{min(other)}..{max(other)}: the runs covered different documents (another --limit, split "
                "or shard)"
            )
    return "the runs' documents differ by doc_id or doc_hash"


def battles_from_lm_eval(
    results_dirs: Sequence[str | Path],
    tasks: Sequence[str] | None = None,
    metric: str | None = None,
    names: Sequence[str] | None = None,
) -> pd.DataFrame:
    """A battle log (``model_a``, ``model_b``, ``winner``, ``task``, ``doc_id``) from lm-eval outputs.

    ``results_dirs``: one ``--output_path`` (or its model sub-folder) per model. ``tasks``: the tasks to
    use (default: every task all models have). ``metric``: the per-document score (default: the first
    numeric metric of each task, e.g. ``acc``). ``names``: model names (default: lm-eval's ``model_name``).
    Documents are matched by ``doc_id`` and ``doc_hash``, so a task whose documents differ between runs
    is an error rather than a silent mismatch.
    """
    if len(results_dirs) < 2:
        raise ValueError(f"need lm-eval outputs of at least 2 models, got {len(results_dirs)}")
    folders = [_model_folder(Path(d)) for d in results_dirs]
    model_names = list(names) if names is not None else [_model_name(folder) for folder in folders]
    if len(model_names) != len(folders):
        raise ValueError(f"got {len(model_names)} names for {len(folders)} result folders")
    if len(set(model_names)) != len(model_names):
        raise ValueError(f"model names must differ, got {model_names}; pass names=[...]")
    samples = [_latest_samples(folder) for folder in folders]
    shared = sorted(set.intersection(*(set(s) for s in samples)))
    chosen = list(tasks) if tasks is not None else shared
    for task in chosen:
        for folder, found in zip(folders, samples):
            if task not in found:
                raise ValueError(
                    f"{folder}: no samples for task {task!r} (found: {', '.join(sorted(found))})"
                )
    if not chosen:
        raise ValueError("the lm-eval outputs share no task")
    rows = []
    for task in chosen:
        per_model = [_read_scores(found[task], metric)[1] for found in samples]
        documents = sorted(set.intersection(*(set(scores) for scores in per_model)))
        if not documents:
            raise ValueError(
                f"task {task!r}: no document is shared by all models; {_difference(folders, per_model)}"
            )
        for (i, name_i), (j, name_j) in itertools.combinations(enumerate(model_names), 2):
            for document in documents:
                score_i, score_j = per_model[i][document], per_model[j][document]
                winner = "model_a" if score_i > score_j else "model_b" if score_j > score_i else "tie"
                rows.append((name_i, name_j, winner, task, document[0]))
    return pd.DataFrame(rows, columns=["model_a", "model_b", "winner", "task", "doc_id"])
