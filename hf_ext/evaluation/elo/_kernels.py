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


_BUCKET_SIZE = 4096  # battles per bucket: 32 KiB of packed battles, shuffled inside the L1/L2 cache


@njit(cache=True, inline="always")
def _uniform(value: np.uint64, m: int) -> int:
    return min(int((value >> np.uint64(11)) * _TO_UNIT * m), m - 1)


@njit(cache=True)
def arrange(payload: np.ndarray, seed: np.uint64, index: np.uint64, with_replacement: bool) -> np.ndarray:
    """``payload`` in the random order ``index`` (a uniform permutation), or a bootstrap resample of it
    (``with_replacement``: n uniform draws, in uniformly random order).

    Built without random reads over the whole array (which at a million battles would miss the cache on
    every step): each item (each drawn copy, for the bootstrap) goes to a uniformly random bucket of about
    4096 items, buckets are filled by one sequential pass, and each bucket is shuffled by Fisher-Yates
    (Rao-Sandelius). Independent uniform buckets plus uniform shuffles inside them give a uniform order.
    """
    n = payload.shape[0]
    n_buckets = max(1, n // _BUCKET_SIZE)
    copies = np.ones(n, dtype=np.int32)
    if with_replacement:
        copies[:] = 0
        state = _stream_state(seed, index)
        for _ in range(n):
            state, value = _splitmix(state)
            copies[_uniform(value, n)] += 1
    bucket_state = _stream_state(seed ^ _MIX2, index)
    sizes = np.zeros(n_buckets + 1, dtype=np.int64)
    state = bucket_state
    for _ in range(n):  # one bucket draw per item (per drawn copy), in item order
        state, value = _splitmix(state)
        sizes[_uniform(value, n_buckets) + 1] += 1
    starts = np.cumsum(sizes)
    fill = starts[:-1].copy()
    arranged = np.empty(n, dtype=payload.dtype)
    state = bucket_state  # the same stream again: the same buckets
    i, left = 0, copies[0]
    for _ in range(n):
        while left == 0:  # next item that has a copy left (always the next item for a permutation)
            i += 1
            left = copies[i]
        left -= 1
        state, value = _splitmix(state)
        bucket = _uniform(value, n_buckets)
        arranged[fill[bucket]] = payload[i]
        fill[bucket] += 1
    state = _stream_state(seed ^ _MIX1, index)
    for bucket in range(n_buckets):
        end = starts[bucket + 1]
        for t in range(starts[bucket], end - 1):
            state, value = _splitmix(state)
            j = t + _uniform(value, end - t)
            arranged[t], arranged[j] = arranged[j], arranged[t]
    return arranged


@njit(cache=True, inline="always")
def _update(ratings, code, k, scale_factor) -> None:
    a = code & 0xFFFFF
    b = (code >> 20) & 0xFFFFF
    score_a = 0.5 * (code >> 40)
    ra, rb = ratings[a], ratings[b]
    delta = k * (score_a - 1.0 / (1.0 + np.exp(scale_factor * (rb - ra))))
    ratings[a] = ra + delta
    ratings[b] = rb - delta


def pack_battles(a: np.ndarray, b: np.ndarray, score_a: np.ndarray) -> np.ndarray:
    """One int64 per battle (a: bits 0-19, b: bits 20-39, 2 * score_a: bits 40-41): one memory read per
    step instead of three."""
    if a.size and max(int(a.max()), int(b.max())) >= 1 << 20:
        raise ValueError("at most 1,048,576 models are supported")
    doubled = np.rint(score_a * 2.0).astype(np.int64)
    return a.astype(np.int64) | (b.astype(np.int64) << 20) | (doubled << 40)


@njit(cache=True)
def elo_in_order(ratings, packed, order, k, scale, base) -> None:
    """Online Elo updates of ``ratings`` (in place) over the packed battles at positions ``order``."""
    scale_factor = np.log(base) / scale
    for t in range(order.shape[0]):
        _update(ratings, packed[order[t]], k, scale_factor)


@njit(cache=True, parallel=True)
def elo_over_orders(packed, n_models, n_orders, seed, with_replacement, k, scale, base, init):
    """``(n_orders, n_models)`` final ratings, one row per random order (or bootstrap resample)."""
    out = np.empty((n_orders, n_models))
    scale_factor = np.log(base) / scale
    for p in prange(n_orders):
        arranged = arrange(packed, np.uint64(seed), np.uint64(p), with_replacement)
        ratings = np.full(n_models, init)
        for t in range(arranged.shape[0]):
            _update(ratings, arranged[t], k, scale_factor)
        out[p] = ratings
    return out
