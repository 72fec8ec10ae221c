"""The two axioms of "Elo Uncovered" (arXiv 2311.17295), checked on a battle log.

- Reliability: does the ranking depend on the arbitrary order of battles or on K? For each K,
  online Elo runs over many random orders; the table reports the spread of ratings across orders and how
  often pairs of models swap places relative to the order-averaged ranking.
- Transitivity: wherever the empirical win rates say A beats B and B beats C, do the win rates and the
  ratings also put A above C? Cycles (C beats A) are listed once each.

Example:
    >>> from hf_ext.evaluation.elo import check_transitivity
    >>> # one battle a pair is never significant: confidence=None lists every cycle
    >>> cycle = [{"model_a": x, "model_b": y, "winner": "model_a"} for x, y in ["ab", "bc", "ca"]]
    >>> check_transitivity(cycle, confidence=None)[["a", "b", "c", "issue"]].to_dict("records")
    [{'a': 'a', 'b': 'b', 'c': 'c', 'issue': 'cycle'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from hf_ext.evaluation.elo.battles import encode_battles, pair_counts
from hf_ext.evaluation.elo.bradley_terry import bradley_terry
from hf_ext.evaluation.elo.online import elo_samples, online_elo
from hf_ext.evaluation.elo.rule import EloRule

DEFAULT_KS = (1.0, 4.0, 16.0, 32.0)


def _pair_flip_rates(samples: np.ndarray, consensus: np.ndarray) -> np.ndarray:
    """Per order: the fraction of model pairs whose order disagrees with ``consensus``."""
    upper = np.triu_indices(samples.shape[1], k=1)
    reference = np.sign(consensus[:, None] - consensus[None, :])[upper]
    decided = reference != 0
    if not decided.any():
        return np.zeros(samples.shape[0])
    per_order = np.sign(samples[:, :, None] - samples[:, None, :])[:, upper[0], upper[1]]
    return (per_order[:, decided] != reference[decided]).mean(axis=1)


def check_reliability(
    battles: Any,
    ks: Sequence[float] = DEFAULT_KS,
    n_permutations: int = 100,
    seed: int = 0,
    rule: EloRule | None = None,
    **rule_fields: float,
) -> pd.DataFrame:
    """Order sensitivity of online Elo for each K, one row per K (the rule's own ``k`` is replaced by each).

    Columns: ``mean_std`` / ``max_std`` (standard deviation of a model's rating across random orders,
    averaged / worst over models), ``pair_flip_rate`` (mean fraction of model pairs that one order ranks
    opposite to the order-averaged ratings), ``orders_with_flips`` (fraction of orders whose full ranking
    differs from the order-averaged one) and ``top_model_changes`` (fraction of orders whose best model is
    not the order-averaged best).
    """
    if not ks:
        raise ValueError("ks must name at least one K")
    if n_permutations < 2:
        raise ValueError(f"n_permutations must be >= 2 to measure spread, got {n_permutations}")
    rule = EloRule.of(rule, **rule_fields)
    log = encode_battles(battles)
    rows = []
    for k in ks:
        _, samples = elo_samples(log, n_permutations, seed, False, EloRule.of(rule, k=k))
        consensus = samples.mean(axis=0)
        flips = _pair_flip_rates(samples, consensus)
        rows.append(
            {
                "k": float(k),
                "mean_std": float(samples.std(axis=0, ddof=1).mean()),
                "max_std": float(samples.std(axis=0, ddof=1).max()),
                "pair_flip_rate": float(flips.mean()),
                "orders_with_flips": float((flips > 0).mean()),
                "top_model_changes": float((samples.argmax(axis=1) != consensus.argmax()).mean()),
            }
        )
    return pd.DataFrame(rows).set_index("k")


def _resolve_ratings(battles: Any, ratings: str | Mapping[str, float], reg: float) -> dict[str, float]:
    if isinstance(ratings, Mapping):
        return {str(name): float(value) for name, value in ratings.items()}
    if ratings == "bt":
        return bradley_terry(battles, reg=reg)
    if ratings == "elo":
        return online_elo(battles)
    raise ValueError(f"ratings must be 'bt', 'elo' or a dict of model -> rating, got {ratings!r}")


def pair_p_values(rate: np.ndarray, games: np.ndarray) -> np.ndarray:
    """Two-sided p-values of "this pair's win rate is one half", from the normal approximation with the
    largest per-battle variance under that hypothesis (1/4; ties score 1/2 and only lower it, so the test is
    conservative with ties). Pairs that never met get 1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.abs(np.nan_to_num(rate, nan=0.5) - 0.5) / np.sqrt(0.25 / np.maximum(games, 1))
    return np.where(games > 0, 2.0 * norm.sf(z), 1.0)


def check_transitivity(
    battles: Any,
    ratings: str | Mapping[str, float] = "bt",
    near_tie: float = 0.05,
    reg: float = 0.0,
    confidence: float | None = 0.95,
) -> pd.DataFrame:
    """Every triple where the empirical win rates say A > B > C but the win rates or the ratings do not
    give A > C. Pairs that never met are skipped.

    ``ratings`` is ``"bt"`` (Bradley-Terry on the log, with ``reg``), ``"elo"`` (online Elo in the given
    order) or a dict of ratings to check. Columns: the three models, ``win_rate_ab/bc/ac`` and
    ``battles_ab/bc/ac``, ``rating_a/b/c``, ``issue`` (``cycle``: C beats A, listed once per cycle;
    ``tie``: A and C break even; ``ratings``: win rates are transitive but rating A <= rating C; joined by
    ``+`` when both apply), ``margin`` (the smallest distance of the three win rates from one half) and
    ``near_tie`` (``margin < near_tie``: the violation may be noise), and ``p_ab/bc/ac``: the p-values of
    each pair's win rate against one half (:func:`pair_p_values`). With ``confidence`` (0.95 by default) a
    cycle is reported only when all three of its win rates are significantly off one half at level
    ``1 - confidence``, so sampling noise in a transitive log is not reported as a cycle; ``None`` reports
    every cycle. An empty table means no violation.
    """
    if confidence is not None and not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1) or None, got {confidence}")
    log = encode_battles(battles)
    rating_of = _resolve_ratings(log, ratings, reg)
    missing = [name for name in log.models if name not in rating_of]
    if missing:
        raise ValueError(f"ratings lack model(s) {', '.join(missing[:5])} from the battle log")
    rating = np.array([rating_of[name] for name in log.models])
    scores = pair_counts(log)
    games = scores + scores.T
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(games > 0, scores / games, np.nan)
    beats = np.nan_to_num(rate, nan=0.0) > 0.5
    a, b, c = np.nonzero(beats[:, :, None] & beats[None, :, :])  # a beats b, b beats c
    met = games[a, c] > 0
    a, b, c = a[met], b[met], c[met]
    cycle = rate[a, c] < 0.5
    tie = rate[a, c] == 0.5
    bad_ratings = (rate[a, c] > 0.5) & (rating[a] <= rating[c])
    once = ~cycle | ((a < b) & (a < c))  # a cycle appears as three rotations: keep the one led by its min
    p_values = pair_p_values(rate, games)
    p_ab, p_bc, p_ac = p_values[a, b], p_values[b, c], p_values[a, c]
    if confidence is not None:
        significant = np.maximum.reduce([p_ab, p_bc, p_ac]) < 1.0 - confidence
        cycle = cycle & significant
    keep = (cycle | tie | bad_ratings) & once
    a, b, c = a[keep], b[keep], c[keep]
    p_ab, p_bc, p_ac = p_ab[keep], p_bc[keep], p_ac[keep]
    issues = np.where(cycle[keep], "cycle", np.where(tie[keep], "tie", "ratings")).astype(object)
    also_ratings = ~bad_ratings[keep] & (rating[a] <= rating[c]) & (issues != "cycle")
    issues[also_ratings] = issues[also_ratings] + "+ratings"
    names = np.asarray(log.models, dtype=object)
    margin = np.minimum.reduce([np.abs(rate[a, b] - 0.5), np.abs(rate[b, c] - 0.5), np.abs(rate[a, c] - 0.5)])
    table = pd.DataFrame(
        {
            "a": names[a], "b": names[b], "c": names[c],
            "win_rate_ab": rate[a, b], "win_rate_bc": rate[b, c], "win_rate_ac": rate[a, c],
            "battles_ab": games[a, b], "battles_bc": games[b, c], "battles_ac": games[a, c],
            "rating_a": rating[a], "rating_b": rating[b], "rating_c": rating[c],
            "issue": issues, "margin": margin, "near_tie": margin < near_tie,
            "p_ab": p_ab, "p_bc": p_bc, "p_ac": p_ac,
        }
    )  # fmt: skip
    return table.sort_values(["near_tie", "margin"], ascending=[True, False], kind="stable").reset_index(
        drop=True
    )
