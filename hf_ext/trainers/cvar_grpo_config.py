"""Configuration of :class:`~hf_ext.trainers.cvar_grpo_trainer.CVaRGRPOTrainer`: TRL's GRPO trained on
the lower CVaR tail of each generation batch (the RA-RLHF soft-risk schedule, Chaudhary et al. 2024).

Example:
    >>> from hf_ext.trainers.cvar_grpo_config import CVaRGRPOConfig
    >>> config = CVaRGRPOConfig(output_dir="/tmp/cvar-grpo-doc", alpha=0.5, risk_warmup_steps=2, max_steps=10,
    ...                         use_cpu=True, bf16=False)
    >>> config.alpha, config.risk_reach_fraction
    (0.5, 0.95)
    >>> CVaRGRPOConfig(output_dir="/tmp/cvar-grpo-doc", risk_reach_fraction=1.5, use_cpu=True, bf16=False)
    Traceback (most recent call last):
    ...
    ValueError: reach_fraction must be in (0, 1], got 1.5
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trl import GRPOConfig

from hf_ext.objectives.risk import validate_risk_arguments


@dataclass
class CVaRGRPOConfig(GRPOConfig):
    r"""GRPO settings plus the risk schedule.

    Parameters:
        alpha (`float`, defaults to 1.0): target CVaR level in (0, 1]; 1.0 is plain GRPO.
        risk_warmup_steps (`int`, defaults to 0): optimiser steps with the whole batch before the level falls.
        risk_reach_fraction (`float`, defaults to 0.95): the level reaches ``alpha`` at step
            ``ceil(risk_reach_fraction * max_steps)``; in (0, 1].

    Completions are ranked by the weighted task reward (GRPO's rewards carry no KL term). The tail is chosen
    over the whole generation batch of all processes, across prompt groups; completions outside it get zero
    advantage and a zero completion mask, so they leave the loss and its token count. Group-normalised
    advantages are computed by TRL over the full groups before the tail is chosen. Use a token-normalised
    ``loss_type`` (``"dapo"``, the default, or ``"bnpo"``); ``"grpo"`` averages over rows, so dropped rows
    would shrink the loss.
    """

    alpha: float = field(default=1.0, metadata={"help": "Target CVaR level in (0, 1]; 1.0 is plain GRPO."})
    risk_warmup_steps: int = field(default=0, metadata={"help": "Risk-neutral steps before the level falls."})
    risk_reach_fraction: float = field(
        default=0.95, metadata={"help": "The level reaches alpha at ceil(fraction * max_steps); in (0, 1]."}
    )

    def __post_init__(self):
        validate_risk_arguments(self.alpha, self.risk_reach_fraction)
        if self.risk_warmup_steps < 0:
            raise ValueError(f"risk_warmup_steps must be >= 0, got {self.risk_warmup_steps!r}")
        super().__post_init__()
