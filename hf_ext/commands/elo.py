"""``hf-ext elo BATTLES`` / ``hf-ext elo --from-lm-eval DIR1 DIR2 ...``: robust ratings from pairwise battles.

Prints the ranked tables (Bradley-Terry with bootstrap intervals, permutation-averaged online Elo), the
reliability and transitivity checks, and with ``--out`` writes CSV, JSON and (``--plot``) PNG files.
"""

from __future__ import annotations

import argparse
from pathlib import Path


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
    parser.add_argument("--overwrite", action="store_true", help="replace result files already in --out")
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
    raise ValueError(f"--anchor must be MODEL=RATING, got {text!r}")


def _check_out(out: Path, inputs: list[Path]) -> None:
    """Results never go into an input folder: not beside the battle log, not inside an lm-eval output."""
    resolved = out.resolve()
    for path in inputs:
        if path.is_dir():
            inside = resolved == path.resolve() or path.resolve() in resolved.parents
        else:
            inside = resolved == path.resolve().parent
        if inside:
            raise ValueError(
                f"--out {out} would write into the input folder of {path}; choose another folder"
            )


def run(args: argparse.Namespace) -> int:
    from hf_ext.evaluation.elo.lm_eval_battles import battles_from_lm_eval
    from hf_ext.evaluation.elo.report import analyze, format_report

    if (args.battles is None) == (args.from_lm_eval is None):
        raise ValueError("give either a battle log file or --from-lm-eval DIR1 DIR2 ...")
    if args.plot and not args.out:
        raise ValueError("--plot needs --out DIR to write the PNG files to")
    anchor = _parse_anchor(args.anchor)
    if args.from_lm_eval:
        inputs = [Path(d) for d in args.from_lm_eval]
        battles = battles_from_lm_eval(inputs, tasks=args.tasks, metric=args.metric)
    else:
        inputs = [Path(args.battles)]
        battles = args.battles
    if args.out:
        _check_out(Path(args.out), inputs)
    report = analyze(
        battles, method=args.method, n_permutations=args.permutations, n_bootstrap=args.bootstrap,
        k=args.k, seed=args.seed, reg=args.reg, anchor=anchor,
    )  # fmt: skip
    print(format_report(report))
    if args.out:
        written = report.write(args.out, plot=args.plot, overwrite=args.overwrite)
        print(f"\nwrote {len(written)} files to {args.out}")
    return 0
