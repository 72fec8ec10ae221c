"""The ``hf-ext`` command. Also runnable as ``python -m hf_ext.cli`` (e.g. under ``accelerate launch -m``).

Errors in user input (an unknown name, a bad recipe field) print one line and exit with status 2; set
``HF_EXT_DEBUG=1`` to see the traceback instead.

Example:
    >>> from hf_ext.cli import main
    >>> main(["tasks-path"])  # doctest: +ELLIPSIS
    /.../hf_ext/tasks
    0
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from hf_ext.commands import COMMAND_MODULES


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hf-ext",
        description="Recent research methods as drop-in parts for TRL, lm-eval and Optimum-style workflows.",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and not getattr(args, "pass_through", False):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.extra = extra
    try:
        return int(args.func(args) or 0)
    except (ValueError, KeyError, FileNotFoundError, FileExistsError, NotADirectoryError) as error:
        if os.environ.get("HF_EXT_DEBUG"):
            raise
        message = str(error.args[0]) if isinstance(error, KeyError) and error.args else str(error)
        print(f"hf-ext: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
