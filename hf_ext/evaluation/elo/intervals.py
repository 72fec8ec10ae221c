"""Intervals and ranks from a matrix of rating samples (bootstrap rounds or battle orders).

Rank rule (Chatbot Arena): ``rank = 1 + number of models whose lower bound is above this model's upper
bound``. Models with overlapping intervals therefore share a rank, and a rank is never better than the
evidence allows.

Example:
    >>> import numpy as np
    >>> from hf_ext.evaluation.elo.intervals import ranks_from_intervals
    >>> ranks_from_intervals(np.array([10.0, 8.0, 0.0]), np.array([20.0, 15.0, 5.0])).tolist()
    [1, 1, 3]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def ranks_from_intervals(ci_low: np.ndarray, ci_high: np.ndarray) -> np.ndarray:
    """``1 + #{j : ci_low[j] > ci_high[i]}`` for every model ``i``."""
    ci_low, ci_high = np.asarray(ci_low, dtype=float), np.asarray(ci_high, dtype=float)
    if ci_low.shape != ci_high.shape:
        raise ValueError(f"ci_low and ci_high differ in shape: {ci_low.shape} vs {ci_high.shape}")
    return 1 + (ci_low[None, :] > ci_high[:, None]).sum(axis=1)


def summarize_samples(
    models: Sequence[str],
    samples: np.ndarray,
    point: np.ndarray,
    point_name: str = "rating",
    confidence: float = 0.95,
) -> pd.DataFrame:
    """A table indexed by model, best ``point`` first: the point estimate, ``std``, ``ci_low``, ``ci_high``
    (central ``confidence`` quantiles of ``samples``, one row per round or order) and ``rank``."""
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    tail = (1.0 - confidence) / 2.0
    ci_low, ci_high = np.quantile(samples, [tail, 1.0 - tail], axis=0)
    table = pd.DataFrame(
        {
            point_name: np.asarray(point, dtype=float),
            "std": samples.std(axis=0, ddof=1) if samples.shape[0] > 1 else np.zeros(samples.shape[1]),
            "ci_low": ci_low,
            "ci_high": ci_high,
            "rank": ranks_from_intervals(ci_low, ci_high),
        },
        index=pd.Index(list(models), name="model"),
    )
    return table.sort_values([point_name], ascending=False, kind="stable")
