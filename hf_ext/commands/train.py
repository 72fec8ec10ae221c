"""``hf-ext train NAME --config recipe.yaml [--field value ...]``: train a registered trainer."""

from __future__ import annotations

import argparse


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train with a registered trainer from a YAML recipe",
        description="Train with a registered trainer (see `hf-ext list`). Any config field may be set in the "
        "YAML recipe or overridden as --field value. `hf-ext train NAME --help` lists the fields.",
    )
    parser.add_argument("name", help="registered trainer name, e.g. dpo")
    parser.add_argument(
        "recipe_args", nargs=argparse.REMAINDER, help="--config FILE and --field value overrides"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from hf_ext.trainers.launch import train_from_recipe

    trainer = train_from_recipe(args.name, args.recipe_args)
    if trainer.is_world_process_zero():
        print(
            f"trained {args.name}: {trainer.state.global_step} steps, world size {trainer.args.world_size}; "
            f"saved to {trainer.args.output_dir}"
        )
    return 0
