"""Online Elo in the given order, and permutation-averaged Elo over many random orders at once.

The update rule and its four numbers are an :class:`~hf_ext.evaluation.elo.rule.EloRule` (FastChat's
defaults ``k=4, scale=400, base=10, init_rating=1000``), given as ``rule=`` or as those keywords.
Online Elo depends on the order of the battles ("Elo Uncovered", arXiv 2311.17295); averaging over
random orders removes that arbitrary choice. All orders run in one compiled loop, in parallel over orders.

Example:
    >>> from hf_ext.evaluation.elo import online_elo, permutation_elo
    >>> battles = [{"model_a": "x", "model_b": "y", "winner": "model_a"}] * 3
    >>> {name: round(rating, 2) for name, rating in online_elo(battles).items()}
    {'x': 1005.93, 'y': 994.07}
    >>> table = permutation_elo(battles, n_permutations=10)
    >>> table.index.tolist(), table["rank"].tolist()
    (['x', 'y'], [1, 2])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from hf_ext.evaluation.elo.battles import BattleLog, check_indices, encode_battles
from hf_ext.evaluation.elo.intervals import summarize_samples
from hf_ext.evaluation.elo.rule import EloRule


def _check_count(name: str, value: int) -> None:
    if not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def online_elo(
    battles: Any, rule: EloRule | None = None, weights: Any = None, **rule_fields: float
) -> dict[str, float]:
    """Online Elo ratings after processing the battles once, in the given order.

    Per-battle ``weights`` (or the log's ``weight`` column) scale each update: ``R_a += k w (S_a - E_a)``.
    Weight 1 everywhere is the unweighted update; weight 0 skips a battle. (Unlike Bradley-Terry, an integer
    weight is not the same as repeating the battle: the repeats would each see the updated ratings.)
    """
    from hf_ext.evaluation.elo._kernels import elo_in_order, pack_battles, weighted_elo_in_order

    rule = EloRule.of(rule, **rule_fields)
    log = encode_battles(battles, weights)
    ratings = np.full(log.n_models, rule.init_rating)
    if log.weight is not None:
        check_indices(log)
        weighted_elo_in_order(ratings, log.a, log.b, log.score_a, log.weight, rule.k, rule.scale, rule.base)
        return dict(zip(log.models, ratings.tolist()))
    order = np.arange(len(log), dtype=np.int64)
    packed, bits = pack_battles(log.a, log.b, log.score_a)
    elo_in_order(ratings, packed, bits, order, rule.k, rule.scale, rule.base)
    return dict(zip(log.models, ratings.tolist()))


def battle_order(n_battles: int, seed: int = 0, index: int = 0, with_replacement: bool = False) -> np.ndarray:
    """The battle positions that order ``index`` of :func:`elo_samples` uses (a permutation, or a bootstrap
    draw when ``with_replacement``), to reproduce one order outside the batch."""
    from hf_ext.evaluation.elo._kernels import arrange

    return arrange(np.arange(n_battles, dtype=np.int64), np.uint64(seed), np.uint64(index), with_replacement)


def elo_samples(
    battles: Any,
    n_orders: int,
    seed: int = 0,
    with_replacement: bool = False,
    rule: EloRule | None = None,
    **rule_fields: float,
) -> tuple[BattleLog, np.ndarray]:
    """Online Elo over ``n_orders`` random orders (or bootstrap resamples): the log and an
    ``(n_orders, n_models)`` rating matrix."""
    import numba

    from hf_ext.evaluation.elo._kernels import elo_over_orders, pack_battles

    rule = EloRule.of(rule, **rule_fields)
    _check_count("n_orders", n_orders)
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    log = encode_battles(battles)
    packed, bits = pack_battles(log.a, log.b, log.score_a)
    samples = elo_over_orders(
        packed, bits, log.n_models, int(n_orders), int(seed), bool(with_replacement),
        rule.k, rule.scale, rule.base, rule.init_rating, numba.get_num_threads(),
    )  # fmt: skip
    return log, samples


def permutation_elo(
    battles: Any,
    n_permutations: int = 100,
    seed: int = 0,
    rule: EloRule | None = None,
    **rule_fields: float,
) -> pd.DataFrame:
    """Online Elo averaged over ``n_permutations`` random orders of the battles.

    Returns a DataFrame indexed by model, best first: ``mean``, ``std``, ``ci_low``/``ci_high`` (2.5 % and
    97.5 % quantiles across orders) and ``rank`` (1 + number of models whose ``ci_low`` is above this
    model's ``ci_high``, so models whose order-intervals overlap share a rank).
    """
    _check_count("n_permutations", n_permutations)
    log, samples = elo_samples(battles, n_permutations, seed, False, EloRule.of(rule, **rule_fields))
    return summarize_samples(log.models, samples, point=samples.mean(axis=0), point_name="mean")
