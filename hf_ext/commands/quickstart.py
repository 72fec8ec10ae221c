"""``hf-ext quickstart``: an offline tour of every part of hf-ext, in minutes on a laptop."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("quickstart", help="offline tour of hf-ext on tiny models (minutes)")
    parser.add_argument(
        "--output-dir",
        default=None,
        help="where to write the tour's models and files (default: a new temporary folder)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a non-empty --output-dir (swapped in at the end)"
    )
    parser.add_argument("--only", default=None, help="comma-separated step names to run (default: all)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hf_ext.quickstart import run_quickstart

    only = args.only.split(",") if args.only else None
    run_quickstart(output_dir=args.output_dir, only=only, overwrite=args.overwrite)
    return 0
