"""Bootstrap confidence intervals and interval-respecting ranks for Bradley-Terry or online Elo ratings.

- ``method="bt"``: each round resamples the battles with replacement (FastChat's ``compute_bootstrap_bt``
  draws the same distribution as multinomial counts over the distinct (model_a, model_b, outcome) rows) and
  refits Bradley-Terry. The draws run in compiled code, one counter-based random stream per round (or, for
  logs with many battles per possible row, as multinomial counts over the distinct rows); each round's
  Newton fit starts from the full-data fit. The point estimate is the fit on all battles.
- Sparse models: a round (or the whole log) whose exact BT maximum does not exist (a model without a win or a
  loss in it) is fitted with a small Gaussian prior (``fallback_reg``) instead of stopping the analysis, and
  the table's ``attrs["rounds_with_prior"]`` counts such rounds. Ratings are centred on the models in
  ``center_on`` (by default the reliable ones, see :func:`reliable_models`), so that one sparse model's
  swings do not move, and widen, every other model's interval.
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

from hf_ext.evaluation.elo.battles import BattleLog, check_indices, encode_battles, pair_counts
from hf_ext.evaluation.elo.bradley_terry import _check_reg, fit_bt_logits, mle_exists, ratings_from_logits
from hf_ext.evaluation.elo.intervals import summarize_samples
from hf_ext.evaluation.elo.online import elo_samples
from hf_ext.evaluation.elo.rule import EloRule

METHODS = ("bt", "elo")
_ROUNDS_PER_BATCH = 64
FALLBACK_REG = 0.01
"""The prior used for a fit whose exact maximum does not exist: a N(0, 1/0.01) prior on the logits (in units
of ln(base)), weak beside any model with tens of battles."""
MIN_BATTLES = 30


def reliable_models(log: BattleLog, min_battles: int = MIN_BATTLES) -> dict[str, str]:
    """Models whose ratings are unreliable, with the reason: fewer than ``min_battles`` battles, no wins, or
    no losses (ties count as neither). An empty dict means every model is reliable."""
    m = log.n_models
    games = np.bincount(log.a, minlength=m) + np.bincount(log.b, minlength=m)
    wins = np.bincount(log.a, log.score_a == 1.0, m) + np.bincount(log.b, log.score_a == 0.0, m)
    losses = np.bincount(log.a, log.score_a == 0.0, m) + np.bincount(log.b, log.score_a == 1.0, m)
    reasons = {}
    for i, name in enumerate(log.models):
        why = []
        if games[i] < min_battles:
            why.append(f"{int(games[i])} battles")
        if wins[i] == 0:
            why.append("no wins")
        if losses[i] == 0:
            why.append("no losses")
        if why:
            reasons[name] = ", ".join(why)
    return reasons


def _fit_robust(
    scores: np.ndarray, alpha: float, reg: float, fallback_reg: float, start: np.ndarray | None = None
) -> tuple[np.ndarray, int]:
    """Fit a batch of rounds; rounds without an exact maximum (when ``reg`` is 0) get ``fallback_reg``."""
    if reg > 0:
        return fit_bt_logits(scores, alpha=alpha, reg=reg, start=start), 0
    exists = np.asarray(mle_exists(scores))
    if exists.all():
        return fit_bt_logits(scores, alpha=alpha, reg=0.0, start=start), 0
    theta = np.empty(scores.shape[:-1])
    if exists.any():
        theta[exists] = fit_bt_logits(scores[exists], alpha=alpha, reg=0.0, start=start)
    theta[~exists] = fit_bt_logits(scores[~exists], alpha=alpha, reg=fallback_reg)
    return theta, int((~exists).sum())


def _centred(theta: np.ndarray, center: np.ndarray, reg: float) -> np.ndarray:
    """Unregularised fits (and their fallbacks) are centred on the ``center`` models; a fit with a prior of
    the user's own (``reg > 0``) keeps the prior's centre."""
    return theta - theta[..., center].mean(axis=-1, keepdims=True) if reg == 0 else theta


def _distinct_outcomes(log: BattleLog) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct (a, b, score, weight) rows: flat cells ``a*M+b`` and ``b*M+a``, the weighted score each side
    earns per battle, and how many battles share the row."""
    m = log.n_models
    keys = (log.a.astype(np.int64) * m + log.b) * 3 + np.rint(log.score_a * 2).astype(np.int64)
    if log.weight is None:
        distinct, counts = np.unique(keys, return_counts=True)
        weight = np.ones(len(distinct))
    else:
        levels, level_of = np.unique(log.weight, return_inverse=True)
        joint, counts = np.unique(keys * len(levels) + level_of, return_counts=True)
        distinct, weight = joint // len(levels), levels[joint % len(levels)]
    pair, score = distinct // 3, (distinct % 3) / 2.0
    a, b = pair // m, pair % m
    earned = np.concatenate([score * weight, (1.0 - score) * weight])
    return np.concatenate([a * m + b, b * m + a]), earned, counts


def _multinomial_counts(log: BattleLog, rng: np.random.Generator, size: int) -> np.ndarray:
    """``size`` resampled score tables from multinomial counts over the distinct (a, b, outcome, weight)
    rows: work per round grows with the distinct rows, not the battles."""
    m = log.n_models
    cells, earned, counts = _distinct_outcomes(log)
    drawn = rng.multinomial(len(log), counts / counts.sum(), size=size).astype(np.float64)
    flat = (np.arange(size)[:, None] * (m * m) + cells[None, :]).ravel()
    weights = (np.concatenate([drawn, drawn], axis=1) * earned[None, :]).ravel()
    return np.bincount(flat, weights=weights, minlength=size * m * m).reshape(size, m, m)


def _uses_multinomial(log: BattleLog) -> bool:
    """Drawing a battle costs a cache miss once the log outgrows the cache (tens of ns), a multinomial draw
    about 0.2 us per distinct (a, b, outcome) row: the multinomial pays off for unweighted logs with more
    than a few battles per possible row."""
    m = log.n_models
    return log.weight is None and len(log) > 8 * 3 * m * (m - 1)


def bootstrap_bt_samples(
    log: BattleLog,
    n_rounds: int,
    seed: int,
    rule: EloRule,
    anchor: tuple[str, float] | None,
    reg: float,
    fallback_reg: float = FALLBACK_REG,
    center: np.ndarray | None = None,
    start: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """``(n_rounds, n_models)`` Bradley-Terry ratings on resamples of the battles, and the number of rounds
    fitted with the fallback prior. Each round draws ``n`` battles with replacement: one by one in compiled
    code (a counter-based stream per round), or, for logs with many battles per distinct (a, b, outcome)
    row, as multinomial counts over those rows (numpy's generator seeded with ``seed``). ``start``: the
    logits each round's Newton fit starts from (the full-data fit saves iterations)."""
    from hf_ext.evaluation.elo._bt_kernels import resampled_counts

    m, out, with_prior = log.n_models, [], 0
    check_indices(log)
    center = np.arange(m) if center is None else center
    multinomial = _uses_multinomial(log)
    rng = np.random.default_rng(seed)
    weight = np.empty(0) if log.weight is None else log.weight
    for first in range(0, n_rounds, _ROUNDS_PER_BATCH):
        size = min(_ROUNDS_PER_BATCH, n_rounds - first)
        if multinomial:
            scores = _multinomial_counts(log, rng, size)
        else:
            flat = np.zeros((size, m * m))
            resampled_counts(log.a, log.b, log.score_a, weight, m, seed, first, flat)
            scores = flat.reshape(size, m, m)
        theta, fallbacks = _fit_robust(scores, float(np.log(rule.base)), reg, fallback_reg, start)
        with_prior += fallbacks
        out.append(ratings_from_logits(_centred(theta, center, reg), log.models, rule, anchor))
    return np.concatenate(out, axis=0), with_prior


def bootstrap(
    battles: Any,
    method: str = "bt",
    n_rounds: int = 1000,
    seed: int = 0,
    confidence: float = 0.95,
    rule: EloRule | None = None,
    anchor: tuple[str, float] | None = None,
    reg: float = 0.0,
    fallback_reg: float = FALLBACK_REG,
    center_on: list[str] | None = None,
    weights: Any = None,
    **rule_fields: float,
) -> pd.DataFrame:
    """Ratings with bootstrap intervals, indexed by model, best first.

    Columns: ``rating`` (BT fit on all battles, or the median over rounds for ``"elo"``), ``std``,
    ``ci_low``/``ci_high`` (central ``confidence`` quantiles over rounds) and ``rank`` (1 + number of models
    whose ``ci_low`` is above this model's ``ci_high``). The rule's ``k`` (``rule=`` or ``k=``) applies to
    ``"elo"`` only, ``anchor``, ``reg``, ``fallback_reg`` and ``center_on`` to ``"bt"`` (see the module
    docstring: sparse models never stop the fit; ``center_on`` names the models whose mean rating is
    ``init_rating``). The same ``seed`` gives the same table; ``attrs`` holds ``rounds_with_prior``,
    ``point_with_prior`` and ``unreliable`` (model -> reason). Per-battle ``weights`` (or the log's
    ``weight`` column) apply to ``"bt"``: each resampled battle counts its weight; ``"elo"`` refuses
    explicit weights and ignores a ``weight`` column (online Elo has no weighted form here).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if not isinstance(n_rounds, int | np.integer) or n_rounds < 2:
        raise ValueError(f"n_rounds must be an integer >= 2, got {n_rounds!r}")
    rule = EloRule.of(rule, **rule_fields)
    if method == "elo" and weights is not None:
        raise ValueError('weights apply to method="bt" only')
    log = encode_battles(battles, weights)
    check_indices(log)
    if method == "elo":
        log, samples = elo_samples(log, n_rounds, seed, True, rule)
        point = np.median(samples, axis=0)
    else:
        _check_reg(reg)
        unreliable = reliable_models(log)
        center = _center_indices(log, center_on, unreliable)
        point_theta, point_prior = _fit_robust(pair_counts(log), float(np.log(rule.base)), reg, fallback_reg)
        point = ratings_from_logits(_centred(point_theta, center, reg), log.models, rule, anchor)
        samples, rounds_with_prior = bootstrap_bt_samples(
            log, n_rounds, seed, rule, anchor, reg, fallback_reg, center, start=point_theta
        )
        table = summarize_samples(log.models, samples, point=point, confidence=confidence)
        table.attrs.update(
            rounds_with_prior=rounds_with_prior, point_with_prior=bool(point_prior), unreliable=unreliable
        )
        return table
    return summarize_samples(log.models, samples, point=point, confidence=confidence)


def _center_indices(log: BattleLog, center_on: list[str] | None, unreliable: dict[str, str]) -> np.ndarray:
    if center_on is not None:
        unknown = [name for name in center_on if name not in log.models]
        if unknown or not center_on:
            raise ValueError(f"center_on: unknown model(s) {', '.join(unknown) or '(none given)'}")
        return np.array([log.models.index(name) for name in center_on])
    reliable = [i for i, name in enumerate(log.models) if name not in unreliable]
    return np.array(reliable) if reliable else np.arange(log.n_models)
