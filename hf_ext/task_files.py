"""hf-ext's lm-eval task folder and the tasks in it, read as YAML without importing lm-eval.

The folder :func:`tasks_path` returns is what ``hf-ext eval`` and ``lm_eval --include_path`` load; every
``*.yaml`` in it with a ``task:`` key is one task (names start with ``hfx_``). This module is a leaf: the
evaluation code, the CLI and the tests all ask it where the tasks are, and it imports nothing of hf-ext.

Example:
    >>> from hf_ext.task_files import task_names, tasks_path
    >>> tasks_path().name
    'tasks'
    >>> "hfx_babilong_qa1" in task_names()
    True
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml


def tasks_path() -> Path:
    """The folder to pass to lm-eval as ``--include_path``."""
    return Path(str(resources.files("hf_ext") / "tasks"))


class _TaskYamlLoader(yaml.SafeLoader):
    """Safe YAML loading that tolerates lm-eval's ``!function`` tag (kept as the plain string)."""


_TaskYamlLoader.add_constructor("!function", lambda loader, node: loader.construct_scalar(node))


@dataclass(frozen=True)
class TaskInfo:
    name: str
    tags: tuple[str, ...]
    path: Path


def list_tasks() -> list[TaskInfo]:
    """hf-ext's lm-eval tasks (every ``*.yaml`` with a ``task:`` key under :func:`tasks_path`)."""
    found = []
    for path in sorted(tasks_path().rglob("*.yaml")):
        document = yaml.load(path.read_text(encoding="utf-8"), Loader=_TaskYamlLoader)  # noqa: S506
        if isinstance(document, dict) and isinstance(document.get("task"), str):
            tags = document.get("tag") or []
            found.append(TaskInfo(document["task"], tuple([tags] if isinstance(tags, str) else tags), path))
    return found


def task_names() -> list[str]:
    return sorted(task.name for task in list_tasks())
