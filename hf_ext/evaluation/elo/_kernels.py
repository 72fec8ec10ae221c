"""Compiled (numba) loops behind online Elo over many battle orders. Imported lazily: compiling costs ~1 s
once, then the machine code is cached beside this file.

Each order gets its own counter-based random stream (splitmix64 of ``seed`` and the order's index), so the
orders, and therefore the results, depend only on the seed: not on the thread count or scheduling.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53


@njit(cache=True, inline="always")
def _splitmix(state: np.uint64) -> tuple[np.uint64, np.uint64]:
    state = state + _GOLDEN
    z = state
    z = (z ^ (z >> np.uint64(30))) * _MIX1
    z = (z ^ (z >> np.uint64(27))) * _MIX2
    return state, z ^ (z >> np.uint64(31))


@njit(cache=True)
def _stream_state(seed: np.uint64, index: np.uint64) -> np.uint64:
    state, first = _splitmix(seed * _MIX1 + index)
    state, second = _splitmix(first ^ (index * _MIX2))
    return second


@njit(cache=True)
def fill_order(order: np.ndarray, seed: np.uint64, index: np.uint64, with_replacement: bool) -> None:
    """Battle positions for order ``index``: a uniform permutation (Fisher-Yates) or a bootstrap draw."""
    n = order.shape[0]
    state = _stream_state(seed, index)
    if with_replacement:
        for t in range(n):
            state, value = _splitmix(state)
            order[t] = min(int((value >> np.uint64(11)) * _TO_UNIT * n), n - 1)
        return
    for t in range(n):
        order[t] = t
    for t in range(n - 1):
        state, value = _splitmix(state)
        j = t + min(int((value >> np.uint64(11)) * _TO_UNIT * (n - t)), n - t - 1)
        order[t], order[j] = order[j], order[t]


@njit(cache=True)
def elo_in_order(ratings, a, b, score_a, order, k, scale, base) -> None:
    """Online Elo updates of ``ratings`` (in place) over the battles at positions ``order``."""
    log_base = np.log(base)
    for t in range(order.shape[0]):
        i = order[t]
        ra, rb = ratings[a[i]], ratings[b[i]]
        expected_a = 1.0 / (1.0 + np.exp(log_base * (rb - ra) / scale))
        delta = k * (score_a[i] - expected_a)
        ratings[a[i]] = ra + delta
        ratings[b[i]] = rb - delta


@njit(cache=True, parallel=True)
def elo_over_orders(a, b, score_a, n_models, n_orders, seed, with_replacement, k, scale, base, init):
    """``(n_orders, n_models)`` final ratings, one row per random order (or bootstrap resample)."""
    out = np.empty((n_orders, n_models))
    n = a.shape[0]
    for p in prange(n_orders):
        order = np.empty(n, dtype=np.int32)
        fill_order(order, np.uint64(seed), np.uint64(p), with_replacement)
        ratings = np.full(n_models, init)
        elo_in_order(ratings, a, b, score_a, order, k, scale, base)
        out[p] = ratings
    return out
