"""Configuration of :class:`~hf_ext.trainers.adaptive_reward_trainer.AdaptiveRewardTrainer`: TRL's
``RewardConfig`` plus the adaptive-scaling fields of
:class:`~hf_ext.trainers.adaptive_scaling.AdaptiveScalingArguments`.

Example:
    >>> from hf_ext.trainers.adaptive_reward_config import AdaptiveRewardConfig
    >>> config = AdaptiveRewardConfig(output_dir="/tmp/hf-ext-ada-rm", tau_max=3.0, use_cpu=True)
    >>> config.rho, config.tau_min, config.tau_max, config.tau_regularizer
    (0.1, 0.1, 3.0, 'linear')
    >>> AdaptiveRewardConfig(output_dir="/tmp/x", tau_min=0.0, use_cpu=True)
    Traceback (most recent call last):
    ...
    ValueError: tau_min must be > 0, got 0.0
"""

from __future__ import annotations

from dataclasses import dataclass

from trl import RewardConfig

from hf_ext.trainers.adaptive_scaling import AdaptiveScalingArguments


@dataclass
class AdaptiveRewardConfig(AdaptiveScalingArguments, RewardConfig):
    """``RewardConfig`` for Ada-Pref reward learning, with z = r(chosen) - r(rejected) (minus the row's
    ``margin`` when the dataset has one). Every ``RewardConfig`` field keeps its meaning; added are
    the adaptive-scaling fields ``rho``, ``tau_min``, ``tau_max``, ``tau_solver``, ``tau_newton_steps``,
    ``tau_regularizer``, ``tau_history_size`` and ``tau_plots``, documented (defaults, ranges, meaning) in
    :class:`~hf_ext.trainers.adaptive_scaling.AdaptiveScalingArguments`.
    """

    def __post_init__(self):
        self.validate_adaptive_scaling()
        super().__post_init__()
