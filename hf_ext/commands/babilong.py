"""``hf-ext babilong generate|plot``: write BABILong datasets, draw result pictures.

``generate`` writes one ``datasets`` DatasetDict per length under ``OUT/<length>`` (``0k``, ``4k``, ``1M``,
or the token count), with one split per task, as the Hub dataset ``RMT-team/babilong`` is laid out. It
refuses an existing non-empty ``OUT`` unless ``--overwrite``, and even then replaces it only once everything
is written.

Example:
    >>> from hf_ext.cli import main
    >>> main(["babilong", "generate", "--tasks", "qa1", "--lengths", "0", "--num-samples", "2",
    ...       "--tokenizer", "hf-ext-testing:tiny-llama", "--out", "/tmp/babilong-doctest", "--overwrite"])
    ... # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("babilong", help="generate BABILong data offline, plot BABILong results")
    commands = parser.add_subparsers(dest="babilong_command", required=True, metavar="ACTION")

    generate = commands.add_parser("generate", help="write BABILong samples as a datasets dataset")
    generate.add_argument("--tasks", default="qa1,qa2,qa3,qa4,qa5", help="comma list of qa1..qa20, or 'all'")
    generate.add_argument("--lengths", default="0,4k", help="comma list of token counts: 0, 4096, 4k, 1M")
    generate.add_argument("--num-samples", type=int, default=100)
    generate.add_argument("--tokenizer", required=True, help="tokenizer name or path (the evaluated model's)")
    generate.add_argument("--out", required=True, help="output folder")
    generate.add_argument("--haystack", default=None, help="prose (default), pg19, hf:<dataset>, or a path")
    generate.add_argument("--seed", type=int, default=0)
    generate.add_argument("--reserve", type=int, default=None, help="tokens left for the prompt (300)")
    generate.add_argument("--depth", type=float, nargs="+", default=None, help="percent, or LOW HIGH window")
    generate.add_argument("--overwrite", action="store_true", help="replace a non-empty --out folder")
    generate.set_defaults(func=run_generate)

    plot = commands.add_parser(
        "plot", help="task x length heatmap and accuracy by depth from lm-eval results"
    )
    plot.add_argument("results", help="lm-eval results JSON (or a folder holding results*.json)")
    plot.add_argument("--out", default="babilong", help="output prefix: <out>_heatmap.png, <out>_depth.png")
    plot.set_defaults(func=run_plot)


def run_generate(args: argparse.Namespace) -> int:
    from datasets import DatasetDict

    from hf_ext.evaluation.babilong import DEFAULT_RESERVE, TASK_NAMES, check_task, generate_babilong
    from hf_ext.evaluation.babilong.generator import length_label, load_tokenizer, parse_lengths

    tasks = (
        list(TASK_NAMES) if args.tasks == "all" else [t.strip() for t in args.tasks.split(",") if t.strip()]
    )
    for task in tasks:
        check_task(task)
    lengths = parse_lengths(args.lengths)
    out = Path(args.out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())) and not args.overwrite:
        raise FileExistsError(f"{out} exists and is not empty; pass --overwrite to replace it")
    tokenizer = load_tokenizer(args.tokenizer)
    depth = None if args.depth is None else args.depth[0] if len(args.depth) == 1 else tuple(args.depth)
    reserve = DEFAULT_RESERVE if args.reserve is None else args.reserve
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        for length in lengths:
            splits = {}
            for task in tasks:
                splits[task] = generate_babilong(
                    task, length, args.num_samples, tokenizer, args.haystack, args.seed, reserve, depth
                )
                print(f"{task} at {length} tokens: {args.num_samples} samples", flush=True)
            DatasetDict(splits).save_to_disk(str(staging / length_label(length)))
        if out.exists():
            shutil.rmtree(out) if out.is_dir() else out.unlink()
        staging.rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    print(f"wrote {len(tasks)} task(s) x {len(lengths)} length(s) to {out}")
    return 0


def run_plot(args: argparse.Namespace) -> int:
    from hf_ext.evaluation.babilong.plots import accuracy_tables, load_results, plot_depth, plot_heatmap

    by_length, by_depth = accuracy_tables(load_results(args.results))
    plot_heatmap(by_length, f"{args.out}_heatmap.png")
    print(f"wrote {args.out}_heatmap.png")
    if by_depth:
        plot_depth(by_depth, f"{args.out}_depth.png")
        print(f"wrote {args.out}_depth.png")
    return 0
