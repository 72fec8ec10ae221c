"""Saving trainers without pickle: JSON training arguments, and resume state as safetensors + JSON.

``transformers.Trainer`` pickles three kinds of files: ``training_args.bin`` beside the weights, and in each
checkpoint the resume state (``optimizer.pt``, ``scheduler.pt``, ``scaler.pt``, ``rng_state.pth``, all
``torch.save``). :class:`PickleFreeTrainerMixin` writes ``training_args.json`` instead of the first, and
each resume state as a pair ``<name>.safetensors`` (its tensors) + ``<name>.json`` (everything else, with
references to the tensors), which it reads back on ``resume_from_checkpoint``. Pushes during training
(``hub_strategy``) upload the same files, without the ``training_args.bin`` that the Trainer's own push
writes. Checkpoints written by a plain Trainer still resume (the Trainer's own loaders run when the hf-ext
files are absent). DeepSpeed, FSDP, XLA and SageMaker checkpoints are left to the Trainer: their engines
write their own files.

Example:
    >>> import torch
    >>> from tempfile import mkdtemp
    >>> from hf_ext.trainers.safe_saving import load_state, save_state
    >>> folder = mkdtemp()
    >>> state = {"step": 3, "state": {0: {"exp_avg": torch.ones(2)}}, "betas": (0.9, 0.999)}
    >>> save_state(state, folder, "optimizer")
    >>> load_state(folder, "optimizer")
    {'step': 3, 'state': {0: {'exp_avg': tensor([1., 1.])}}, 'betas': (0.9, 0.999)}
"""

from __future__ import annotations

import functools
import json
import logging
import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from hf_ext.errors import HFExtError

FORMAT = "hf-ext-state/1"
logger = logging.getLogger(__name__)


def write_training_args(args, folder: str | Path) -> Path:
    """Write ``args`` (a ``TrainingArguments``) as ``folder/training_args.json``, the pickle-free copy."""
    path = Path(folder) / "training_args.json"
    path.write_text(args.to_json_string(), encoding="utf-8")
    return path


def replace_pickled_training_args(trainer, folder: str | Path) -> None:
    """On the main process, swap ``folder/training_args.bin`` for ``folder/training_args.json``."""
    folder = Path(folder)
    if trainer.is_world_process_zero() and folder.is_dir():
        (folder / "training_args.bin").unlink(missing_ok=True)
        write_training_args(trainer.args, folder)


# --- a state dict as JSON + safetensors ----------------------------------------------------------------
# JSON holds dicts as lists of [key, value] pairs (optimizer states are keyed by int), tuples and arrays
# as tagged objects, and each tensor as a reference to its entry in the safetensors file.


def _encode(value: Any, where: str, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, torch.Tensor):
        key = str(len(tensors))
        tensors[key] = value.detach().cpu().contiguous().clone()  # clone: safetensors refuses shared storage
        return {"tensor": key}
    if isinstance(value, np.ndarray):
        return {"ndarray": _encode(torch.from_numpy(value.copy()), where, tensors)}
    if isinstance(value, dict):
        return {"dict": [[key, _encode(item, f"{where}[{key!r}]", tensors)] for key, item in value.items()]}
    if isinstance(value, tuple):
        return {"tuple": [_encode(item, f"{where}[{i}]", tensors) for i, item in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(item, f"{where}[{i}]", tensors) for i, item in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot save {where} without pickle: unsupported type {type(value).__name__}")


def _decode(value: Any, tensors: dict[str, torch.Tensor]) -> Any:
    if isinstance(value, list):
        return [_decode(item, tensors) for item in value]
    if not isinstance(value, dict):
        return value
    (tag, content), *_ = value.items()
    if tag == "tensor":
        return tensors[content]
    if tag == "ndarray":
        return _decode(content, tensors).numpy()
    if tag == "tuple":
        return tuple(_decode(item, tensors) for item in content)
    return {key: _decode(item, tensors) for key, item in content}


def save_state(state: Any, folder: str | Path, name: str) -> None:
    """Write ``state`` (dicts, lists, tuples, tensors, numpy arrays, numbers, strings, None) as
    ``folder/name.json`` + ``folder/name.safetensors``."""
    tensors: dict[str, torch.Tensor] = {}
    document = {"format": FORMAT, "state": _encode(state, name, tensors)}
    save_file(tensors, str(Path(folder, f"{name}.safetensors")))
    Path(folder, f"{name}.json").write_text(json.dumps(document), encoding="utf-8")


def has_state(folder: str | Path, name: str) -> bool:
    return Path(folder, f"{name}.json").is_file() and Path(folder, f"{name}.safetensors").is_file()


def load_state(folder: str | Path, name: str) -> Any:
    """What :func:`save_state` wrote; a clear error if the files are not that format."""
    path = Path(folder, f"{name}.json")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise ValueError(f"{path}: not valid JSON (line {error.lineno}: {error.msg})") from error
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f"{path}: field 'format' should be {FORMAT!r}")
    return _decode(document["state"], load_file(str(Path(folder, f"{name}.safetensors"))))


# --- what a checkpoint must hold to resume exactly ------------------------------------------------------

# Each piece of resume state, with the file sets that hold it (hf-ext's pair, or the Trainer's own file).
RESUME_STATE_FILES: dict[str, tuple[tuple[str, ...], ...]] = {
    "trainer state": (("trainer_state.json",),),
    "optimizer state": (("optimizer.json", "optimizer.safetensors"), ("optimizer.pt",), ("optimizer.bin",)),
    "scheduler state": (("scheduler.json", "scheduler.safetensors"), ("scheduler.pt",)),
}


def missing_resume_state(
    checkpoint: str | Path,
    world_size: int = 1,
    extra: dict[str, tuple[tuple[str, ...], ...]] | None = None,
) -> list[str]:
    """The pieces of resume state that ``checkpoint`` lacks, each as ``"what (file set or file set)"``."""
    folder = Path(checkpoint)
    wanted = dict(RESUME_STATE_FILES)
    for rank in range(world_size):
        stem = f"rng_state_{rank}" if world_size > 1 else "rng_state"
        label = f"RNG state of process {rank}" if world_size > 1 else "RNG state"
        wanted[label] = ((f"{stem}.json", f"{stem}.safetensors"), (f"{stem}.pth",))
    wanted.update(extra or {})
    missing = []
    for what, alternatives in wanted.items():
        if not any(all((folder / name).is_file() for name in files) for files in alternatives):
            missing.append(f"{what} ({' or '.join('+'.join(files) for files in alternatives)})")
    return missing


def check_resume_state(
    checkpoint: str | Path,
    *,
    world_size: int = 1,
    allow_fresh_state: bool = False,
    extra: dict[str, tuple[tuple[str, ...], ...]] | None = None,
) -> None:
    """Refuse to resume from a checkpoint that lacks optimizer, scheduler, RNG or trainer state (the run
    would silently continue with fresh state and diverge from an uninterrupted one); with
    ``allow_fresh_state`` log a warning instead."""
    folder = Path(checkpoint)
    if not folder.is_dir():
        raise HFExtError(f"no checkpoint folder at {checkpoint} (resume_from_checkpoint)")
    missing = missing_resume_state(folder, world_size, extra)
    if not missing:
        return
    listed = ", ".join(missing)
    if not allow_fresh_state:
        raise HFExtError(
            f"checkpoint {checkpoint} lacks {listed}; resuming would continue with fresh state. Resume from "
            "a complete checkpoint, or pass --resume_with_fresh_state true to accept fresh state"
        )
    logger.warning("resuming from %s WITHOUT %s: continuing with fresh state, as asked", checkpoint, listed)


# --- the Trainer hooks ---------------------------------------------------------------------------------


_RESUME_STATE = ("optimizer", "scheduler", "scaler", "rng_state", "trainer_state")


def _is_resume_state(file_name: str) -> bool:
    """The files of a checkpoint that only resuming reads (hf-ext's and the Trainer's)."""
    stem = file_name.split(".", 1)[0]
    return stem in _RESUME_STATE or stem.startswith("rng_state_")


def _rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "cpu": torch.random.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.random.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.random.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.random.set_rng_state_all(state["cuda"])


class PickleFreeTrainerMixin:
    """Put before a ``transformers.Trainer`` subclass: ``save_model`` leaves JSON training arguments only,
    and checkpoints hold the optimizer, scheduler, gradient scaler and RNG states as safetensors + JSON.

    Resuming from a checkpoint that lacks any of that state raises :class:`~hf_ext.errors.HFExtError`
    naming the missing files, unless ``resume_with_fresh_state`` is set on the trainer (then a warning is
    logged and the run continues with fresh state)."""

    resume_with_fresh_state: bool = False

    def _extra_resume_state(self) -> dict[str, tuple[tuple[str, ...], ...]]:
        """Resume state a subclass writes beyond the Trainer's (name -> alternative file sets)."""
        return {}

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        super().save_model(output_dir, _internal_call)
        replace_pickled_training_args(self, output_dir or self.args.output_dir)

    def _engine_saves_state(self) -> bool:
        """DeepSpeed, FSDP, XLA and SageMaker: the Trainer's (engine's) own files."""
        from transformers.trainer import is_sagemaker_mp_enabled, is_torch_xla_available

        return bool(
            self.is_deepspeed_enabled
            or self.is_fsdp_enabled
            or is_torch_xla_available()
            or is_sagemaker_mp_enabled()
        )

    def _rng_name(self) -> str:
        return f"rng_state_{self.args.process_index}" if self.args.world_size > 1 else "rng_state"

    def _save_optimizer_and_scheduler(self, output_dir: str) -> None:
        if self._engine_saves_state():
            return super()._save_optimizer_and_scheduler(output_dir)
        if self.args.should_save:
            save_state(self.optimizer.state_dict(), output_dir, "optimizer")
            save_state(self.lr_scheduler.state_dict(), output_dir, "scheduler")

    def _save_scaler(self, output_dir: str) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        if self._engine_saves_state() or scaler is None:
            return super()._save_scaler(output_dir)
        if self.args.should_save:
            save_state(scaler.state_dict(), output_dir, "scaler")

    def _save_rng_state(self, output_dir: str) -> None:
        if self._engine_saves_state():
            return super()._save_rng_state(output_dir)
        save_state(_rng_state(), output_dir, self._rng_name())

    def _push_from_checkpoint(self, checkpoint_folder: str) -> None:
        """The Trainer's push during training (``push_to_hub`` with a ``hub_strategy`` other than "end"),
        without its pickled ``training_args.bin``: the checkpoint's files except the resume state are copied
        to ``output_dir`` beside ``training_args.json``, and ``output_dir`` is uploaded in the background
        (plus the checkpoint itself for "checkpoint" and "all_checkpoints")."""
        import transformers.trainer as hf_trainer
        from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, HubStrategy

        args = self.args
        if not self.is_world_process_zero() or args.hub_strategy == HubStrategy.END:
            return
        if (
            not args.hub_always_push
            and self.push_in_progress is not None
            and not self.push_in_progress.is_done()
        ):
            return  # the previous push is still running
        self.callback_handler.on_push_begin(args, self.state, self.control)
        output_dir = Path(args.output_dir)
        for path in Path(checkpoint_folder).iterdir():
            if path.is_file() and not _is_resume_state(path.name):
                shutil.copy(path, output_dir / path.name)
        if self.processing_class is not None:
            self.processing_class.save_pretrained(output_dir)
        replace_pickled_training_args(self, output_dir)
        progress = (
            f"step {self.state.global_step}"
            if args.save_strategy == "steps"
            else f"epoch {int(self.state.epoch)}"
        )
        message = f"Training in progress, {progress}"
        upload = functools.partial(
            hf_trainer.hf_api().upload_folder,
            repo_id=self.hub_model_id,
            token=args.hub_token,
            run_as_future=True,
            revision=args.hub_revision,
        )
        jobs = [
            upload(
                folder_path=str(output_dir),
                commit_message=message,
                ignore_patterns=["_*", f"{PREFIX_CHECKPOINT_DIR}-*"],
            )
        ]
        if args.hub_strategy in (HubStrategy.CHECKPOINT, HubStrategy.ALL_CHECKPOINTS):
            where = (
                "last-checkpoint"
                if args.hub_strategy == HubStrategy.CHECKPOINT
                else Path(checkpoint_folder).name
            )
            jobs.append(
                upload(
                    folder_path=checkpoint_folder, path_in_repo=where, commit_message=f"{message}, checkpoint"
                )
            )
        if self.push_in_progress is None or self.push_in_progress.is_done():
            self.push_in_progress = hf_trainer.PushInProgress(jobs)
        else:
            self.push_in_progress.jobs.extend(jobs)

    def _load_optimizer_and_scheduler(self, checkpoint: str | None) -> None:
        if checkpoint is not None and not self._engine_saves_state():
            check_resume_state(
                checkpoint,
                world_size=self.args.world_size,
                allow_fresh_state=self.resume_with_fresh_state,
                extra=self._extra_resume_state(),
            )
        if checkpoint is None or self._engine_saves_state() or not has_state(checkpoint, "optimizer"):
            return super()._load_optimizer_and_scheduler(checkpoint)
        self.optimizer.load_state_dict(load_state(checkpoint, "optimizer"))
        if has_state(checkpoint, "scheduler"):
            self.lr_scheduler.load_state_dict(load_state(checkpoint, "scheduler"))

    def _load_scaler(self, checkpoint: str | None) -> None:
        scaler = getattr(self.accelerator, "scaler", None)
        if checkpoint is None or scaler is None or not has_state(checkpoint, "scaler"):
            return super()._load_scaler(checkpoint)
        scaler.load_state_dict(load_state(checkpoint, "scaler"))

    def _load_rng_state(self, checkpoint: str | None) -> None:
        if checkpoint is None or self._engine_saves_state() or not has_state(checkpoint, self._rng_name()):
            return super()._load_rng_state(checkpoint)
        _set_rng_state(load_state(checkpoint, self._rng_name()))


def pickle_free(trainer_cls: type) -> type:
    """``trainer_cls`` if it already saves without pickle, else a same-named subclass with
    :class:`PickleFreeTrainerMixin` (how ``hf-ext train`` runs TRL's own trainers)."""
    if issubclass(trainer_cls, PickleFreeTrainerMixin):
        return trainer_cls
    namespace = {"__module__": trainer_cls.__module__, "__doc__": trainer_cls.__doc__}
    return type(trainer_cls.__name__, (PickleFreeTrainerMixin, trainer_cls), namespace)
