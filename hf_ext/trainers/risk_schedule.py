"""The soft-risk schedule as both CVaR trainers read it from their config and training state.

Example:
    >>> from types import SimpleNamespace
    >>> from hf_ext.trainers.risk_schedule import SoftRiskScheduleMixin
    >>> trainer = SoftRiskScheduleMixin()
    >>> trainer.args = SimpleNamespace(alpha=0.4, risk_warmup_steps=2, risk_reach_fraction=1.0, max_steps=12)
    >>> trainer.state = SimpleNamespace(global_step=7, max_steps=0)
    >>> round(trainer.risk_level(), 3)
    0.7
"""

from __future__ import annotations

from hf_ext.objectives.risk import soft_risk_level


class SoftRiskScheduleMixin:
    """``risk_level()`` for a Trainer whose args carry ``alpha``, ``risk_warmup_steps`` and
    ``risk_reach_fraction``."""

    def risk_level(self) -> float:
        """The kept fraction after ``state.global_step`` training steps (PPO iterations, GRPO optimiser
        steps). The total is the Trainer's ``state.max_steps``, else ``args.max_steps`` when set."""
        return soft_risk_level(
            self.state.global_step,
            alpha=self.args.alpha,
            warmup_steps=self.args.risk_warmup_steps,
            total_steps=self.state.max_steps or (self.args.max_steps if self.args.max_steps > 0 else None),
            reach_fraction=self.args.risk_reach_fraction,
        )
