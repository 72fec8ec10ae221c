"""``hf-ext prune NAME --model ... --sparsity 0.2 --save-dir out/ [--push-to-hub user/name]``.

Every field of the pruner's config is an option (``--num-calibration-samples 64``, ``--schedule uniform``,
``--no-prune-attention``, ...); ``hf-ext prune slimgpt --help`` lists them. Offline runs can use
``--model hf-ext-testing:reference-lm --calibration-dataset hf-ext-testing:prose``.

Example:
    >>> from hf_ext.cli import build_parser
    >>> args = build_parser().parse_args(["prune", "slimgpt", "--model", "m", "--save-dir", "out"])
    >>> args.name, args.recipe_args
    ('slimgpt', ['--model', 'm', '--save-dir', 'out'])
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import typing


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="structurally prune a causal LM with a registered pruner (slimgpt, wanda-sp, magnitude-sp)",
        description="Prune a causal LM with a registered pruner (see `hf-ext list`) and save a folder that "
        "AutoModelForCausalLM loads. `hf-ext prune NAME --help` lists the pruner's options.",
        add_help=False,
    )
    parser.add_argument("name", help="registered pruner name, e.g. slimgpt")
    parser.add_argument(
        "recipe_args", nargs=argparse.REMAINDER, help="--model, --save-dir and config options"
    )
    parser.set_defaults(func=run)


def pruner_parser(name: str, config_class: type) -> argparse.ArgumentParser:
    """The options of ``hf-ext prune NAME``: model and output options plus one per config field."""
    parser = argparse.ArgumentParser(prog=f"hf-ext prune {name}", description=(config_class.__doc__ or ""))
    parser.add_argument("--model", required=True, help="local folder, Hub id or hf-ext-testing: name")
    parser.add_argument("--save-dir", required=True, help="output folder (never the model's own folder)")
    parser.add_argument(
        "--calibration-dataset",
        default="c4",
        help="c4, c4-new, wikitext2 (Hub), hf-ext-testing:prose (offline) or a .txt file (a text per line)",
    )
    parser.add_argument("--eval-dataset", help="texts for perplexity before/after (same forms as above)")
    parser.add_argument("--checkpoint-dir", help="per-layer checkpoints; rerunning resumes from them")
    parser.add_argument(
        "--dtype", default="float32", help="dtype to load the model in (float32, bfloat16, ...)"
    )
    parser.add_argument("--push-to-hub", metavar="REPO_ID", help="upload the saved folder to this Hub repo")
    parser.add_argument("--private", action="store_true", help="create the Hub repo as private")
    hints = typing.get_type_hints(config_class)
    for field in dataclasses.fields(config_class):
        option = "--" + field.name.replace("_", "-")
        hint = hints[field.name]
        if hint is bool:
            parser.add_argument(option, action=argparse.BooleanOptionalAction, default=field.default)
            continue
        base = next((t for t in typing.get_args(hint) if t is not type(None)), hint)
        parser.add_argument(option, type=base, default=field.default, help=f"(default: {field.default})")
    return parser


def load_texts(reference: str) -> typing.Any:
    """A dataset reference for the pruner: a .txt file gives its non-empty lines; names pass through."""
    if reference.endswith(".txt"):
        with open(reference, encoding="utf-8") as handle:
            return [line.strip() for line in handle if line.strip()]
    return reference


def run(args: argparse.Namespace) -> int:
    import torch

    from hf_ext.pruning.calibration import OFFLINE_TEXTS, offline_texts
    from hf_ext.registry import get_pruner

    entry = get_pruner(args.name)
    options = pruner_parser(args.name, entry.config_cls).parse_args(args.recipe_args)
    field_names = [field.name for field in dataclasses.fields(entry.config_cls)]
    config = entry.config_cls(**{name: getattr(options, name) for name in field_names})
    dtype = getattr(torch, options.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise ValueError(f"--dtype: unknown torch dtype {options.dtype!r}")
    pruner = entry.pruner_cls.from_pretrained(options.model, config=config, dtype=dtype)
    eval_texts = None
    if options.eval_dataset:
        eval_texts = load_texts(options.eval_dataset)
        if isinstance(eval_texts, str):
            eval_texts = offline_texts(eval_texts) if eval_texts in OFFLINE_TEXTS else [eval_texts]
    pruner.prune(
        load_texts(options.calibration_dataset),
        save_dir=options.save_dir,
        checkpoint_dir=options.checkpoint_dir,
        eval_texts=eval_texts,
    )
    summary = pruner.summary
    report = {key: summary[key] for key in ("parameters_before", "parameters_after", "achieved_sparsity")}
    if "perplexity" in summary:
        report["perplexity"] = summary["perplexity"]
    print(json.dumps(report, indent=2))
    print(f"saved {args.name}-pruned model to {pruner.save_dir}")
    if options.push_to_hub:
        url = pruner.push_to_hub(options.push_to_hub, private=options.private or None)
        print(f"pushed to {url}")
    return 0
