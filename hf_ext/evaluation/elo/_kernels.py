"""Compiled (numba) loops behind online Elo over many battle orders. Imported lazily: the first call in a
fresh environment compiles for 10-20 s, then numba's cache beside this file makes later imports fast.

Each order gets its own counter-based random streams (splitmix64 of ``seed`` and the order's index), so the
orders, and therefore the results, depend only on the seed: not on the thread count or scheduling.

Work per rating update is what limits speed (10^9 updates for 1000 orders of a million battles), so:

- battles are packed into one integer each (32 bits when there are at most 32,768 models);
- a random order is built without random reads over the whole log: a cache-friendly bucket shuffle
  whose per-bucket Fisher-Yates passes run just ahead of the rating updates, while the bucket is in cache;
- a bootstrap resample is n independent uniform draws, drawn chunk by chunk just ahead of the updates;
- four orders are updated side by side in one thread, so that four independent rating chains overlap in
  the CPU's pipeline, on exponentiated ratings whose step factor is a short polynomial (no libm exp).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

_BUCKET_SIZE = 4096  # battles per shuffle bucket: 16-32 KiB, shuffled inside the L1/L2 cache
_INTERLEAVED = 4  # orders updated side by side in one thread: independent chains hide latency
_CHUNK = 4096  # positions produced per order before they are rated


# --- random streams --------------------------------------------------------------------------------


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


@njit(cache=True, inline="always")
def _bucket_draw(value: np.uint64, n_buckets: int) -> np.uint64:
    """A bucket from ``range(n_buckets)``: multiply-shift on the top 32 bits of ``value`` (bias below
    ``n_buckets / 2**32``), unsigned so that indexing skips negative-index checks."""
    return ((value >> np.uint64(32)) * np.uint64(n_buckets)) >> np.uint64(32)


# --- random orders: a bucket shuffle (Rao-Sandelius) -------------------------------------------------
# Each item goes to a uniformly random bucket of about 4096 items (draws regenerated from the same
# stream instead of stored), buckets are filled by one sequential pass, and each bucket is shuffled by
# Fisher-Yates. Independent uniform buckets plus uniform shuffles inside them give a uniform order.


@njit(cache=True)
def _fill_buckets(payload, seed: np.uint64, index: np.uint64, arranged, starts) -> None:
    """Order ``index`` before the in-bucket shuffles: ``payload`` copied into ``arranged`` bucket by bucket,
    and ``starts[b]`` the first position of bucket ``b`` (``starts[-1] == n``). Two passes over the same
    draws (regenerated, not stored; two per random number): count the bucket sizes, then place each item."""
    n = payload.shape[0]
    n_buckets = starts.shape[0] - 1
    one = np.uint64(1)
    starts[:] = 0
    state = _stream_state(seed ^ _MIX2, index)
    for t in range(0, n, 2):
        state, value = _splitmix(state)
        starts[_bucket_draw(value, n_buckets) + one] += 1
        if t + 1 < n:
            starts[_bucket_draw(value << np.uint64(32), n_buckets) + one] += 1
    for bucket in range(n_buckets):
        starts[bucket + 1] += starts[bucket]
    cursors = starts[:n_buckets].astype(np.uint64)
    state = _stream_state(seed ^ _MIX2, index)
    for t in range(0, n, 2):
        state, value = _splitmix(state)
        bucket = _bucket_draw(value, n_buckets)
        arranged[cursors[bucket]] = payload[np.uint64(t)]
        cursors[bucket] += one
        if t + 1 < n:
            bucket = _bucket_draw(value << np.uint64(32), n_buckets)
            arranged[cursors[bucket]] = payload[np.uint64(t + 1)]
            cursors[bucket] += one


@njit(cache=True, inline="always")
def _below(value: np.uint64, m: int) -> int:
    """``floor(value * m / 2**64)`` for ``0 < m < 2**32``, exactly, in integer arithmetic: a uniform draw
    from ``range(m)`` whose bias is below ``m / 2**64``."""
    m64 = np.uint64(m)
    high = (value >> np.uint64(32)) * m64
    low = ((value & np.uint64(0xFFFFFFFF)) * m64) >> np.uint64(32)
    return int((high + low) >> np.uint64(32))


@njit(cache=True)
def _n_buckets(n: int) -> int:
    return max(1, n // _BUCKET_SIZE)


@njit(cache=True)
def _next_battles(payload, buffer, starts, start, end, bucket, state, with_replacement, out) -> tuple:
    """Positions ``start:end`` (``start`` even) of one order into ``out[: end - start]``: Fisher-Yates steps
    through the bucketed ``buffer`` (``bucket``: the bucket holding position ``start``), or bootstrap draws
    from ``payload``. Returns ``(stream state, bucket)`` to carry on from ``end``.

    A Fisher-Yates step at position t swaps a uniform pick from the rest of its bucket into place t and
    emits it; place t itself is not written back, as nothing reads it again. Each random number serves
    two positions (t even: its top 32 bits; t + 1: the bottom 32). Indices are unsigned, which spares the
    compiled code its negative-index checks."""
    if with_replacement:
        for t in range(start, end):
            state, value = _splitmix(state)
            out[t - start] = payload[_below(value, payload.shape[0])]
        return state, bucket
    bucket_end = starts[bucket + 1]
    value = np.uint64(0)
    for t in range(start, end):
        while t == bucket_end:
            bucket += 1
            bucket_end = starts[bucket + 1]
        if t & 1 == 0:
            state, value = _splitmix(state)
            draw = value >> np.uint64(32)
        else:
            draw = value & np.uint64(0xFFFFFFFF)
        place = np.uint64(t)
        pick = place + ((draw * np.uint64(bucket_end - t)) >> np.uint64(32))
        out[np.uint64(t - start)] = buffer[pick]
        buffer[pick] = buffer[place]
    return state, bucket


@njit(cache=True)
def _prepare_order(payload, seed: np.uint64, index: np.uint64, with_replacement: bool, buffer, starts):
    """The stream state that starts order ``index`` (after bucketing ``payload`` into ``buffer`` and
    ``starts`` for a permutation)."""
    if with_replacement:
        return _stream_state(seed, index)
    _fill_buckets(payload, seed, index, buffer, starts)
    return _stream_state(seed ^ _MIX1, index)


@njit(cache=True)
def arrange(payload: np.ndarray, seed: np.uint64, index: np.uint64, with_replacement: bool) -> np.ndarray:
    """``payload`` in random order ``index`` (a uniform permutation), or bootstrap resample ``index`` of it
    (``with_replacement``: n independent uniform draws): exactly what :func:`elo_over_orders` reads."""
    n = payload.shape[0]
    buffer = np.empty(0 if with_replacement else n, dtype=payload.dtype)
    starts = np.zeros(_n_buckets(n) + 1, dtype=np.int64)
    state = _prepare_order(payload, seed, index, with_replacement, buffer, starts)
    arranged = np.empty(n, dtype=payload.dtype)
    _next_battles(payload, buffer, starts, 0, n, 0, state, with_replacement, arranged)
    return arranged


# --- rating updates ----------------------------------------------------------------------------------
# The classic update computes E_a = 1 / (1 + exp(c (R_b - R_a))), c = ln(base) / scale: one exp per battle.
# Many orders at once use the same arithmetic on exponentiated ratings Q = exp(c (R - init)) instead:
# E_a = Q_a / (Q_a + Q_b), and after R_a += d, R_b -= d, Q_a *= exp(c d), Q_b *= exp(-c d). |c d| <= c k is
# small (0.023 at FastChat's defaults), so exp(+-c d) is a short polynomial, with no library call. Both
# give the same ratings to about 1e-11 points; each batch order checks Q against exp(c (R - init)) at the
# end and is recomputed with the classic update if they drifted apart (extreme ratings: Q out of range).

_INVERSE_FACTORIALS = tuple(1.0 / math.factorial(i) for i in range(13))
_SHORT_STEP_EXPONENT = 0.03  # |c k| up to which the degree-7 polynomial is exact to about 1 ulp
_MAX_STEP_EXPONENT = 0.2  # |c k| up to which the degree-12 polynomial is; beyond, the classic update
_DRIFT_TOLERANCE = 1e-10  # relative mismatch of Q and exp(c (R - init)) that sends an order to the classic


@njit(cache=True, inline="always", fastmath={"contract"})
def _exp_pair(y: float, short: bool) -> tuple[float, float]:
    """``(exp(y), exp(-y))`` to about 1 ulp from the Taylor polynomial split into even and odd parts: degree
    7 for ``|y| <= 0.03`` (``short``; truncation below ``0.03**8 / 8! ~ 2e-17``), else degree 12 for
    ``|y| <= 0.2`` (below ``0.2**13 / 13! ~ 1e-19``)."""
    f = _INVERSE_FACTORIALS
    y2 = y * y
    y4 = y2 * y2
    even = (1.0 + y2 * f[2]) + (f[4] + y2 * f[6]) * y4
    odd = (1.0 + y2 * f[3]) + (f[5] + y2 * f[7]) * y4
    if not short:
        y8 = y4 * y4
        even += ((f[8] + y2 * f[10]) + y4 * f[12]) * y8
        odd += (f[9] + y2 * f[11]) * y8
    odd *= y
    return even + odd, even - odd


@njit(cache=True, inline="always")
def _decode(code, bits: int, offset: int) -> tuple[np.uint64, np.uint64, float]:
    """``code`` holds a (bits 0..bits-1), b (the next ``bits``) and 2 * score_a (the rest). The indices
    come back unsigned, which spares the compiled code its negative-index checks."""
    code, shift, base = np.uint64(code), np.uint64(bits), np.uint64(offset)
    mask = (np.uint64(1) << shift) - np.uint64(1)
    return base + (code & mask), base + ((code >> shift) & mask), 0.5 * (code >> (shift + shift))


@njit(cache=True, inline="always")
def _update(ratings, offset, code, bits, k, scale_factor) -> None:
    """The classic update, for one battle."""
    a, b, score_a = _decode(code, bits, offset)
    ra, rb = ratings[a], ratings[b]
    delta = k * (score_a - 1.0 / (1.0 + np.exp(scale_factor * (rb - ra))))
    ratings[a] = ra + delta
    ratings[b] = rb - delta


@njit(cache=True, inline="always", fastmath={"contract"})
def _update_four(ratings, exp_ratings, n_models, codes, t, bits, k, scale_factor, short) -> None:
    """Battle ``t`` of four orders (``codes[c, t]``; order c's ratings at ``c * n_models``), on exponentiated
    ratings. Written phase by phase across the orders (all loads, then all arithmetic, then all stores),
    which lets the CPU overlap four dependency chains."""
    a0, b0, s0 = _decode(codes[0, t], bits, 0)
    a1, b1, s1 = _decode(codes[1, t], bits, n_models)
    a2, b2, s2 = _decode(codes[2, t], bits, 2 * n_models)
    a3, b3, s3 = _decode(codes[3, t], bits, 3 * n_models)
    qa0, qb0, qa1, qb1 = exp_ratings[a0], exp_ratings[b0], exp_ratings[a1], exp_ratings[b1]
    qa2, qb2, qa3, qb3 = exp_ratings[a2], exp_ratings[b2], exp_ratings[a3], exp_ratings[b3]
    d0 = k * (s0 - qa0 / (qa0 + qb0))
    d1 = k * (s1 - qa1 / (qa1 + qb1))
    d2 = k * (s2 - qa2 / (qa2 + qb2))
    d3 = k * (s3 - qa3 / (qa3 + qb3))
    up0, down0 = _exp_pair(scale_factor * d0, short)
    up1, down1 = _exp_pair(scale_factor * d1, short)
    up2, down2 = _exp_pair(scale_factor * d2, short)
    up3, down3 = _exp_pair(scale_factor * d3, short)
    exp_ratings[a0], exp_ratings[b0] = qa0 * up0, qb0 * down0
    exp_ratings[a1], exp_ratings[b1] = qa1 * up1, qb1 * down1
    exp_ratings[a2], exp_ratings[b2] = qa2 * up2, qb2 * down2
    exp_ratings[a3], exp_ratings[b3] = qa3 * up3, qb3 * down3
    ratings[a0] += d0
    ratings[b0] -= d0
    ratings[a1] += d1
    ratings[b1] -= d1
    ratings[a2] += d2
    ratings[b2] -= d2
    ratings[a3] += d3
    ratings[b3] -= d3


def pack_battles(a: np.ndarray, b: np.ndarray, score_a: np.ndarray) -> tuple[np.ndarray, int]:
    """One integer per battle (one memory read per step instead of three) and the bits per model index:
    ``uint32`` with 15 bits per model for at most 32,768 models, else ``int64`` with 20 bits."""
    largest = max(int(a.max()), int(b.max())) if a.size else 0
    if largest >= 1 << 20:
        raise ValueError("at most 1,048,576 models are supported")
    if a.size >= 1 << 32:
        raise ValueError("at most 2**32 - 1 battles are supported")
    doubled = np.rint(score_a * 2.0).astype(np.int64)
    bits = 15 if largest < 1 << 15 else 20
    packed = a.astype(np.int64) | (b.astype(np.int64) << bits) | (doubled << (2 * bits))
    return (packed.astype(np.uint32) if bits == 15 else packed), bits


@njit(cache=True)
def elo_in_order(ratings, packed, bits, order, k, scale, base) -> None:
    """Online Elo updates of ``ratings`` (in place) over the packed battles at positions ``order``, with
    the classic update."""
    scale_factor = np.log(base) / scale
    for t in range(order.shape[0]):
        _update(ratings, 0, packed[order[t]], bits, k, scale_factor)


@njit(cache=True)
def _run_group(packed, bits, n_models, first, count, seed, with_replacement, k, scale, base, init, out, work):
    """Orders ``first .. first + count - 1`` (count <= 4) into ``out``. Always four orders run side by side
    (the ones past ``count`` are computed and dropped), advancing chunk by chunk: each chunk's battles are
    produced per order (Fisher-Yates steps, or bootstrap draws), then rated. ``work``: scratch
    ``(buffers, starts, chunk)`` for four orders (buffers are unused for the bootstrap)."""
    buffers, starts, chunk = work
    n = packed.shape[0]
    scale_factor = np.log(base) / scale
    states = np.empty(_INTERLEAVED, dtype=np.uint64)
    buckets = np.zeros(_INTERLEAVED, dtype=np.int64)
    for c in range(_INTERLEAVED):
        index = np.uint64(first + c)
        states[c] = _prepare_order(packed, seed, index, with_replacement, buffers[c], starts[c])
    ratings = np.full(_INTERLEAVED * n_models, init)
    exp_ratings = np.ones(_INTERLEAVED * n_models)
    fast = scale_factor * k <= _MAX_STEP_EXPONENT
    short = scale_factor * k <= _SHORT_STEP_EXPONENT
    for start in range(0, n, chunk.shape[1]):
        end = min(n, start + chunk.shape[1])
        for c in range(_INTERLEAVED):
            states[c], buckets[c] = _next_battles(
                packed, buffers[c], starts[c], start, end, buckets[c], states[c], with_replacement, chunk[c]
            )
        if short:  # the literal flags let the compiler drop the polynomial branch from each loop
            for t in range(end - start):
                _update_four(ratings, exp_ratings, n_models, chunk, t, bits, k, scale_factor, True)
        elif fast:
            for t in range(end - start):
                _update_four(ratings, exp_ratings, n_models, chunk, t, bits, k, scale_factor, False)
        else:
            for t in range(end - start):
                for c in range(_INTERLEAVED):
                    _update(ratings, c * n_models, chunk[c, t], bits, k, scale_factor)
    for c in range(count):
        order_ratings = ratings[c * n_models : (c + 1) * n_models]
        if fast:
            expected = np.exp(scale_factor * (order_ratings - init))
            drift = np.abs(exp_ratings[c * n_models : (c + 1) * n_models] / expected - 1.0)
            if not np.all(drift <= _DRIFT_TOLERANCE):  # also catches inf and nan
                order_ratings[:] = init
                arranged = arrange(packed, seed, np.uint64(first + c), with_replacement)
                elo_in_order(order_ratings, arranged, bits, np.arange(n), k, scale, base)
        out[first + c] = order_ratings


@njit(cache=True, parallel=True)
def elo_over_orders(
    packed, bits, n_models, n_orders, seed, with_replacement, k, scale, base, init, n_threads
):  # fmt: skip
    """``(n_orders, n_models)`` final ratings, one row per random order (or bootstrap resample).

    Orders go in groups of four walked in lockstep; each parallel chunk of groups reuses its buffers. The
    result does not depend on ``n_threads`` (numba's thread count, passed in so that the compiled code can
    be cached).
    """
    out = np.empty((n_orders, n_models))
    n = packed.shape[0]
    n_groups = (n_orders + _INTERLEAVED - 1) // _INTERLEAVED
    n_chunks = max(1, min(n_groups, 4 * n_threads))
    for part in prange(n_chunks):
        work = (
            np.empty((_INTERLEAVED, 0 if with_replacement else n), dtype=packed.dtype),
            np.zeros((_INTERLEAVED, _n_buckets(n) + 1), dtype=np.int64),
            np.empty((_INTERLEAVED, _CHUNK), dtype=packed.dtype),
        )
        for g in range(part, n_groups, n_chunks):
            first = g * _INTERLEAVED
            count = min(_INTERLEAVED, n_orders - first)
            _run_group(
                packed, bits, n_models, first, count, np.uint64(seed), with_replacement,
                k, scale, base, init, out, work,
            )  # fmt: skip
    return out
