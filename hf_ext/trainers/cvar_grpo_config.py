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

from hf_ext.objectives.risk import TAIL_TIES, validate_risk_arguments


@dataclass
class CVaRGRPOConfig(GRPOConfig):
    r"""GRPO settings plus the risk schedule.

    Parameters:
        alpha (`float`, defaults to 1.0): target CVaR level in (0, 1]; 1.0 is plain GRPO.
        risk_warmup_steps (`int`, defaults to 0): optimiser steps with the whole batch before the level falls.
        risk_reach_fraction (`float`, defaults to 0.95): the level reaches ``alpha`` at step
            ``ceil(risk_reach_fraction * max_steps)``; in (0, 1].

        tail_ties (`str`, defaults to "exact_count"): ``"exact_count"`` keeps exactly ``max(1, ceil(level *
            G))`` of the ``G`` prompt groups; ``"quantile"`` keeps every group whose mean reward is <= that
            quantile (the official RA-RLHF code's rule, applied to groups).

    The tail is chosen at the level of prompt groups: each group of ``num_generations`` completions is ranked
    by its mean weighted task reward (GRPO's rewards carry no KL term) over the whole generation batch of all
    processes, and the lowest-ranked groups are kept whole. Completions of the other groups get zero
    advantage and a zero completion mask, so they leave the loss and its token count. Keeping whole groups
    keeps TRL's group-relative advantages centred over what is trained on (for the default
    ``multi_objective_aggregation="sum_then_normalize"`` they sum to zero in every group): the update improves
    the responses to the hardest prompts instead of only pushing their worst completions down, which is
    what a completion-level tail of group-relative advantages does. Use a token-normalised ``loss_type``
    (``"dapo"``, the default, or ``"bnpo"``); ``"grpo"`` averages over rows, so dropped rows would shrink the
    loss.
    """

    alpha: float = field(default=1.0, metadata={"help": "Target CVaR level in (0, 1]; 1.0 is plain GRPO."})
    risk_warmup_steps: int = field(default=0, metadata={"help": "Risk-neutral steps before the level falls."})
    risk_reach_fraction: float = field(
        default=0.95, metadata={"help": "The level reaches alpha at ceil(fraction * max_steps); in (0, 1]."}
    )

    tail_ties: str = field(
        default="exact_count", metadata={"help": "'exact_count' (ceil(level * G) groups) or 'quantile'."}
    )

    def __post_init__(self):
        validate_risk_arguments(self.alpha, self.risk_reach_fraction)
        if self.tail_ties not in TAIL_TIES:
            raise ValueError(f"tail_ties must be one of {TAIL_TIES}, got {self.tail_ties!r}")
        if self.risk_warmup_steps < 0:
            raise ValueError(f"risk_warmup_steps must be >= 0, got {self.risk_warmup_steps!r}")
        super().__post_init__()
