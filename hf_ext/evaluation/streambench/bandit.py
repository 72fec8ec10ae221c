"""Thompson sampling over answering models, as the official MAM-StreamICL variants ``ma_ts``/``ma_dts`` do.

Each model (arm) ``k`` keeps ``S_k`` (feedback said correct) and ``F_k`` (said wrong). Before an input, one
draw ``theta_k ~ Beta(S_k + 1, F_k + 1)`` per model; the largest draw answers. After the feedback ``r`` (1 or
0) on that model's answer:

* Thompson sampling (``ma_ts``): ``S_k += r``, ``F_k += 1 - r``.
* Dynamic Thompson sampling (``ma_dts``, Gupta et al. 2011): the same until ``S_k + F_k`` reaches ``C``
  (the official 100); from then on ``(S_k, F_k) <- (S_k + r, F_k + 1 - r) * C / (C + 1)``, so the counts stay
  at ``C`` in total and old feedback fades geometrically (a model that gets better or worse is followed).

The draws come from ``numpy.random.default_rng(seed)``; the generator's state is part of
:meth:`ThompsonArms.state_dict`, so a resumed stream draws what an uninterrupted one would.

Example:
    >>> arms = ThompsonArms(2, seed=0)
    >>> arms.update(0, True); arms.update(1, False)
    >>> arms.successes.tolist(), arms.failures.tolist()
    ([1.0, 0.0], [0.0, 1.0])
    >>> dynamic = ThompsonArms(1, dynamic_c=2.0)
    >>> for r in (True, True, False):
    ...     dynamic.update(0, r)
    >>> round(float(dynamic.successes[0]), 4), round(float(dynamic.failures[0]), 4)
    (1.3333, 0.6667)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hf_ext.errors import HFExtError

DTS_C = 100.0  # the official constant of dynamic Thompson sampling


def dynamic_update(successes: float, failures: float, correct: bool, c: float) -> tuple[float, float]:
    """One dynamic-Thompson update of an arm's counts (plain counting below ``c``, then rescaled to ``c``).

    The total is compared with a tolerance: after a rescale it is ``c`` up to rounding, and an exact ``>=``
    would now and then count plainly again and leave the total at ``c + 1``.
    """
    reward = 1.0 if correct else 0.0
    if successes + failures >= c - 1e-9 * max(1.0, c):
        return (successes + reward) * c / (c + 1), (failures + 1 - reward) * c / (c + 1)
    return successes + reward, failures + 1 - reward


class ThompsonArms:
    """Beta posteriors over ``n_arms`` answering models; ``dynamic_c`` turns on dynamic Thompson sampling."""

    def __init__(self, n_arms: int, seed: int = 0, dynamic_c: float | None = None):
        if n_arms < 1:
            raise HFExtError(f"Thompson sampling needs at least one model, got {n_arms}")
        if dynamic_c is not None and dynamic_c <= 0:
            raise HFExtError(f"dynamic Thompson sampling: C must be positive, got {dynamic_c}")
        self.dynamic_c = dynamic_c
        self.successes = np.zeros(n_arms)
        self.failures = np.zeros(n_arms)
        self.rng = np.random.default_rng(seed)

    def choose(self) -> int:
        """The arm whose draw from its posterior ``Beta(S + 1, F + 1)`` is largest."""
        return int(np.argmax(self.rng.beta(self.successes + 1, self.failures + 1)))

    def update(self, arm: int, correct: bool) -> None:
        if self.dynamic_c is None:
            self.successes[arm] += float(correct)
            self.failures[arm] += 1.0 - float(correct)
        else:
            self.successes[arm], self.failures[arm] = dynamic_update(
                self.successes[arm], self.failures[arm], correct, self.dynamic_c
            )

    def posterior_means(self) -> list[float]:
        """``(S + 1) / (S + F + 2)`` per arm."""
        return ((self.successes + 1) / (self.successes + self.failures + 2)).tolist()

    def state_dict(self) -> dict[str, Any]:
        return {
            "successes": self.successes.tolist(),
            "failures": self.failures.tolist(),
            "rng": self.rng.bit_generator.state,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if len(state["successes"]) != len(self.successes):
            raise HFExtError(
                f"saved Thompson state has {len(state['successes'])} models, this agent {len(self.successes)}"
            )
        self.successes = np.asarray(state["successes"], dtype=float)
        self.failures = np.asarray(state["failures"], dtype=float)
        self.rng.bit_generator.state = state["rng"]


__all__ = ["DTS_C", "ThompsonArms", "dynamic_update"]
