"""Bradley-Terry maximum likelihood on aggregated pair counts, by damped Newton, batched over count tables.

Model: ``P(i beats j) = 1 / (1 + base ** (-(R_i - R_j) / scale))``; a tie counts as half a win each way.
With ``theta = (R - init_rating) / scale`` and ``alpha = ln(base)`` the negative log-likelihood is
``sum_ij W_ij * log(1 + exp(-alpha (theta_i - theta_j))) + reg / 2 * |theta|^2`` where ``W_ij`` is the
score ``i`` earned against ``j``. It is convex; Newton converges in a handful of steps and the cost depends
on the number of models, not the number of battles. Ratings average ``init_rating`` unless ``anchor``
pins one model. Without regularisation the maximum exists only when every group of models has at least
one win (or tie) against the rest; otherwise a ``ValueError`` names the groups and suggests ``reg > 0``.

Example:
    >>> from hf_ext.evaluation.elo import bradley_terry
    >>> battles = [{"model_a": "x", "model_b": "y", "winner": w} for w in ["model_a"] * 3 + ["model_b"]]
    >>> {m: round(r, 1) for m, r in bradley_terry(battles).items()}  # 3:1 -> 400 * log10(3) apart
    {'x': 1095.4, 'y': 904.6}
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.sparse.csgraph import connected_components

from hf_ext.evaluation.elo.battles import encode_battles, pair_counts
from hf_ext.evaluation.elo.rule import EloRule


def _check_reg(reg: float) -> None:
    if not reg >= 0:
        raise ValueError(f"reg must be >= 0, got {reg}")


def mle_exists(scores: np.ndarray) -> bool | np.ndarray:
    """Whether the unregularised maximum exists: the 'earned a point against' graph is strongly connected.
    For a stack of tables ``(..., M, M)``, one answer per table."""
    from hf_ext.evaluation.elo._bt_kernels import strongly_connected

    scores = np.asarray(scores, dtype=np.float64)
    flat = np.ascontiguousarray(scores.reshape(-1, *scores.shape[-2:]))
    found = strongly_connected(flat)
    return bool(found[0]) if scores.ndim == 2 else found.reshape(scores.shape[:-2])


def check_mle_exists(scores: np.ndarray, models: tuple[str, ...], context: str = "") -> None:
    """Raise if the unregularised maximum does not exist: the 'earned a point against' graph must be
    strongly connected."""
    if mle_exists(scores):
        return
    n_groups, labels = connected_components(scores > 0, directed=True, connection="strong")
    if n_groups > 1:
        groups = [sorted(models[i] for i in np.flatnonzero(labels == g)) for g in range(n_groups)]
        shown = "; ".join(
            "[" + ", ".join(group[:5]) + (", ..." if len(group) > 5 else "") + "]" for group in groups
        )
        raise ValueError(
            f"{context}Bradley-Terry maximum likelihood does not exist: these groups of models never score "
            f"against each other in both directions: {shown}. Pass reg > 0 (e.g. reg=0.01) to regularise."
        )


def fit_bt_logits(
    scores: np.ndarray,
    alpha: float = float(np.log(10.0)),
    reg: float = 0.0,
    tol: float = 1e-10,
    max_iter: int = 100,
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Maximum-likelihood strengths ``theta`` for count tables ``scores`` of shape ``(..., M, M)``.

    Returns ``(..., M)``; with ``reg == 0`` each row is centred to mean zero (the likelihood only sees
    differences). Damped Newton (steps halved until the objective does not go up) from ``start`` (zeros by
    default; a nearby start, such as the full-data fit for bootstrap rounds, saves iterations); a step whose
    largest entry is below ``sqrt(tol)`` is taken whole and is the last (Newton's error after it is of the
    order of its square). Compiled, one table after another.
    """
    from hf_ext.evaluation.elo._bt_kernels import fit_tables

    scores = np.asarray(scores, dtype=np.float64)
    m = scores.shape[-1]
    flat = np.ascontiguousarray(scores.reshape(-1, m, m))
    begin = np.zeros((len(flat), m)) if start is None else np.broadcast_to(start, scores.shape[:-1])
    begin = np.ascontiguousarray(np.reshape(begin, (len(flat), m)), dtype=np.float64)
    theta = fit_tables(flat, begin, float(alpha), float(reg), float(tol), int(max_iter))
    return theta.reshape(scores.shape[:-1])


def ratings_from_logits(
    theta: np.ndarray, models: tuple[str, ...], rule: EloRule, anchor: tuple[str, float] | None = None
) -> np.ndarray:
    """``scale * theta + init_rating``, shifted so that ``anchor = (model, rating)`` holds if given."""
    ratings = rule.scale * theta + rule.init_rating
    if anchor is not None:
        name, value = anchor
        if name not in models:
            raise ValueError(f"anchor model {name!r} is not in the battle log")
        ratings = ratings - ratings[..., models.index(name), None] + float(value)
    return ratings


def bradley_terry(
    battles: Any,
    rule: EloRule | None = None,
    anchor: tuple[str, float] | None = None,
    reg: float = 0.0,
    weights: Any = None,
    **rule_fields: float,
) -> dict[str, float]:
    """Bradley-Terry maximum-likelihood ratings on the Elo scale of ``rule`` (its ``k`` is unused), best
    first. Per-battle ``weights`` (or the log's ``weight`` column) scale each battle's likelihood term: an
    integer weight ``w`` is the same as repeating the battle ``w`` times."""
    rule = EloRule.of(rule, **rule_fields)
    _check_reg(reg)
    log = encode_battles(battles, weights)
    scores = pair_counts(log)
    if reg == 0:
        check_mle_exists(scores, log.models)
    theta = fit_bt_logits(scores, alpha=math.log(rule.base), reg=reg)
    ratings = ratings_from_logits(theta, log.models, rule, anchor)
    ranked = sorted(zip(log.models, ratings.tolist()), key=lambda item: -item[1])
    return dict(ranked)
