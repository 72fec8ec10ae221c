"""The tables an arena report shows beside the ratings: the win rates the ratings predict, how often each pair
met, and per model its battles, wins, losses, ties and average win rate.

Example:
    >>> from hf_ext.evaluation.elo.tables import predicted_win_rates
    >>> table = predicted_win_rates({"a": 1100.0, "b": 1000.0})
    >>> round(float(table.loc["a", "b"]), 3)
    0.64
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hf_ext.evaluation.elo.battles import encode_battles, pair_counts
from hf_ext.evaluation.elo.rule import EloRule


def predicted_win_rates(ratings: Mapping[str, float], rule: EloRule | None = None) -> pd.DataFrame:
    """``P(row beats column) = 1 / (1 + base ** ((R_col - R_row) / scale))`` for every pair; the diagonal is
    NaN. Rows and columns in the order of ``ratings``."""
    rule = EloRule.of(rule)
    names = list(ratings)
    values = np.array([ratings[name] for name in names], dtype=float)
    table = 1.0 / (1.0 + rule.base ** ((values[None, :] - values[:, None]) / rule.scale))
    np.fill_diagonal(table, np.nan)
    return pd.DataFrame(table, index=pd.Index(names, name="model"), columns=names)


def battle_counts(battles: Any) -> pd.DataFrame:
    """How many battles each pair fought (symmetric, either side), models in first-appearance order."""
    log = encode_battles(battles)
    counts = np.zeros((log.n_models, log.n_models), dtype=np.int64)
    np.add.at(counts, (log.a, log.b), 1)
    counts = counts + counts.T
    return pd.DataFrame(counts, index=pd.Index(log.models, name="model"), columns=list(log.models))


def model_summary(battles: Any) -> pd.DataFrame:
    """Per model: ``battles``, ``wins``, ``losses``, ``ties``, ``win_rate`` (score over battles, ties half)
    and ``average_win_rate`` (the mean of its pairwise win rates over the opponents it met); most battles
    first."""
    log = encode_battles(battles)
    m = log.n_models
    games = np.bincount(log.a, minlength=m) + np.bincount(log.b, minlength=m)
    wins = np.bincount(log.a, log.score_a == 1.0, m) + np.bincount(log.b, log.score_a == 0.0, m)
    losses = np.bincount(log.a, log.score_a == 0.0, m) + np.bincount(log.b, log.score_a == 1.0, m)
    ties = games - wins - losses
    scores = pair_counts(log)
    met = scores + scores.T
    with np.errstate(invalid="ignore", divide="ignore"):
        pair_rate = np.where(met > 0, scores / met, np.nan)
        average = np.nanmean(np.where(np.eye(m, dtype=bool), np.nan, pair_rate), axis=1)
        win_rate = (wins + 0.5 * ties) / games
    table = pd.DataFrame(
        {"battles": games, "wins": wins.astype(np.int64), "losses": losses.astype(np.int64),
         "ties": ties.astype(np.int64), "win_rate": win_rate, "average_win_rate": average},
        index=pd.Index(log.models, name="model"),
    )  # fmt: skip
    return table.sort_values("battles", ascending=False, kind="stable")
