"""Run a registered pruner from a recipe: YAML + command-line overrides -> config -> pruned folder.

This is what ``hf-ext prune NAME [--config recipe.yaml] [--field value ...]`` calls, parsed exactly like
``hf-ext train``: the recipe may set any field of the pruner's config class (e.g.
:class:`~hf_ext.pruning.slimgpt.SlimGPTConfig`) and of :class:`PruneArguments` (model, output, data).
Flags take underscores or dashes (``--save_dir`` or ``--save-dir``); command-line flags win over the YAML.

Everything a user can get wrong is checked before the model is loaded: the output folder (never an input,
never a non-empty folder without ``--overwrite``), the checkpoint folder (never the output or inside it), the
model path, and the calibration and evaluation data (named sets, ``.txt`` or data files,
``hf-ext-testing:`` names; a path that does not exist is an error, never literal text).

Example:
    >>> from hf_ext.pruning.launch import prune_from_recipe
    >>> pruner = prune_from_recipe("slimgpt", ["--config", "hf_ext/recipes/slimgpt/tiny.yaml",
    ...                                        "--save_dir", "/tmp/hf-ext-doctest-slim"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_ext.config_parsing import parse_recipe
from hf_ext.errors import HFExtError
from hf_ext.inputs import (
    DATA_FILE_BUILDERS,
    check_data_file,
    explain_load_errors,
    hub_offline,
    local_model_path,
    looks_local,
    text_lines,
    unreachable_hub_error,
)
from hf_ext.outputs import check_output_dir
from hf_ext.pruning.calibration import NAMED_DATASETS, OFFLINE_TEXTS, offline_texts
from hf_ext.registry import get_pruner

REQUIRED_FIELDS = ("model", "save_dir")
DATA_FORMS = f"{', '.join(NAMED_DATASETS + OFFLINE_TEXTS)}, a .txt file (a text per line) or a data file"


@dataclass
class PruneArguments:
    """What ``hf-ext prune`` needs beside the pruner's config: where the model comes from, where it goes.

    Args:
        model: local folder, Hub id or ``hf-ext-testing:`` name (required).
        save_dir: output folder (required); never the model's folder, inside it or around it.
        overwrite: replace a non-empty ``save_dir`` (the new folder is written beside it and swapped in).
        calibration_dataset: ``c4``, ``c4-new``, ``wikitext2`` (Hub), ``hf-ext-testing:prose`` (offline),
            a ``.txt`` file (a text per line) or a ``.jsonl``/``.json``/``.csv``/``.parquet`` file with a
            ``text`` column.
        eval_dataset: texts for perplexity before/after, in the same forms (named sets use their held-out
            split: wikitext2's test split, c4's first validation shard).
        checkpoint_dir: per-layer checkpoints (not ``save_dir`` nor inside it); a rerun resumes from them.
        keep_checkpoints: keep ``checkpoint_dir``'s files after a successful run (removed by default).
        dtype: torch dtype the model is loaded in.
        remote_code: also save the modeling code and an ``auto_map``, so people without hf-ext load the
            folder with ``trust_remote_code=True`` (off by default: plain ``AutoTokenizer`` then loads the
            tokenizer without a remote-code prompt).
        push_to_hub: upload the saved folder to this Hub repo id.
        private: create the Hub repo as private.
    """

    model: str | None = field(default=None, metadata={"help": "local folder, Hub id or hf-ext-testing: name"})
    save_dir: str | None = field(default=None, metadata={"help": "output folder (never the model's folder)"})
    overwrite: bool = field(default=False, metadata={"help": "replace a non-empty --save-dir"})
    calibration_dataset: str = field(default="c4", metadata={"help": f"calibration texts: {DATA_FORMS}"})
    eval_dataset: str | None = field(
        default=None, metadata={"help": "texts for perplexity before/after (same forms)"}
    )
    checkpoint_dir: str | None = field(
        default=None, metadata={"help": "per-layer checkpoints; rerunning resumes from them"}
    )
    keep_checkpoints: bool = field(
        default=False, metadata={"help": "keep --checkpoint-dir's files after a successful run"}
    )
    dtype: str = field(
        default="float32", metadata={"help": "dtype to load the model in (float32, bfloat16...)"}
    )
    remote_code: bool = field(
        default=False,
        metadata={
            "help": "also save modeling code + auto_map for trust_remote_code=True users without hf-ext"
        },
    )
    push_to_hub: str | None = field(
        default=None, metadata={"help": "upload the saved folder to this Hub repo"}
    )
    private: bool = field(default=False, metadata={"help": "create the Hub repo as private"})


def _hub_texts(name: str, flag: str) -> list[str]:
    """Held-out texts of a named Hub set (wikitext2's test split, c4's first validation shard)."""
    from datasets import load_dataset

    try:
        if name == "wikitext2":
            rows = load_dataset("wikitext", "wikitext-2-raw-v1", split="test")
        else:
            shard = "en/c4-validation.00000-of-00008.json.gz"
            rows = load_dataset("allenai/c4", data_files={"validation": shard}, split="validation")
    except (OSError, ConnectionError) as error:
        raise unreachable_hub_error(name, flag, "a .txt file or hf-ext-testing:prose-heldout") from error
    return [text for text in rows["text"][:2000] if text.strip()]


def _file_texts(path: Path, flag: str) -> list[str]:
    if path.suffix.lower() == ".txt":
        return text_lines(path, flag)
    if path.suffix.lower() not in DATA_FILE_BUILDERS:
        raise HFExtError(f"{path}: unsupported file type {path.suffix!r}; use .txt or a data file ({flag})")
    check_data_file(path)
    from datasets import load_dataset

    rows = load_dataset(DATA_FILE_BUILDERS[path.suffix.lower()], data_files=str(path), split="train")
    if "text" not in rows.column_names:
        raise HFExtError(f"{path}: no 'text' column ({flag}); its columns are {', '.join(rows.column_names)}")
    texts = [text for text in rows["text"] if isinstance(text, str) and text.strip()]
    if not texts:
        raise HFExtError(f"{path}: the 'text' column is empty ({flag})")
    return texts


def resolve_texts(reference: str, flag: str, *, held_out: bool) -> str | list[str]:
    """A calibration or evaluation set: a named Hub set stays its name for calibration (optimum's loader
    picks the windows) and becomes held-out texts for evaluation; files and offline names become texts."""
    if reference in OFFLINE_TEXTS:
        return offline_texts(reference)
    if reference in NAMED_DATASETS:
        if hub_offline():
            raise unreachable_hub_error(reference, flag, "a .txt file or hf-ext-testing:prose")
        return _hub_texts(reference, flag) if held_out else reference
    path = Path(reference).expanduser()
    if path.is_file():
        return _file_texts(path, flag)
    if path.exists():
        raise HFExtError(f"{reference} is a folder; give a .txt or data file ({flag})")
    if looks_local(reference) or " " in reference:
        raise HFExtError(f"no file at {reference} ({flag}); use {DATA_FORMS}")
    raise HFExtError(f"unknown dataset {reference!r} ({flag}); use {DATA_FORMS}")


def _check_checkpoint_dir(checkpoint_dir: str | None, save_dir: Path) -> None:
    if checkpoint_dir is None:
        return
    real_checkpoint = Path(os.path.realpath(Path(checkpoint_dir).expanduser()))
    real_save = Path(os.path.realpath(save_dir))
    if real_checkpoint == real_save or real_checkpoint.is_relative_to(real_save):
        raise HFExtError(f"--checkpoint-dir {checkpoint_dir} may not be the --save-dir or inside it")
    if real_save.is_relative_to(real_checkpoint):
        raise HFExtError(f"--save-dir {save_dir} may not be inside --checkpoint-dir {checkpoint_dir}")


def parse_prune_recipe(name: str, argv: list[str]) -> tuple[Any, PruneArguments]:
    """The pruner's config and the :class:`PruneArguments` from ``--config FILE`` and flags."""
    entry = get_pruner(name)
    config, arguments = parse_recipe(
        [entry.config_cls, PruneArguments], argv, prog=f"hf-ext prune {name}", required=REQUIRED_FIELDS
    )
    return config, arguments


def prune_from_recipe(name: str, argv: list[str]):
    """Check every input and the output folder, load, prune, save (staged); return the pruner."""
    import torch

    entry = get_pruner(name)
    config, arguments = parse_prune_recipe(name, argv)
    model_path = local_model_path(arguments.model, "--model")
    data_files = [arguments.calibration_dataset, arguments.eval_dataset]
    inputs = [model_path, arguments.checkpoint_dir, *[f for f in data_files if f and Path(f).exists()]]
    save_dir = check_output_dir(
        arguments.save_dir, inputs=inputs, overwrite=arguments.overwrite, flag="--save-dir"
    )
    _check_checkpoint_dir(arguments.checkpoint_dir, save_dir)
    dtype = getattr(torch, arguments.dtype, None)
    if not isinstance(dtype, torch.dtype):
        raise HFExtError(f"--dtype: unknown torch dtype {arguments.dtype!r}")
    calibration = resolve_texts(arguments.calibration_dataset, "--calibration-dataset", held_out=False)
    eval_texts = None
    if arguments.eval_dataset:
        eval_texts = resolve_texts(arguments.eval_dataset, "--eval-dataset", held_out=True)
    with explain_load_errors(model_path, "--model"):
        pruner = entry.pruner_cls.from_pretrained(model_path, config=config, dtype=dtype)
    pruner.prune(
        calibration,
        save_dir=save_dir,
        checkpoint_dir=arguments.checkpoint_dir,
        eval_texts=eval_texts,
        overwrite=arguments.overwrite,
        keep_checkpoints=arguments.keep_checkpoints,
        remote_code=arguments.remote_code,
    )
    return pruner, arguments
