"""``hf-ext eval ...``: lm-eval's ``run`` with hf-ext's tasks on the include path.

Every argument is passed to ``lm-eval run`` unchanged (``--model hf --model_args pretrained=... --tasks
hfx_... --metadata ...``); hf-ext adds ``--include_path`` pointing at its task folder. Because it runs inside
hf-ext (``import hf_ext`` installs the hook that registers hf-ext's model classes with transformers),
models saved by hf-ext (e.g. pruned models) load without ``trust_remote_code``.
"""

from __future__ import annotations

import argparse
import sys


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "eval",
        help="run lm-eval with hf-ext's tasks (arguments as for `lm-eval run`)",
        description="Run lm-eval with hf-ext's tasks on the include path. All arguments go to `lm-eval run`.",
        add_help=False,
    )
    parser.set_defaults(func=run, pass_through=True)  # every argument, --help included, goes to lm-eval


def lm_eval_argv(arguments: list[str]) -> list[str]:
    """The ``lm-eval`` command line for ``hf-ext eval ARGUMENTS``."""
    from hf_ext.errors import HFExtError
    from hf_ext.task_files import tasks_path

    if any(argument.split("=")[0] == "--include_path" for argument in arguments):
        raise HFExtError(
            "hf-ext eval sets --include_path to hf-ext's tasks; lm-eval's CLI takes only one "
            "folder, so to add your own use lm_eval.tasks.TaskManager(include_path=[...]) in Python"
        )
    if not arguments or arguments[0] in ("-h", "--help"):
        return ["lm-eval", "run", "--help"]
    return ["lm-eval", "run", *arguments, "--include_path", str(tasks_path())]


def run(args: argparse.Namespace) -> int:
    from lm_eval.__main__ import cli_evaluate

    from hf_ext.evaluation.streambench.lm_eval_registration import register_lm_eval_models

    register_lm_eval_models()  # --model hfx-stream (StreamBench agents around any lm-eval model)

    saved_argv = sys.argv
    sys.argv = lm_eval_argv(args.extra)
    try:
        cli_evaluate()
    finally:
        sys.argv = saved_argv
    return 0
