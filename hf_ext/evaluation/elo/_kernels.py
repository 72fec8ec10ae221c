"""Compiled (numba) loops behind online Elo over many battle orders. Imported lazily: the first call in a
fresh environment compiles for 10-20 s, then numba's cache beside this file makes later imports fast.

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
    """A draw from ``range(m)`` using the top 53 bits of ``value``."""
    return min(int((value >> np.uint64(11)) * _TO_UNIT * m), m - 1)


@njit(cache=True, inline="always")
def _small_uniform(value: np.uint64, m: int) -> int:
    """A draw from ``range(m)`` for small ``m`` (buckets, places in a bucket): multiply-shift on the top
    32 bits, no float conversion; the bias is below ``m / 2**32``."""
    return int(((value >> np.uint64(32)) * np.uint64(m)) >> np.uint64(32))


@njit(cache=True)
def arrange_into(payload, seed, index, with_replacement, arranged, copies, bucket_of, sizes) -> None:
    """Write ``payload`` in the random order ``index`` (a uniform permutation), or a bootstrap resample of
    it (``with_replacement``: n uniform draws, in uniformly random order), into ``arranged``.

    Built without random reads over the whole array (which at a million battles would miss the cache on
    every step): each item (each drawn copy, for the bootstrap) goes to a uniformly random bucket of about
    4096 items, buckets are filled by one sequential pass, and each bucket is shuffled by Fisher-Yates
    (Rao-Sandelius). Independent uniform buckets plus uniform shuffles inside them give a uniform order.
    ``copies``, ``bucket_of`` and ``sizes`` are scratch buffers (lengths n, n and n_buckets + 1).
    """
    n = payload.shape[0]
    n_buckets = sizes.shape[0] - 1
    if with_replacement:
        copies[:] = 0
        state = _stream_state(seed, index)
        for _ in range(n):
            state, value = _splitmix(state)
            copies[_uniform(value, n)] += 1
    sizes[:] = 0
    state = _stream_state(seed ^ _MIX2, index)
    for t in range(0, n, 2):  # one bucket per item (per drawn copy), in item order; two per draw
        state, value = _splitmix(state)
        bucket = _small_uniform(value, n_buckets)
        bucket_of[t] = bucket
        sizes[bucket + 1] += 1
        if t + 1 < n:
            bucket = _small_uniform(value << np.uint64(32), n_buckets)
            bucket_of[t + 1] = bucket
            sizes[bucket + 1] += 1
    for bucket in range(n_buckets):
        sizes[bucket + 1] += sizes[bucket]  # now bucket starts; sizes[-1] == n
    if with_replacement:
        t = 0
        for i in range(n):
            for _ in range(copies[i]):
                bucket = bucket_of[t]
                arranged[sizes[bucket]] = payload[i]
                sizes[bucket] += 1
                t += 1
    else:
        for i in range(n):
            bucket = bucket_of[i]
            arranged[sizes[bucket]] = payload[i]
            sizes[bucket] += 1
    # sizes[b] is now the end of bucket b (and the start of bucket b + 1).
    state = _stream_state(seed ^ _MIX1, index)
    start = 0
    for bucket in range(n_buckets):
        end = sizes[bucket]
        for t in range(start, end - 1, 2):  # two Fisher-Yates steps per draw
            state, value = _splitmix(state)
            j = t + _small_uniform(value, end - t)
            arranged[t], arranged[j] = arranged[j], arranged[t]
            if t + 1 < end - 1:
                j = t + 1 + _small_uniform(value << np.uint64(32), end - t - 1)
                arranged[t + 1], arranged[j] = arranged[j], arranged[t + 1]
        start = end


@njit(cache=True)
def _buffers(n: int, dtype_like: np.ndarray):
    n_buckets = max(1, n // _BUCKET_SIZE)
    return (
        np.empty(n, dtype=dtype_like.dtype),
        np.empty(n, dtype=np.int32),
        np.empty(n, dtype=np.int32),
        np.empty(n_buckets + 1, dtype=np.int64),
    )


@njit(cache=True)
def arrange(payload: np.ndarray, seed: np.uint64, index: np.uint64, with_replacement: bool) -> np.ndarray:
    """:func:`arrange_into` with fresh buffers: ``payload`` in random order ``index``."""
    arranged, copies, bucket_of, sizes = _buffers(payload.shape[0], payload)
    arrange_into(payload, seed, index, with_replacement, arranged, copies, bucket_of, sizes)
    return arranged


@njit(cache=True, inline="always")
def _update(ratings, offset, code, k, scale_factor) -> None:
    a = offset + (code & 0xFFFFF)
    b = offset + ((code >> 20) & 0xFFFFF)
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
        _update(ratings, 0, packed[order[t]], k, scale_factor)


_INTERLEAVED = 4  # orders updated side by side in one thread: independent chains hide exp/div latency


@njit(cache=True)
def _run_group(packed, n_models, first, count, seed, with_replacement, k, scale_factor, init, out, buffers):
    arranged, copies, bucket_of, sizes = buffers
    n = packed.shape[0]
    for c in range(count):
        arrange_into(
            packed,
            np.uint64(seed),
            np.uint64(first + c),
            with_replacement,
            arranged[c],
            copies,
            bucket_of,
            sizes,
        )
    ratings = np.full(_INTERLEAVED * n_models, init)
    if count == _INTERLEAVED:
        for t in range(n):
            _update(ratings, 0, arranged[0, t], k, scale_factor)
            _update(ratings, n_models, arranged[1, t], k, scale_factor)
            _update(ratings, 2 * n_models, arranged[2, t], k, scale_factor)
            _update(ratings, 3 * n_models, arranged[3, t], k, scale_factor)
    else:
        for c in range(count):
            for t in range(n):
                _update(ratings, c * n_models, arranged[c, t], k, scale_factor)
    for c in range(count):
        out[first + c] = ratings[c * n_models : (c + 1) * n_models]


@njit(cache=True, parallel=True)
def elo_over_orders(packed, n_models, n_orders, seed, with_replacement, k, scale, base, init, n_threads):
    """``(n_orders, n_models)`` final ratings, one row per random order (or bootstrap resample).

    Orders go in groups of four, walked in lockstep so that four sequential rating chains overlap in the
    CPU's pipeline; each parallel chunk of groups reuses its buffers. The result does not depend on
    ``n_threads`` (numba's thread count, passed in so that the compiled code can be cached).
    """
    out = np.empty((n_orders, n_models))
    n = packed.shape[0]
    scale_factor = np.log(base) / scale
    n_groups = (n_orders + _INTERLEAVED - 1) // _INTERLEAVED
    n_chunks = max(1, min(n_groups, 4 * n_threads))
    for chunk in prange(n_chunks):
        _, copies, bucket_of, sizes = _buffers(n, packed)
        arranged = np.empty((_INTERLEAVED, n), dtype=packed.dtype)
        for g in range(chunk, n_groups, n_chunks):
            first = g * _INTERLEAVED
            count = min(_INTERLEAVED, n_orders - first)
            buffers = (arranged, copies, bucket_of, sizes)
            _run_group(
                packed, n_models, first, count, seed, with_replacement, k, scale_factor, init, out, buffers
            )
    return out
