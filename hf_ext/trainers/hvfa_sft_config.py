"""Configuration of :class:`~hf_ext.trainers.hvfa_sft_trainer.HVFASFTTrainer`: TRL's ``SFTConfig`` plus the
weight of HVFA's reconstruction loss.

Example:
    >>> from hf_ext.trainers.hvfa_sft_config import HVFASFTConfig
    >>> config = HVFASFTConfig(output_dir="/tmp/hf-ext-hvfa", reconstruction_weight=0.1, use_cpu=True)
    >>> config.reconstruction_weight, config.lora_language_model_only
    (0.1, True)
    >>> HVFASFTConfig(output_dir="/tmp/x", reconstruction_weight=-1.0, use_cpu=True)
    Traceback (most recent call last):
    ...
    hf_ext.errors.HFExtError: HVFASFTConfig.reconstruction_weight must be >= 0, got -1.0
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import SFTConfig

from hf_ext.errors import HFExtError


@dataclass
class HVFASFTConfig(SFTConfig):
    """``SFTConfig`` for HVFA models. Every ``SFTConfig`` field keeps its meaning; added:

    Parameters:
        reconstruction_weight (`float` or `None`, defaults to `None`): lambda, the weight of the
            reconstruction loss added to the language-model loss; `None` takes the model config's.
        lora_language_model_only (`bool`, defaults to `True`): restrict a LoRA config's `target_modules`
            (names) to the language model and add the HVFA module to `modules_to_save` (trained in full).
    """

    reconstruction_weight: float | None = field(
        default=None, metadata={"help": "Weight of HVFA's reconstruction loss (None: the model config's)."}
    )
    lora_language_model_only: bool = field(
        default=True, metadata={"help": "LoRA on the language model only; the HVFA module trained in full."}
    )

    def __post_init__(self):
        if self.reconstruction_weight is not None and self.reconstruction_weight < 0:
            raise HFExtError(
                f"HVFASFTConfig.reconstruction_weight must be >= 0, got {self.reconstruction_weight}"
            )
        super().__post_init__()
