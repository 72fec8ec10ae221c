"""The Elo rule: the four numbers every rating function shares, as one validated value.

``E_a = 1 / (1 + base ** ((R_b - R_a) / scale))``, ``R_a += k (S_a - E_a)``, ``R_b -= k (S_a - E_a)``, every
model starting at ``init_rating``; Bradley-Terry uses the same ``scale``, ``base`` and ``init_rating`` to put
its maximum-likelihood logits on the Elo scale (``k`` plays no part there). The defaults are FastChat's.

The public rating functions take ``rule=EloRule(...)`` or the same fields as keywords
(``online_elo(battles, k=32)``), which :meth:`EloRule.of` turns into one rule.

Example:
    >>> from hf_ext.evaluation.elo.rule import EloRule
    >>> rule = EloRule.of(None, k=32)
    >>> rule
    EloRule(k=32.0, scale=400.0, base=10.0, init_rating=1000.0)
    >>> round(rule.expected_score(1100.0, 1000.0), 3)
    0.64
    >>> EloRule(base=1.0)
    Traceback (most recent call last):
    ...
    ValueError: base must be > 1, got 1.0
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

FIELDS = ("k", "scale", "base", "init_rating")


@dataclass(frozen=True)
class EloRule:
    """``k``: step size (> 0); ``scale``: rating points per factor ``base`` in odds (> 0); ``base``: the odds
    base (> 1); ``init_rating``: every model's starting rating, and the mean of Bradley-Terry ratings."""

    k: float = 4.0
    scale: float = 400.0
    base: float = 10.0
    init_rating: float = 1000.0

    def __post_init__(self) -> None:
        for name in FIELDS:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{name} must be a number, got {value!r}")
            object.__setattr__(self, name, float(value))
        if not self.k > 0:
            raise ValueError(f"k must be > 0, got {self.k}")
        if not self.scale > 0:
            raise ValueError(f"scale must be > 0, got {self.scale}")
        if not self.base > 1:
            raise ValueError(f"base must be > 1, got {self.base}")
        if not math.isfinite(self.init_rating):
            raise ValueError(f"init_rating must be finite, got {self.init_rating}")

    @classmethod
    def of(cls, rule: EloRule | None = None, **fields: float) -> EloRule:
        """``rule`` (default: FastChat's) with any of ``k``, ``scale``, ``base``, ``init_rating`` replaced."""
        unknown = sorted(set(fields) - set(FIELDS))
        if unknown:
            raise TypeError(f"unexpected keyword {unknown[0]!r}; Elo rule fields are {', '.join(FIELDS)}")
        base = rule if rule is not None else cls()
        return dataclasses.replace(base, **fields) if fields else base

    @property
    def logit_scale(self) -> float:
        """``ln(base) / scale``: a rating difference times this is the log-odds of winning."""
        return math.log(self.base) / self.scale

    def expected_score(self, rating_a: float, rating_b: float) -> float:
        """``E_a``, the score model ``a`` is expected to earn against ``b`` (a win is 1, a tie 1/2)."""
        return 1.0 / (1.0 + self.base ** ((rating_b - rating_a) / self.scale))
