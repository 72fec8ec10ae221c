"""``hf-ext babilong generate|plot``: write BABILong datasets, draw result pictures.

``generate`` writes one ``datasets`` DatasetDict per length under ``OUT/<length>`` (``0k``, ``4k``, ``1M``,
or the token count), with one split per task, as the Hub dataset ``RMT-team/babilong`` is laid out. It
refuses an existing non-empty ``OUT`` unless ``--overwrite``, and even then replaces it only once everything
is written. ``--length-convention`` says what ``4k`` means: ``model`` (default) 4096 tokens of
``--tokenizer``; ``official`` 4000 tokens, as the released data, with GPT-2's tokenizer unless
``--tokenizer`` names another.

Example:
    >>> from hf_ext.cli import main
    >>> main(["babilong", "generate", "--tasks", "qa1", "--lengths", "0", "--num-samples", "2",
    ...       "--tokenizer", "hf-ext-testing:tiny-llama", "--out", "/tmp/babilong-doctest", "--overwrite"])
    ... # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import os
import uuid
from pathlib import Path

from hf_ext.errors import HFExtError
from hf_ext.inputs import explain_load_errors, local_model_path
from hf_ext.outputs import check_output_dir, staged_output_dir


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser("babilong", help="generate BABILong data offline, plot BABILong results")
    commands = parser.add_subparsers(dest="babilong_command", required=True, metavar="ACTION")

    generate = commands.add_parser("generate", help="write BABILong samples as a datasets dataset")
    generate.add_argument("--tasks", default="qa1,qa2,qa3,qa4,qa5", help="comma list of qa1..qa20, or 'all'")
    generate.add_argument("--lengths", default="0,4k", help="comma list of token counts: 0, 4096, 4k, 1M")
    generate.add_argument("--num-samples", type=int, default=100)
    generate.add_argument(
        "--tokenizer",
        default=None,
        help="tokenizer name or path (the evaluated model's; required unless --length-convention official)",
    )
    generate.add_argument(
        "--length-convention",
        choices=("model", "official"),
        default="model",
        help="model: 4k = 4096 tokens of --tokenizer (default); official: 4k = 4000 GPT-2 tokens, as the "
        "published tables",
    )
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
    plot.add_argument("--overwrite", action="store_true", help="replace existing <out>_*.png files")
    plot.add_argument(
        "--length-convention",
        choices=("model", "official"),
        default="model",
        help="how to name lengths on the axis: model (4096 = 4k) or official (4000 = 4k)",
    )
    plot.set_defaults(func=run_plot)


def _checked(flag: str, function, *args):
    """``function(*args)``; a BABILong input check's ValueError becomes one line naming ``flag``."""
    try:
        return function(*args)
    except (ValueError, FileNotFoundError) as error:
        raise HFExtError(f"{flag}: {error}" if flag not in str(error) else str(error)) from None


def run_generate(args: argparse.Namespace) -> int:
    from datasets import DatasetDict

    from hf_ext.evaluation.babilong import DEFAULT_RESERVE, TASK_NAMES, check_task, generate_babilong
    from hf_ext.evaluation.babilong.generator import (
        OFFICIAL_TOKENIZER,
        length_label,
        load_tokenizer,
        parse_lengths,
    )

    tasks = (
        list(TASK_NAMES) if args.tasks == "all" else [t.strip() for t in args.tasks.split(",") if t.strip()]
    )
    for task in tasks:
        _checked("--tasks", check_task, task)
    convention = args.length_convention
    lengths = _checked("--lengths", parse_lengths, args.lengths, (), convention)
    if args.num_samples < 1:
        raise HFExtError(f"--num-samples must be >= 1, got {args.num_samples}")
    if args.tokenizer is None and convention == "model":
        raise HFExtError(
            "--tokenizer is required with --length-convention model (lengths count the evaluated model's "
            "tokens); pass it, or --length-convention official for GPT-2 tokens"
        )
    tokenizer_name = local_model_path(args.tokenizer or OFFICIAL_TOKENIZER, "--tokenizer", kind="tokenizer")
    haystack = args.haystack if args.haystack and Path(args.haystack).expanduser().exists() else None
    out = check_output_dir(
        args.out, inputs=[tokenizer_name, haystack], overwrite=args.overwrite, flag="--out"
    )
    with explain_load_errors(tokenizer_name, "--tokenizer", kind="tokenizer"):
        tokenizer = load_tokenizer(tokenizer_name)
    depth = None if args.depth is None else args.depth[0] if len(args.depth) == 1 else tuple(args.depth)
    reserve = DEFAULT_RESERVE if args.reserve is None else args.reserve
    with staged_output_dir(out) as staging:
        for length in lengths:
            splits = {}
            for task in tasks:
                splits[task] = generate_babilong(
                    task,
                    length,
                    args.num_samples,
                    tokenizer,
                    args.haystack,
                    args.seed,
                    reserve,
                    depth,
                    length_convention=convention,
                )
                print(f"{task} at {length} tokens: {args.num_samples} samples", flush=True)
            DatasetDict(splits).save_to_disk(str(staging / length_label(length, convention)))
    print(f"wrote {len(tasks)} task(s) x {len(lengths)} length(s) to {out}")
    return 0


def _write_staged(path: Path, draw) -> Path:
    """``draw(temporary_path)`` then rename onto ``path``, so a failed plot leaves no half-written PNG."""
    temporary = path.parent / f".{path.stem}.tmp-{uuid.uuid4().hex[:8]}{path.suffix}"
    try:
        draw(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def run_plot(args: argparse.Namespace) -> int:
    from hf_ext.evaluation.babilong.plots import accuracy_tables, load_results, plot_depth, plot_heatmap

    results_path = Path(args.results).expanduser()
    if not results_path.exists():
        raise HFExtError(f"no lm-eval results file or folder at {args.results}")
    targets = [Path(f"{args.out}_heatmap.png"), Path(f"{args.out}_depth.png")]
    for target in targets:
        if target.exists() and target.resolve() == results_path.resolve():
            raise HFExtError(f"--out {args.out} would write over the input {args.results}")
        if target.exists() and not args.overwrite:
            raise HFExtError(f"{target} exists; pass --overwrite to replace it, or choose another --out")
        if target.is_dir():
            raise HFExtError(f"{target} is a folder; choose another --out")
    results = _checked(str(results_path), load_results, results_path)
    by_length, by_depth = _checked(str(args.results), accuracy_tables, results)
    targets[0].parent.mkdir(parents=True, exist_ok=True)
    convention = args.length_convention
    heatmap = _write_staged(
        targets[0], lambda path: plot_heatmap(by_length, path, length_convention=convention)
    )
    print(f"wrote {heatmap}")
    if by_depth:
        print(f"wrote {_write_staged(targets[1], lambda path: plot_depth(by_depth, path))}")
    return 0
