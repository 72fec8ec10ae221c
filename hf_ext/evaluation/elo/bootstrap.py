"""Bootstrap confidence intervals and interval-respecting ranks for Bradley-Terry or online Elo ratings.

- ``method="bt"``: each round redraws the battle counts from a multinomial over the distinct
  (model_a, model_b, outcome) rows (the same distribution as resampling battles with replacement, as
  FastChat's ``compute_bootstrap_bt`` does) and refits Bradley-Terry; all rounds are fitted at once by a
  batched Newton solve. The point estimate is the fit on all battles.
- ``method="elo"``: each round draws N battles with replacement, in random order, and runs online Elo;
  rounds run in parallel in compiled code. The point estimate is the median over rounds.

Example:
    >>> from hf_ext.evaluation.elo import bootstrap
    >>> from hf_ext.evaluation.elo.synthetic import synthetic_battles
    >>> battles = synthetic_battles({"a": 1200.0, "b": 1000.0, "c": 990.0}, n_battles=3000, seed=0)
    >>> table = bootstrap(battles, n_rounds=200)
    >>> table.index.tolist(), table["rank"].tolist()
    (['a', 'b', 'c'], [1, 2, 2])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hf_ext.evaluation.elo.battles import BattleLog, encode_battles, pair_counts
from hf_ext.evaluation.elo.bradley_terry import (
    _check_reg,
    check_mle_exists,
    fit_bt_logits,
    ratings_from_logits,
)
from hf_ext.evaluation.elo.intervals import summarize_samples
from hf_ext.evaluation.elo.online import elo_samples
from hf_ext.evaluation.elo.rule import EloRule

METHODS = ("bt", "elo")
_ROUNDS_PER_BATCH = 64


def _distinct_outcomes(log: BattleLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b, score) rows: flat cells ``a*M+b`` and ``b*M+a``, the score each side earns, counts."""
    m = log.n_models
    keys = (log.a.astype(np.int64) * m + log.b) * 3 + np.rint(log.score_a * 2).astype(np.int64)
    distinct, counts = np.unique(keys, return_counts=True)
    pair, score = distinct // 3, (distinct % 3) / 2.0
    a, b = pair // m, pair % m
    return np.concatenate([a * m + b, b * m + a]), np.concatenate([score, 1.0 - score]), counts


def bootstrap_bt_samples(
    log: BattleLog, n_rounds: int, seed: int, rule: EloRule, anchor: tuple[str, float] | None, reg: float
) -> np.ndarray:
    """``(n_rounds, n_models)`` Bradley-Terry ratings on multinomial resamples of the battle counts."""
    cells, earned, counts = _distinct_outcomes(log)
    rng = np.random.default_rng(seed)
    m, out = log.n_models, []
    for start in range(0, n_rounds, _ROUNDS_PER_BATCH):
        size = min(_ROUNDS_PER_BATCH, n_rounds - start)
        drawn = rng.multinomial(len(log), counts / counts.sum(), size=size).astype(np.float64)
        flat = (np.arange(size)[:, None] * (m * m) + cells[None, :]).ravel()
        weights = (np.concatenate([drawn, drawn], axis=1) * earned[None, :]).ravel()
        scores = np.bincount(flat, weights=weights, minlength=size * m * m).reshape(size, m, m)
        if reg == 0:
            for r in range(size):
                check_mle_exists(scores[r], log.models, context=f"bootstrap round {start + r}: ")
        theta = fit_bt_logits(scores, alpha=float(np.log(rule.base)), reg=reg)
        out.append(ratings_from_logits(theta, log.models, rule, anchor))
    return np.concatenate(out, axis=0)


def bootstrap(
    battles: Any,
    method: str = "bt",
    n_rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    rule: EloRule | None = None,
    anchor: tuple[str, float] | None = None,
    reg: float = 0.0,
    **rule_fields: float,
) -> pd.DataFrame:
    """Ratings with bootstrap intervals, indexed by model, best first.

    Columns: ``rating`` (BT fit on all battles, or the median over rounds for ``"elo"``), ``std``,
    ``ci_low``/``ci_high`` (central ``confidence`` quantiles over rounds) and ``rank`` (1 + number of models
    whose ``ci_low`` is above this model's ``ci_high``). The rule's ``k`` (``rule=`` or ``k=``) applies to
    ``"elo"`` only, ``anchor`` and ``reg`` to ``"bt"``. The same ``seed`` gives the same table.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(n_rounds, int | np.integer) or n_rounds < 2:
        raise ValueError(f"n_rounds must be an integer >= 2, got {n_rounds!r}")
    rule = EloRule.of(rule, **rule_fields)
    log = encode_battles(battles)
    if method == "elo":
        log, samples = elo_samples(log, n_rounds, seed, True, rule)
        point = np.median(samples, axis=0)
    else:
        _check_reg(reg)
        if reg == 0:
            check_mle_exists(pair_counts(log), log.models)
        point_theta = fit_bt_logits(pair_counts(log), alpha=float(np.log(rule.base)), reg=reg)
        point = ratings_from_logits(point_theta, log.models, rule, anchor)
        samples = bootstrap_bt_samples(log, n_rounds, seed, rule, anchor, reg)
    return summarize_samples(log.models, samples, point=point, confidence=confidence)
