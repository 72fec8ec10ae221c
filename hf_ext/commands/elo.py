"""``hf-ext elo BATTLES`` / ``hf-ext elo --from-lm-eval DIR1 DIR2 ...``: robust ratings from pairwise battles.

Prints the ranked tables (Bradley-Terry with bootstrap intervals, permutation-averaged online Elo), the
reliability and transitivity checks, and with ``--out`` writes CSV, JSON and (``--plot``) PNG files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hf_ext.errors import HFExtError
from hf_ext.outputs import check_output_dir, staged_output_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "elo",
        help="Elo / Bradley-Terry ratings with intervals from a battle log or lm-eval outputs",
        description="Ratings from a battle log (JSONL, JSON, CSV or Parquet with model_a, model_b, "
        "winner) or from several models' lm-eval --log_samples outputs.",
    )
    parser.add_argument("battles", nargs="?", help="battle log file")
    parser.add_argument(
        "--from-lm-eval", nargs="+", metavar="DIR", help="lm-eval --output_path folders, one per model"
    )
    parser.add_argument("--tasks", nargs="+", help="with --from-lm-eval: tasks to use (default: all shared)")
    parser.add_argument("--metric", help="with --from-lm-eval: per-document metric (default: first numeric)")
    parser.add_argument("--method", choices=["bt", "elo", "both"], default="both")
    parser.add_argument("--permutations", type=int, default=100, help="random battle orders for online Elo")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap rounds (0: no intervals)")
    parser.add_argument("--k", type=float, default=4.0, help="online Elo K-factor")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--reg", type=float, default=0.0, help="L2 regularisation of Bradley-Terry (logit units)"
    )
    parser.add_argument("--anchor", metavar="MODEL=RATING", help="pin one model's Bradley-Terry rating")
    parser.add_argument("--out", help="folder for CSV/JSON (and PNG with --plot) results")
    parser.add_argument(
        "--plot", action="store_true", help="write ratings, win-rate and spread plots to --out"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    parser.add_argument(
        "--confidence", type=float, default=0.95, help="level of the intervals and of the transitivity test"
    )
    arena = parser.add_argument_group("arena filters (a battle log file only; each prints what it removed)")
    arena.add_argument(
        "--all-battles", action="store_true", help="keep non-anonymous battles too (default: anony only)"
    )
    arena.add_argument("--exclude-models", nargs="+", default=(), metavar="MODEL")
    arena.add_argument("--languages", nargs="+", default=None, metavar="LANGUAGE")
    arena.add_argument("--exclude-ties", action="store_true")
    arena.add_argument("--daily-vote-cap", type=int, default=None, help="battles per voter (judge) per day")
    arena.add_argument(
        "--category", default=None, help="boolean column or nested path, e.g. category_tag.x.y"
    )
    parser.set_defaults(func=run)


def _parse_anchor(text: str | None) -> tuple[str, float] | None:
    if text is None:
        return None
    name, sep, value = text.rpartition("=")
    try:
        if sep and name:
            return name, float(value)
    except ValueError:
        pass
    raise HFExtError(f"--anchor must be MODEL=RATING, got {text!r}")


def _in_file(path: Path | None, function, *args):
    """``function(*args)``; a ValueError about an input becomes one line that names the file (``path``)."""
    try:
        return function(*args)
    except (ValueError, FileNotFoundError, NotADirectoryError) as error:
        message = str(error)
        raise HFExtError(message if path is None or str(path) in message else f"{path}: {message}") from None


def run(args: argparse.Namespace) -> int:
    from hf_ext.evaluation.elo.arena import filter_battles
    from hf_ext.evaluation.elo.battles import read_battles, validate_battles
    from hf_ext.evaluation.elo.lm_eval_battles import battles_from_lm_eval
    from hf_ext.evaluation.elo.report import analyze, format_report

    if (args.battles is None) == (args.from_lm_eval is None):
        raise HFExtError("give either a battle log file or --from-lm-eval DIR1 DIR2 ...")
    if args.plot and not args.out:
        raise HFExtError("--plot needs --out DIR to write the PNG files to")
    anchor = _parse_anchor(args.anchor)
    inputs = [Path(d) for d in args.from_lm_eval] if args.from_lm_eval else [Path(args.battles)]
    out = (
        check_output_dir(args.out, inputs=inputs, overwrite=args.overwrite, flag="--out")
        if args.out
        else None
    )
    if args.from_lm_eval:
        battles = _in_file(None, battles_from_lm_eval, inputs, args.tasks, args.metric)
    else:
        if not inputs[0].is_file():
            raise HFExtError(f"no battle log file at {args.battles}")
        frame, where = _in_file(inputs[0], read_battles, inputs[0])
        _in_file(inputs[0], validate_battles, frame, where)  # errors name the file's own lines
        battles, dropped = _in_file(
            inputs[0], filter_battles, frame, not args.all_battles, args.exclude_models, args.languages,
            args.exclude_ties, args.daily_vote_cap, "judge", args.category,
        )  # fmt: skip
        removed = ", ".join(f"{name} {count}" for name, count in dropped.items())
        print(f"{len(battles)} of {len(frame)} battles kept ({removed or 'no filter applied'})")
        if len(battles) == 0:
            raise HFExtError(f"{args.battles}: the filters left no battle ({removed})")
    try:
        report = analyze(
            battles, method=args.method, n_permutations=args.permutations, n_bootstrap=args.bootstrap,
            k=args.k, seed=args.seed, reg=args.reg, anchor=anchor, confidence=args.confidence,
        )  # fmt: skip
    except ValueError as error:  # settings the analysis rejects (bootstrap rounds, anchor model, ...)
        raise HFExtError(str(error)) from None
    print(format_report(report))
    if out is not None:
        with staged_output_dir(out) as staging:
            written = report.write(staging, plot=args.plot, overwrite=True)
        print(f"\nwrote {len(written)} files to {out}")
    return 0
