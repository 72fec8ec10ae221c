"""Build and run a registered trainer from a recipe: YAML + command-line overrides -> config -> trainer.

This is what ``hf-ext train NAME --config recipe.yaml [--field value ...]`` calls. The recipe may set any
field of the trainer's config class (e.g. ``DPOConfig``), of TRL's ``ScriptArguments`` (dataset) and
``ModelConfig`` (model, LoRA), and of :class:`LaunchArguments`. Model and dataset names may be Hub ids, local
paths, data files, or offline ``hf-ext-testing:`` names (see :mod:`hf_ext.names`).

Example:
    >>> from hf_ext.trainers.launch import train_from_recipe
    >>> trainer = train_from_recipe("dpo", ["--config", "recipes/dpo/tiny.yaml", "--max_steps", "1",
    ...                                     "--output_dir", "/tmp/hf-ext-doctest-dpo"])  # doctest: +SKIP
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hf_ext.config_parsing import parse_recipe
from hf_ext.errors import HFExtError
from hf_ext.inputs import (
    DATA_FILE_BUILDERS,
    check_data_file,
    data_files_in,
    explain_load_errors,
    hub_offline,
    local_model_path,
    looks_local,
    unreachable_hub_error,
)
from hf_ext.names import is_provided_name, provided_dataset
from hf_ext.outputs import check_output_dir
from hf_ext.registry import Entry, get_trainer
from hf_ext.trainers.safe_saving import check_resume_state, pickle_free, replace_pickled_training_args
from hf_ext.utils import import_object

REQUIRED_FIELDS = ("model_name_or_path", "dataset_name")
OVERWRITE_STAGING = (
    ".{name}.hf-ext-overwrite"  # where an --overwrite_output_dir run trains, beside output_dir
)


@dataclass
class LaunchArguments:
    """hf-ext's own recipe fields, beside the trainer config, ``ScriptArguments`` and ``ModelConfig``."""

    reward_funcs: list[str] | None = field(
        default=None,
        metadata={"help": "Reward functions for online trainers, as 'module:function' names."},
    )
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N training rows (quick runs; N >= 1)."}
    )
    overwrite_output_dir: bool = field(
        default=False,
        metadata={
            "help": "Replace an output_dir that holds a previous run (the new run is written beside it and "
            "swapped in at the end)."
        },
    )
    resume_with_fresh_state: bool = field(
        default=False,
        metadata={
            "help": "Resume from a checkpoint that lacks optimizer/scheduler/RNG state, continuing with "
            "fresh state (logged as a warning); without it such a checkpoint is refused."
        },
    )

    def __post_init__(self) -> None:
        if self.max_train_samples is not None and self.max_train_samples < 1:
            raise HFExtError(f"max_train_samples must be >= 1, got {self.max_train_samples}")


def _dataset_from_folder(path: Path, script_args) -> Any:
    from datasets import Dataset, DatasetDict, load_dataset, load_from_disk

    if (path / "dataset_dict.json").is_file() or (path / "state.json").is_file():
        data = load_from_disk(str(path))
        # a save_to_disk Dataset (not a DatasetDict) is the train split
        return DatasetDict({script_args.dataset_train_split: data}) if isinstance(data, Dataset) else data
    files = data_files_in(path)
    if not files:
        raise HFExtError(
            f"dataset_name {path}: a folder that is not a dataset (no dataset_dict.json or state.json from "
            f"save_to_disk, and no {'/'.join(sorted(DATA_FILE_BUILDERS))} files)"
        )
    for file in files:
        check_data_file(file)
    return load_dataset(str(path))


def load_recipe_dataset(script_args) -> tuple[Any, Any]:
    """(train, eval) datasets for ``script_args.dataset_name``: testing name, data file, folder or Hub id."""
    from datasets import DatasetDict, load_dataset

    name = script_args.dataset_name
    if not name:
        raise HFExtError(
            "the recipe must set 'dataset_name' (a Hub id, a local file or folder, or an hf-ext-testing: "
            "name)"
        )
    path = Path(name).expanduser()
    if is_provided_name(name):
        data = provided_dataset(name)
    elif path.is_file():
        check_data_file(path)
        data = load_dataset(DATA_FILE_BUILDERS[path.suffix.lower()], data_files=str(path))
    elif path.is_dir():
        data = _dataset_from_folder(path, script_args)
    elif looks_local(name):
        raise HFExtError(f"no dataset file or folder at {name} (dataset_name)")
    else:
        try:
            data = load_dataset(name, script_args.dataset_config, streaming=script_args.dataset_streaming)
        except (OSError, ConnectionError) as error:  # datasets' DatasetNotFoundError is a FileNotFoundError
            if hub_offline() or "connect" in str(error).lower():
                raise unreachable_hub_error(name, "dataset_name", "a local file or folder") from error
            raise HFExtError(f"dataset_name {name}: {str(error).splitlines()[0]}") from error
    if not isinstance(data, DatasetDict | dict) or script_args.dataset_train_split not in data:
        splits = list(data) if isinstance(data, DatasetDict | dict) else []
        raise HFExtError(
            f"dataset {name!r} has no split {script_args.dataset_train_split!r} "
            f"(dataset_train_split); it has {splits}"
        )
    train = data[script_args.dataset_train_split]
    if hasattr(train, "__len__") and len(train) == 0:
        raise HFExtError(f"dataset {name!r}: split {script_args.dataset_train_split!r} has no rows")
    return train, data.get(script_args.dataset_test_split)


def check_dataset_columns(entry: Entry, dataset: Any, split: str, name: str) -> None:
    """Refuse a dataset that lacks the columns the trainer reads: ``chosen``/``rejected`` for preference
    trainers, ``prompt`` for online ones (tokenized ``*_ids`` columns count too), before any model loads."""
    columns = getattr(dataset, "column_names", None)
    if dataset is None or not columns:
        return
    default = ("prompt",) if entry.option("needs_reward_funcs", False) else ("chosen", "rejected")
    for column in entry.option("dataset_columns", default):
        if column not in columns and f"{column}_ids" not in columns:
            raise HFExtError(
                f"dataset {name}: the {split} split has no {column!r} column, which trainer {entry.name!r} "
                f"needs; its columns are {', '.join(columns)}"
            )


def load_recipe_model(entry: Entry, model_args, trust_remote_code: bool = False):
    """Model and tokenizer for ``model_args.model_name_or_path`` with the Auto class of the entry's kind.

    ``trust_remote_code`` stays False unless the recipe's trainer config sets it (TRL keeps it there)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification, AutoTokenizer

    if not model_args.model_name_or_path:
        raise HFExtError("the recipe must set 'model_name_or_path'")
    path = local_model_path(model_args.model_name_or_path, "model_name_or_path")
    dtype = model_args.dtype if model_args.dtype in (None, "auto") else getattr(torch, model_args.dtype)
    load_kwargs = {
        "revision": model_args.model_revision,
        "dtype": dtype,
        "trust_remote_code": trust_remote_code,
        "attn_implementation": model_args.attn_implementation,
    }
    with explain_load_errors(path, "model_name_or_path"):
        if entry.option("model_kind", "causal-lm") == "image-text-to-text":  # a processor, not a tokenizer
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


def resolve_reward_func(name: str, where: str = "reward_funcs"):
    """A recipe's reward: a local folder (a reward model) or a Hub id stays the string the trainer loads;
    ``"module:function"`` is imported. Errors say what was tried: local path, module, attribute, Hub id."""
    if Path(name).expanduser().exists():
        return name
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            function = import_object(name)
        except ModuleNotFoundError as error:
            raise HFExtError(
                f"{where} {name!r}: not a local path, and module {module_name!r} cannot be imported "
                f"({error.name!r} not found; is it on PYTHONPATH?)"
            ) from None
        except ImportError as error:
            raise HFExtError(
                f"{where} {name!r}: module {module_name!r} has no attribute {attribute!r}"
            ) from (error)
        if not callable(function):
            raise HFExtError(f"{where} {name!r}: {attribute!r} is not a function")
        return function
    tried = f"{where} {name!r}: not a local path, not 'module:function' (no colon)"
    if looks_local(name):
        raise HFExtError(f"{tried}, and no reward model folder at {name}")
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    try:
        validate_repo_id(name)
    except HFValidationError:
        hint = f"; did you mean {name.rpartition('.')[0]}:{name.rpartition('.')[2]}?" if "." in name else ""
        raise HFExtError(f"{tried}, and not a valid Hub id{hint}") from None
    from hf_ext.inputs import _is_cached

    if hub_offline() and not _is_cached(name, "config.json"):
        dotted = "." in name and "/" not in name
        hint = f" (did you mean {name.rpartition('.')[0]}:{name.rpartition('.')[2]}?)" if dotted else ""
        raise HFExtError(f"{tried}, and as a Hub id: cannot reach the Hub, HF_HUB_OFFLINE is set{hint}")
    return name


def check_train_output_dir(config, model_args, script_args, launch_args: LaunchArguments) -> Path:
    """The output-folder policy for training, before anything is loaded: never an input (model, dataset,
    reward model, a checkpoint outside it); a folder holding a previous run only with
    ``resume_from_checkpoint`` or ``overwrite_output_dir``."""
    output = Path(config.output_dir).expanduser()
    resume = config.resume_from_checkpoint
    inputs = [model_args.model_name_or_path, script_args.dataset_name, *(launch_args.reward_funcs or [])]
    if resume and not Path(os.path.realpath(resume)).is_relative_to(os.path.realpath(output)):
        inputs.append(resume)
    check_output_dir(
        output,
        inputs=[item for item in inputs if item and Path(item).expanduser().exists()],
        overwrite=bool(resume) or launch_args.overwrite_output_dir,
        flag="output_dir",
        hint="it holds a previous run: pass --resume_from_checkpoint CHECKPOINT to continue it, or "
        "--overwrite_output_dir true to replace it",
    )
    if resume:
        check_resume_state(
            resume, world_size=config.world_size, allow_fresh_state=launch_args.resume_with_fresh_state
        )
    return output


def construct_trainer(
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
            raise HFExtError(
                f"trainer {entry.name!r} needs 'reward_funcs' ('module:function' names or reward model paths)"
            )
        kwargs["reward_funcs"] = [
            resolve_reward_func(name, f"reward_funcs[{i}]") for i, name in enumerate(launch_args.reward_funcs)
        ]
    return pickle_free(entry.trainer_cls)(**kwargs)


def build_from_recipe(name: str, argv: list[str]):
    """Parse the recipe for trainer ``name`` and return the constructed (not yet trained) trainer.

    Everything a user can get wrong is checked before the model is loaded, in this order: the recipe's
    fields, the output folder (:func:`check_train_output_dir`), the resume checkpoint, the reward functions,
    the dataset and its columns, then the model path."""
    from trl import ModelConfig, ScriptArguments
    from trl.trainer.utils import get_peft_config

    entry = get_trainer(name)
    config, script_args, model_args, launch_args = parse_recipe(
        [entry.config_cls, ScriptArguments, ModelConfig, LaunchArguments],
        argv,
        prog=f"hf-ext train {name}",
        required=REQUIRED_FIELDS,
    )
    output = check_train_output_dir(config, model_args, script_args, launch_args)
    if entry.option("needs_reward_funcs", False) and launch_args.reward_funcs:
        for i, reward in enumerate(launch_args.reward_funcs):
            resolve_reward_func(reward, f"reward_funcs[{i}]")
    if model_args.model_name_or_path:
        local_model_path(model_args.model_name_or_path, "model_name_or_path")
    loader = entry.options.get("dataset_loader")  # "module:function" for trainers that read other data
    train_dataset, eval_dataset = (import_object(loader) if loader else load_recipe_dataset)(script_args)
    if not loader:  # a trainer's own loader (tree-dpo reads trees) checks its data itself
        name = script_args.dataset_name
        check_dataset_columns(entry, train_dataset, script_args.dataset_train_split, name)
        if config.eval_strategy != "no":
            check_dataset_columns(entry, eval_dataset, script_args.dataset_test_split, name)
    if launch_args.max_train_samples is not None:
        train_dataset = train_dataset.select(range(min(launch_args.max_train_samples, len(train_dataset))))
    model, tokenizer = load_recipe_model(entry, model_args, getattr(config, "trust_remote_code", False))
    final_output = None
    if launch_args.overwrite_output_dir and not config.resume_from_checkpoint and _non_empty(output):
        final_output = str(output)
        if config.push_to_hub and not config.hub_model_id:
            config.hub_model_id = output.resolve().name  # the Trainer would name the repo after the staging
        config.output_dir = str(output.parent / OVERWRITE_STAGING.format(name=output.name))
        if config.process_index == 0:
            shutil.rmtree(config.output_dir, ignore_errors=True)  # left by an interrupted earlier run
    trainer = construct_trainer(
        entry,
        args=config,
        model=model,
        tokenizer=tokenizer,
        train_dataset=train_dataset,
        eval_dataset=eval_dataset if config.eval_strategy != "no" else None,
        peft_config=get_peft_config(model_args),
        launch_args=launch_args,
    )
    trainer.resume_with_fresh_state = launch_args.resume_with_fresh_state
    trainer.hf_ext_final_output_dir = final_output
    return trainer


def _non_empty(folder: Path) -> bool:
    return folder.is_dir() and any(folder.iterdir())


def save_final_model(trainer, output_dir: str | Path) -> None:
    """``trainer.save_model`` without pickle (see :mod:`hf_ext.trainers.safe_saving`)."""
    trainer.save_model(str(output_dir))
    replace_pickled_training_args(trainer, output_dir)


def _swap_in(trainer, staging: str, final: str) -> None:
    """After an ``overwrite_output_dir`` run: the new run replaces the old folder (main process only)."""
    trainer.accelerator.wait_for_everyone()
    if trainer.is_world_process_zero():
        retired = Path(final).parent / f".{Path(final).name}.hf-ext-retired"
        shutil.rmtree(retired, ignore_errors=True)
        os.replace(final, retired)
        os.replace(staging, final)
        shutil.rmtree(retired, ignore_errors=True)
    trainer.accelerator.wait_for_everyone()
    trainer.args.output_dir = final


def train_from_recipe(name: str, argv: list[str]):
    """Build, train and save (model + tokenizer in ``output_dir``); return the trainer.

    With ``overwrite_output_dir`` and an ``output_dir`` holding a previous run, the run writes into a
    sibling folder that replaces ``output_dir`` only once the final model is saved."""
    trainer = build_from_recipe(name, argv)
    trainer.train(resume_from_checkpoint=trainer.args.resume_from_checkpoint)
    save_final_model(trainer, trainer.args.output_dir)
    if trainer.hf_ext_final_output_dir:
        _swap_in(trainer, trainer.args.output_dir, trainer.hf_ext_final_output_dir)
    return trainer
