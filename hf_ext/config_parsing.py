"""Recipes: a YAML file plus ``--field value`` overrides, parsed into config dataclasses like TRL's TrlParser.

Unlike setting parser defaults from YAML (which skips type conversion), every YAML value goes through the
same argparse conversion as a command-line flag, so a wrong type in a YAML file fails as clearly as a wrong
flag. Unknown fields fail with the file name and the nearest valid field. Command-line flags win over YAML.

Example:
    >>> from dataclasses import dataclass
    >>> from hf_ext.config_parsing import parse_recipe
    >>> @dataclass
    ... class Args:
    ...     learning_rate: float = 1e-3
    ...     steps: int = 10
    >>> parse_recipe([Args], ["--steps", "3"])
    (Args(learning_rate=0.001, steps=3),)
    >>> parse_recipe([Args], ["--stpes", "3"])
    Traceback (most recent call last):
    ...
    hf_ext.config_parsing.RecipeError: unknown argument --stpes (did you mean --steps?)
"""

from __future__ import annotations

import argparse
import difflib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from transformers import HfArgumentParser

from hf_ext.errors import HFExtError


class RecipeError(HFExtError):
    """A recipe (YAML file or command-line override) that does not fit the config classes."""


class _RaisingParser(HfArgumentParser):
    def error(self, message: str):  # argparse would print usage and exit
        raise RecipeError(message)


def _nearest(name: str, valid: Sequence[str]) -> str:
    close = difflib.get_close_matches(name, valid, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _actions(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    return {action.dest: action for action in parser._actions if action.dest != "help"}


def _yaml_tokens(path: str, values: dict[str, Any], actions: dict[str, argparse.Action]) -> tuple[list, dict]:
    """Command-line tokens for scalar and list values; mappings and nulls become parser defaults."""
    tokens: list[str] = []
    defaults: dict[str, Any] = {}
    for key, value in values.items():
        if key not in actions:
            raise RecipeError(f"{path}: unknown field {key!r}{_nearest(key, list(actions))}")
        action = actions[key]
        if value is None or isinstance(value, dict):
            defaults[key] = value
        elif isinstance(value, list):
            if action.nargs not in ("+", "*"):
                raise RecipeError(f"{path}: field {key!r} takes one value, got a list")
            tokens += [f"--{key}", *map(str, value)]
        else:
            tokens += [f"--{key}", str(value).lower() if isinstance(value, bool) else str(value)]
    return tokens, defaults


def read_recipe_file(path: str) -> dict[str, Any]:
    """The YAML mapping of a recipe file; ``env:`` entries are exported to the environment (as TRL does)."""
    file = Path(path)
    if not file.is_file():
        raise RecipeError(f"recipe file not found: {path}")
    try:
        values = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RecipeError(f"{path}: not valid YAML: {error}".replace("\n", " ")) from error
    if not isinstance(values, dict):
        raise RecipeError(f"{path}: a recipe must be a YAML mapping of field: value")
    env = values.pop("env", {}) or {}
    if not isinstance(env, dict):
        raise RecipeError(f"{path}: 'env' must be a mapping of variable: value")
    for key, value in env.items():
        os.environ[str(key)] = str(value)
    return values


def parse_recipe(
    dataclass_types: Sequence[type],
    argv: Sequence[str],
    prog: str | None = None,
    required: Sequence[str] = (),
) -> tuple[Any, ...]:
    """Instances of ``dataclass_types`` from ``--config FILE`` (optional) and ``--field value`` overrides.

    ``prog`` is the command name ``--help`` shows. Fields named in ``required`` must be set (in the YAML or
    as a flag); all missing ones are named in one error, before any config class is built. A config class
    that rejects its values (``ValueError`` from ``__post_init__``) gives a :class:`RecipeError` too."""
    argv = list(argv)
    parser = _RaisingParser(list(dataclass_types), prog=prog)
    actions = _actions(parser)
    yaml_tokens: list[str] = []
    config_path: str | None = None
    if "--config" in argv:
        position = argv.index("--config")
        if position + 1 >= len(argv):
            raise RecipeError("--config needs a file path")
        config_path = argv[position + 1]
        del argv[position : position + 2]
        yaml_tokens, defaults = _yaml_tokens(config_path, read_recipe_file(config_path), actions)
        parser.set_defaults(**defaults)
        try:  # convert the YAML values on their own first, so an error names the file
            parser.parse_known_args(yaml_tokens)
        except RecipeError as error:
            raise RecipeError(f"{config_path}: {error}") from None
    source = f"not in {config_path} nor on the command line" if config_path else "no --config was given"
    if required:
        namespace, _ = parser.parse_known_args(yaml_tokens + argv)
        missing = [name for name in required if getattr(namespace, name, None) in (None, "")]
        if missing:
            flags = ", ".join(f"--{name}" for name in missing)
            raise RecipeError(
                f"missing required field(s) {', '.join(missing)} ({source}); set them in the --config YAML "
                f"or as {flags}"
            )
    try:
        *parsed, remaining = parser.parse_args_into_dataclasses(
            args=yaml_tokens + argv, return_remaining_strings=True
        )
    except RecipeError:
        raise
    except ValueError as error:  # a config's __post_init__ rejected a value
        raise RecipeError(_one_line(str(error))) from error
    flags = [token for token in remaining if token.startswith("--")]
    if remaining:
        first = (flags or remaining)[0]
        raise RecipeError(f"unknown argument {first}{_nearest(first, ['--' + name for name in actions])}")
    return tuple(parsed)
