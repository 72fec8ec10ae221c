"""The ``hf-ext`` command. Also runnable as ``python -m hf_ext.cli`` (e.g. under ``accelerate launch -m``).

User mistakes (an unknown name, a bad recipe field, a missing file, an output folder that would lose data)
raise :class:`~hf_ext.errors.HFExtError`: the CLI prints its one line and exits with status 2. Any other
exception is a bug in hf-ext: one line says so, with the exception's type, and the exit status is 1. Set
``HF_EXT_DEBUG=1`` to see the traceback instead, in both cases.

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
from hf_ext.errors import HFExtError

EXIT_USER_ERROR = 2
EXIT_BUG = 1


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
    except Exception as error:
        if os.environ.get("HF_EXT_DEBUG", "").strip() not in ("", "0"):
            raise
        if isinstance(error, HFExtError):
            print(f"hf-ext: error: {_one_line(str(error))}", file=sys.stderr)
            return EXIT_USER_ERROR
        kind = type(error).__qualname__
        if type(error).__module__ != "builtins":
            kind = f"{type(error).__module__}.{kind}"
        print(
            f"hf-ext: bug: {kind}: {_one_line(str(error))} "
            "(this is a bug in hf-ext, not a mistake of yours; set HF_EXT_DEBUG=1 for the traceback)",
            file=sys.stderr,
        )
        return EXIT_BUG


def _one_line(message: str, limit: int = 300) -> str:
    """The message's lines joined by spaces, cut to ``limit`` characters."""
    text = " ".join(part.strip() for part in message.splitlines() if part.strip())
    return text if len(text) <= limit else text[: limit - 3] + "..."


if __name__ == "__main__":
    sys.exit(main())
