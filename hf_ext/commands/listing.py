"""``hf-ext list`` (trainers, pruners, lm-eval tasks) and ``hf-ext tasks-path``."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    listing = subparsers.add_parser("list", help="list registered trainers, pruners and lm-eval tasks")
    listing.set_defaults(func=run_list)
    path = subparsers.add_parser("tasks-path", help="print the folder to pass to lm-eval --include_path")
    path.set_defaults(func=run_tasks_path)


def run_list(args: argparse.Namespace) -> int:
    from hf_ext.registry import PRUNERS, TRAINERS
    from hf_ext.task_files import list_tasks

    for title, registry in (("trainers", TRAINERS), ("pruners", PRUNERS)):
        print(f"{title}:")
        for entry in registry.entries():
            print(f"  {entry.name:<20} {entry.description}")
        if not registry.names():
            print("  (none)")
    tasks = list_tasks()
    print('lm-eval tasks (use with --include_path "$(hf-ext tasks-path)"):')
    for task in tasks:
        tags = f"  [tags: {', '.join(task.tags)}]" if task.tags else ""
        print(f"  {task.name}{tags}")
    if not tasks:
        print("  (none)")
    return 0


def run_tasks_path(args: argparse.Namespace) -> int:
    from hf_ext.task_files import tasks_path

    print(tasks_path())
    return 0
