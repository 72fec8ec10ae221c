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
    ``margin`` when the dataset has one). Every ``RewardConfig`` field keeps its meaning; added:

    Parameters:
        rho (`float`, defaults to `0.1`): KL budget rho0 per pair, in (0, log 2) (> 0 for quadratic).
        tau_min (`float`, defaults to `0.1`): lower bound on tau, > 0.
        tau_max (`float`, defaults to `5.0`): upper bound on tau, >= tau_min.
        tau_solver (`str`, defaults to `"exact"`): `"exact"` or `"newton"` (the paper's Algorithm 1).
        tau_newton_steps (`int`, defaults to `5`): steps for `"newton"`, >= 1.
        tau_regularizer (`str`, defaults to `"linear"`): `"linear"` (Ada-Pref) or `"quadratic"`
            (Ada-Pref-Quad).
        tau_history_size (`int`, defaults to `100000`): recent (step, z, tau) triples kept for the plots.
        tau_plots (`bool`, defaults to `True`): write tau plots and a CSV to `output_dir` after training.
    """

    def __post_init__(self):
        self.validate_adaptive_scaling()
        super().__post_init__()
