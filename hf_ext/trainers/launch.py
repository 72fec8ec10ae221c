"""Build and run a registered trainer from a recipe: YAML + command-line overrides -> config -> trainer.

This is what ``hf-ext train NAME --config recipe.yaml [--field value ...]`` calls. The recipe may set any
field of the trainer's config class (e.g. ``DPOConfig``), of TRL's ``ScriptArguments`` (dataset) and
``ModelConfig`` (model, LoRA), and of :class:`LaunchArguments`. Model and dataset names may be Hub ids, local
paths, data files, or offline ``hf-ext-testing:`` names (see :mod:`hf_ext.testing.names`).

Example:
    >>> from hf_ext.trainers.launch import train_from_recipe
    >>> trainer = train_from_recipe("dpo", ["--config", "recipes/dpo/tiny.yaml", "--max_steps", "1",
    ...                                     "--output_dir", "/tmp/hf-ext-doctest-dpo"])  # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_ext.config_parsing import parse_recipe
from hf_ext.registry import Entry, get_trainer
from hf_ext.trainers.safe_saving import pickle_free, replace_pickled_training_args
from hf_ext.utils import import_object

DATA_FILE_BUILDERS = {".json": "json", ".jsonl": "json", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class LaunchArguments:
    """hf-ext's own recipe fields, beside the trainer config, ``ScriptArguments`` and ``ModelConfig``."""

    reward_funcs: list[str] | None = field(
        default=None,
        metadata={"help": "Reward functions for online trainers, as 'module:function' names."},
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N training rows (quick runs)."}
    )


def load_recipe_dataset(script_args) -> tuple[Any, Any]:
    """(train, eval) datasets for ``script_args.dataset_name``: testing name, data file, folder or Hub id."""
    from datasets import DatasetDict, load_dataset, load_from_disk

    from hf_ext.testing.names import is_testing_name, testing_dataset

    name = script_args.dataset_name
    if not name:
        raise ValueError(
            "the recipe must set 'dataset_name' (a Hub id, a local file or folder, or "
            "an hf-ext-testing: name)"
        )
    path = Path(name)
    if is_testing_name(name):
        data = testing_dataset(name)
    elif path.is_file():
        builder = DATA_FILE_BUILDERS.get(path.suffix)
        if builder is None:
            raise ValueError(
                f"dataset_name {name!r}: unsupported file type {path.suffix!r}; "
                f"use one of {sorted(DATA_FILE_BUILDERS)}"
            )
        data = load_dataset(builder, data_files=str(path))
    elif (path / "dataset_dict.json").exists() or (path / "dataset_info.json").exists():
        data = load_from_disk(str(path))
    else:
        data = load_dataset(name, script_args.dataset_config, streaming=script_args.dataset_streaming)
    if not isinstance(data, DatasetDict | dict) or script_args.dataset_train_split not in data:
        splits = list(data) if isinstance(data, DatasetDict | dict) else []
        raise ValueError(
            f"dataset {name!r} has no split {script_args.dataset_train_split!r} "
            f"(dataset_train_split); it has {splits}"
        )
    return data[script_args.dataset_train_split], data.get(script_args.dataset_test_split)


def load_recipe_model(entry: Entry, model_args, trust_remote_code: bool = False):
    """Model and tokenizer for ``model_args.model_name_or_path`` with the Auto class of the entry's kind.

    ``trust_remote_code`` stays False unless the recipe's trainer config sets it (TRL keeps it there)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    from hf_ext.testing.names import resolve_model_name

    if not model_args.model_name_or_path:
        raise ValueError("the recipe must set 'model_name_or_path'")
    path = resolve_model_name(model_args.model_name_or_path)
    dtype = model_args.dtype if model_args.dtype in (None, "auto") else getattr(torch, model_args.dtype)
    load_kwargs = {
        "revision": model_args.model_revision,
        "dtype": dtype,
        "trust_remote_code": trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
    }
    if entry.option("model_kind", "causal-lm") == "image-text-to-text":  # a processor instead of a tokenizer
        from transformers import AutoModelForImageTextToText, AutoProcessor

        processor = AutoProcessor.from_pretrained(
            path, revision=model_args.model_revision, trust_remote_code=trust_remote_code
        )
        return AutoModelForImageTextToText.from_pretrained(path, **load_kwargs), processor
    tokenizer = AutoTokenizer.from_pretrained(
        path, revision=model_args.model_revision, trust_remote_code=trust_remote_code
    )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if entry.option("model_kind", "causal-lm") == "sequence-classification":
        model = AutoModelForSequenceClassification.from_pretrained(path, num_labels=1, **load_kwargs)
        model.config.pad_token_id = tokenizer.pad_token_id
    else:
        model = AutoModelForCausalLM.from_pretrained(path, **load_kwargs)
    return model, tokenizer


def resolve_reward_func(name: str):
    """A recipe's reward: a local folder or a Hub id (a reward model, kept as the string the trainer loads)
    stays a string; ``"module:function"`` is imported."""
    if Path(name).exists() or ":" not in name:
        return name
    return import_object(name)


def default_builder(
    entry: Entry,
    *,
    args,
    model,
    tokenizer,
    train_dataset,
    eval_dataset,
    peft_config,
    launch_args: LaunchArguments,
):
    """Construct ``entry.trainer_cls`` with TRL's usual keywords (plus reward functions when needed)."""
    kwargs: dict[str, Any] = {
        "model": model,
        "args": args,
        "train_dataset": train_dataset,
        "eval_dataset": eval_dataset,
        "processing_class": tokenizer,
        "peft_config": peft_config,
    }
    if entry.option("needs_reward_funcs", False):
        if not launch_args.reward_funcs:
            raise ValueError(
                f"trainer {entry.name!r} needs 'reward_funcs' ('module:function' names or reward model paths)"
            )
        kwargs["reward_funcs"] = [resolve_reward_func(name) for name in launch_args.reward_funcs]
    return pickle_free(entry.trainer_cls)(**kwargs)


def build_from_recipe(name: str, argv: list[str]):
    """Parse the recipe for trainer ``name`` and return the constructed (not yet trained) trainer."""
    from trl import ModelConfig, ScriptArguments
    from trl.trainer.utils import get_peft_config

    entry = get_trainer(name)
    config, script_args, model_args, launch_args = parse_recipe(
        [entry.config_cls, ScriptArguments, ModelConfig, LaunchArguments], argv, prog=f"hf-ext train {name}"
    )
    train_dataset, eval_dataset = load_recipe_dataset(script_args)
    if launch_args.max_train_samples is not None:
        train_dataset = train_dataset.select(range(min(launch_args.max_train_samples, len(train_dataset))))
    model, tokenizer = load_recipe_model(entry, model_args, getattr(config, "trust_remote_code", False))
    builder = entry.option("builder") or default_builder
    return builder(
        entry,
        args=config,
        model=model,
        tokenizer=tokenizer,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset if config.eval_strategy != "no" else None,
        peft_config=get_peft_config(model_args),
        launch_args=launch_args,
    )


def save_final_model(trainer, output_dir: str | Path) -> None:
    """``trainer.save_model`` without pickle (see :mod:`hf_ext.trainers.safe_saving`)."""
    trainer.save_model(str(output_dir))
    replace_pickled_training_args(trainer, output_dir)


def train_from_recipe(name: str, argv: list[str]):
    """Build, train and save (model + tokenizer in ``output_dir``); return the trainer."""
    trainer = build_from_recipe(name, argv)
    trainer.train(resume_from_checkpoint=trainer.args.resume_from_checkpoint)
    save_final_model(trainer, trainer.args.output_dir)
    return trainer
