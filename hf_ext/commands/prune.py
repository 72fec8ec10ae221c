"""``hf-ext prune NAME [--config recipe.yaml] --model ... --save-dir out/ [--field value ...]``.

Parsed like ``hf-ext train``: a YAML recipe (``--config``) and ``--field value`` overrides of the pruner's
config fields (``--sparsity 0.2``, ``--schedule uniform``, ``--no-prune-attention``, ...) and of
:class:`~hf_ext.pruning.launch.PruneArguments` (``--model``, ``--save-dir``, ``--calibration-dataset``,
``--eval-dataset``, ``--checkpoint-dir``, ``--keep-checkpoints``, ``--overwrite``, ``--remote-code``,
``--push-to-hub``);
dashes and underscores both work. ``hf-ext prune slimgpt --help`` lists them. Offline runs can use
``--model hf-ext-testing:reference-lm --calibration-dataset hf-ext-testing:prose`` or the shipped recipe
``hf_ext/recipes/slimgpt/tiny.yaml``.

Example:
    >>> from hf_ext.cli import build_parser
    >>> args = build_parser().parse_args(["prune", "slimgpt", "--model", "m", "--save-dir", "out"])
    >>> args.name, args.recipe_args
    ('slimgpt', ['--model', 'm', '--save-dir', 'out'])
"""

from __future__ import annotations

import argparse
import json


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "prune",
        help="structurally prune a causal LM with a registered pruner (slimgpt, wanda-sp, magnitude-sp)",
        description="Prune a causal LM with a registered pruner (see `hf-ext list`) and save a folder that "
        "AutoModelForCausalLM loads. Any field may be set in a YAML recipe (--config) or as --field value. "
        "`hf-ext prune NAME --help` lists the fields.",
        add_help=False,
    )
    parser.add_argument("name", help="registered pruner name, e.g. slimgpt")
    parser.add_argument(
        "recipe_args", nargs=argparse.REMAINDER, help="--config FILE and --field value overrides"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hf_ext.pruning.launch import prune_from_recipe

    pruner, arguments = prune_from_recipe(args.name, args.recipe_args)
    summary = pruner.summary
    report = {key: summary[key] for key in ("parameters_before", "parameters_after", "achieved_sparsity")}
    report["target_sparsity"] = summary["config"]["sparsity"]
    if "perplexity" in summary:
        report["perplexity"] = summary["perplexity"]
    print(json.dumps(report, indent=2))
    print(f"saved {args.name}-pruned model to {pruner.save_dir}")
    if arguments.push_to_hub:
        url = pruner.push_to_hub(arguments.push_to_hub, private=arguments.private or None)
        print(f"pushed to {url}")
    return 0
