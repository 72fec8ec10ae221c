"""Configuration of :class:`~hf_ext.trainers.adaptive_dpo_trainer.AdaptiveDPOTrainer`: TRL's ``DPOConfig``
plus the adaptive-scaling fields of :class:`~hf_ext.trainers.adaptive_scaling.AdaptiveScalingArguments`.

Example:
    >>> from hf_ext.trainers.adaptive_dpo_config import AdaptiveDPOConfig
    >>> config = AdaptiveDPOConfig(output_dir="/tmp/hf-ext-ada-dpo", rho=0.05, tau_max=4.0, use_cpu=True)
    >>> config.rho, config.tau_min, config.tau_max, config.tau_solver, config.loss_type
    (0.05, 0.1, 4.0, 'exact', ['sigmoid'])
    >>> AdaptiveDPOConfig(output_dir="/tmp/x", rho=0.9, use_cpu=True)
    Traceback (most recent call last):
    ...
    ValueError: rho must lie in (0, log 2 = 0.693147) for the linear regulariser, got 0.9
"""

from __future__ import annotations

from dataclasses import dataclass

from trl import DPOConfig

from hf_ext.trainers.adaptive_scaling import AdaptiveScalingArguments

# DPO loss types whose per-pair term is TRL's -logsigmoid(beta * delta): these become adaptive. "sft" may be
# added beside them (it calls no logsigmoid); other loss types are not Bradley-Terry losses.
ADAPTIVE_LOSS_TYPES = ("sigmoid", "sigmoid_norm")
COMPATIBLE_LOSS_TYPES = (*ADAPTIVE_LOSS_TYPES, "sft")


@dataclass
class AdaptiveDPOConfig(AdaptiveScalingArguments, DPOConfig):
    """``DPOConfig`` for Ada-DPO. Every ``DPOConfig`` field keeps its meaning; added are ``rho``,
    ``tau_min``, ``tau_max``, ``tau_solver``, ``tau_newton_steps``, ``tau_regularizer``, ``tau_history_size``
    and ``tau_plots`` (the official recipe's defaults, in the code convention where tau scales
    ``z = beta * h``), documented (defaults, ranges, meaning) in
    :class:`~hf_ext.trainers.adaptive_scaling.AdaptiveScalingArguments`.

    ``loss_type`` must be among ``"sigmoid"`` and ``"sigmoid_norm"`` (optionally with ``"sft"``), and
    ``f_divergence_type`` must not be ``"js_divergence"``: those are the settings in which TRL's per-pair
    loss is a Bradley-Terry ``-log sigmoid(z)`` that adaptive scaling replaces.
    """

    def __post_init__(self):
        self.validate_adaptive_scaling()
        super().__post_init__()
        validate_adaptive_dpo_losses(self)


def validate_adaptive_dpo_losses(config: DPOConfig) -> None:
    """Raise ``ValueError`` unless ``config``'s DPO loss is one adaptive scaling can replace (see above)."""
    loss_types = list(config.loss_type)
    if not set(loss_types) <= set(COMPATIBLE_LOSS_TYPES) or not set(loss_types) & set(ADAPTIVE_LOSS_TYPES):
        raise ValueError(
            f"loss_type must contain {' or '.join(ADAPTIVE_LOSS_TYPES)} and nothing but "
            f"{list(COMPATIBLE_LOSS_TYPES)} for adaptive scaling, got {loss_types}"
        )
    if config.f_divergence_type == "js_divergence":
        raise ValueError("f_divergence_type 'js_divergence' is not supported by adaptive scaling")
