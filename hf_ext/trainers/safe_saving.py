"""Saving trained models without pickle.

``transformers.Trainer.save_model`` writes the training arguments as a pickled ``training_args.bin``
beside the safetensors weights. hf-ext replaces it with ``training_args.json`` in every folder it saves for
users (and so in everything ``push_to_hub`` uploads from those folders). Intermediate checkpoints written
for ``resume_from_checkpoint`` keep the Trainer's own files, which resuming needs.

Example:
    >>> from hf_ext.trainers.safe_saving import JsonTrainingArgsMixin
    >>> from trl import DPOTrainer
    >>> class MyDPOTrainer(JsonTrainingArgsMixin, DPOTrainer):   # save_model now writes JSON, no pickle
    ...     pass
"""

from __future__ import annotations

from pathlib import Path


def replace_pickled_training_args(trainer, folder: str | Path) -> None:
    """On the main process, swap ``folder/training_args.bin`` for ``folder/training_args.json``."""
    folder = Path(folder)
    if trainer.is_world_process_zero() and folder.is_dir():
        (folder / "training_args.bin").unlink(missing_ok=True)
        (folder / "training_args.json").write_text(trainer.args.to_json_string(), encoding="utf-8")


class JsonTrainingArgsMixin:
    """Put before a ``transformers.Trainer`` subclass: ``save_model`` leaves JSON training arguments only."""

    def save_model(self, output_dir: str | None = None, _internal_call: bool = False) -> None:
        super().save_model(output_dir, _internal_call)
        replace_pickled_training_args(self, output_dir or self.args.output_dir)
