"""Compiled (numba) loops behind online Elo over many battle orders. Imported lazily: the first call in a
fresh environment compiles for 10-20 s, then numba's cache beside this file makes later imports fast.

Each order gets its own counter-based random streams (splitmix64 of ``seed`` and the order's index), so the
orders, and therefore the results, depend only on the seed: not on the thread count or scheduling.

Work per rating update is what limits speed (10^9 updates for 1000 orders of a million battles), so:

- battles are packed into one integer each (32 bits when there are at most 32,768 models);
- a random order is built without random reads over the whole log: a cache-friendly bucket shuffle (one
  pass into fixed-capacity buckets) whose per-bucket Fisher-Yates steps run just ahead of the rating
  updates, on a copy of the bucket in a small scratch array that stays in cache;
- a bootstrap resample is n independent uniform draws, drawn chunk by chunk just ahead of the updates;
- four orders are updated side by side in one thread as the four lanes of one SIMD vector, on
  exponentiated ratings whose step factor is a short polynomial (no libm exp, no per-lane division).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)

_BUCKET_SIZE = 4096  # battles per shuffle bucket: 16-32 KiB, shuffled inside the L1/L2 cache
_INTERLEAVED = 4  # orders updated side by side in one thread: the lanes of one 4 x float64 vector
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
# Each item goes to a uniformly random bucket of about 4096 items, buckets are filled by one sequential
# pass, and each bucket is shuffled by Fisher-Yates. Independent uniform buckets plus uniform shuffles
# inside them give a uniform order. A bucket layout is ``layout[0, b]``: bucket b's first slot in the
# buffer, and ``layout[1, b]``: its first position in the order (``layout[1, -1] == n``).


@njit(cache=True)
def _n_buckets(n: int) -> int:
    return max(1, n // _BUCKET_SIZE)


@njit(cache=True)
def _bucket_capacity(n: int) -> int:
    """Slots per bucket: the mean plus 8 standard deviations (an overflow has probability below 1e-13)."""
    mean = n / _n_buckets(n)
    return min(n, int(mean + 8.0 * np.sqrt(mean)) + 64)


@njit(cache=True)
def _fill_buckets(payload, seed: np.uint64, index: np.uint64, buffer, layout) -> None:
    """Order ``index`` before the in-bucket shuffles: ``payload`` copied into ``buffer`` bucket by bucket,
    in one pass into buckets of ``len(buffer) // n_buckets`` slots each (two draws per random number).
    Should a bucket overflow, the same draws are replayed into contiguous buckets (count, then place):
    another layout with the same bucket contents, so the same order."""
    n = payload.shape[0]
    n_buckets = layout.shape[1] - 1
    capacity = np.uint64(buffer.shape[0] // n_buckets)
    one, high = np.uint64(1), np.uint64(32)
    sizes = np.zeros(n_buckets, dtype=np.uint64)
    fits = True
    state = _stream_state(seed ^ _MIX2, index)
    for t in range(0, n, 2):
        state, value = _splitmix(state)
        bucket = _bucket_draw(value, n_buckets)
        size = sizes[bucket]
        if size == capacity:
            fits = False
            break
        buffer[bucket * capacity + size] = payload[np.uint64(t)]
        sizes[bucket] = size + one
        if t + 1 < n:
            bucket = _bucket_draw(value << high, n_buckets)
            size = sizes[bucket]
            if size == capacity:
                fits = False
                break
            buffer[bucket * capacity + size] = payload[np.uint64(t + 1)]
            sizes[bucket] = size + one
    if not fits:  # replay the draws once, then place contiguously: count, then place
        buckets = np.empty(n, dtype=np.uint64)
        state = _stream_state(seed ^ _MIX2, index)
        for t in range(0, n, 2):
            state, value = _splitmix(state)
            for half in range(min(2, n - t)):
                buckets[t + half] = _bucket_draw(value << (high * np.uint64(half)), n_buckets)
        sizes[:] = 0
        for bucket in buckets:
            sizes[bucket] += one
    layout[:, 0] = 0
    for bucket in range(n_buckets):
        layout[0, bucket + 1] = layout[0, bucket] + (capacity if fits else sizes[bucket])
        layout[1, bucket + 1] = layout[1, bucket] + sizes[bucket]
    if not fits:
        cursors = layout[0, :n_buckets].astype(np.uint64)
        for t in range(n):
            buffer[cursors[buckets[t]]] = payload[t]
            cursors[buckets[t]] += one


@njit(cache=True, inline="always")
def _below(value: np.uint64, m: int) -> int:
    """``floor(value * m / 2**64)`` for ``0 < m < 2**32``, exactly, in integer arithmetic: a uniform draw
    from ``range(m)`` whose bias is below ``m / 2**64``."""
    m64 = np.uint64(m)
    high = (value >> np.uint64(32)) * m64
    low = ((value & np.uint64(0xFFFFFFFF)) * m64) >> np.uint64(32)
    return int((high + low) >> np.uint64(32))


@njit(cache=True, inline="always")
def _bucket_area(buffer, layout, bucket: int, scratch, load: bool):
    """Where bucket ``bucket`` is shuffled: ``scratch``, after copying the bucket there if ``load``; or,
    for a bucket larger than ``scratch`` (only after an overflow), its place in ``buffer``."""
    first = np.uint64(layout[0, bucket])
    size = layout[1, bucket + 1] - layout[1, bucket]
    if size > scratch.shape[0]:
        return buffer[first : first + np.uint64(size)]
    if load:
        for j in range(size):
            scratch[j] = buffer[first + np.uint64(j)]
    return scratch


@njit(cache=True)
def _next_battles(
    payload, buffer, layout, start, end, bucket, state, with_replacement, out, scratch
):  # fmt: skip
    """Positions ``start:end`` (``start`` even) of one order into ``out[: end - start]``: Fisher-Yates steps
    through the bucketed ``buffer`` (``bucket``: the bucket holding position ``start``, already copied
    into ``scratch`` unless ``start == 0``), or bootstrap draws from ``payload``. Returns ``(stream state,
    bucket)`` to carry on from ``end``.

    The steps run on the bucket's copy in ``scratch`` (a sequential read, then random access inside the
    cache; ``buffer`` is not written). A step at position t swaps a uniform pick from the rest of its
    bucket into place t and emits it; place t itself is not written back, as nothing reads it again. Each
    random number serves two positions (t even: its top 32 bits; t + 1: the bottom 32). Indices are
    unsigned, which spares the compiled code its negative-index checks."""
    if with_replacement:
        for t in range(start, end):
            state, value = _splitmix(state)
            out[t - start] = payload[_below(value, payload.shape[0])]
        return state, bucket
    area = _bucket_area(buffer, layout, bucket, scratch, start == 0)
    value = np.uint64(0)
    t = start
    while t < end:
        while t == layout[1, bucket + 1]:
            bucket += 1
            area = _bucket_area(buffer, layout, bucket, scratch, True)
        bucket_start, bucket_end = layout[1, bucket], layout[1, bucket + 1]
        stop = min(end, bucket_end)
        for u in range(t, stop):
            if u & 1 == 0:
                state, value = _splitmix(state)
                draw = value >> np.uint64(32)
            else:
                draw = value & np.uint64(0xFFFFFFFF)
            place = np.uint64(u - bucket_start)
            pick = place + ((draw * np.uint64(bucket_end - u)) >> np.uint64(32))
            out[np.uint64(u - start)] = area[pick]
            area[pick] = area[place]
        t = stop
    return state, bucket


@njit(cache=True)
def _order_scratch(n: int, n_orders: int, dtype, with_replacement: bool) -> tuple:
    """``(buffers, layouts, scratches)`` for ``n_orders`` orders of ``n`` battles (empty for the
    bootstrap, which reads the log directly)."""
    n_buckets = 0 if with_replacement else _n_buckets(n)
    capacity = 0 if with_replacement else _bucket_capacity(n)
    return (
        np.empty((n_orders, n_buckets * capacity), dtype=dtype),
        np.zeros((n_orders, 2, n_buckets + 1), dtype=np.int64),
        np.empty((n_orders, capacity), dtype=dtype),
    )


@njit(cache=True)
def _prepare_order(payload, seed: np.uint64, index: np.uint64, with_replacement: bool, buffer, layout):
    """The stream state that starts order ``index`` (after bucketing ``payload`` into ``buffer`` and
    ``layout`` for a permutation)."""
    if with_replacement:
        return _stream_state(seed, index)
    _fill_buckets(payload, seed, index, buffer, layout)
    return _stream_state(seed ^ _MIX1, index)


@njit(cache=True)
def arrange(payload: np.ndarray, seed: np.uint64, index: np.uint64, with_replacement: bool) -> np.ndarray:
    """``payload`` in random order ``index`` (a uniform permutation), or bootstrap resample ``index`` of it
    (``with_replacement``: n independent uniform draws): exactly what :func:`elo_over_orders` reads."""
    n = payload.shape[0]
    buffers, layouts, scratches = _order_scratch(n, 1, payload.dtype, with_replacement)
    state = _prepare_order(payload, seed, index, with_replacement, buffers[0], layouts[0])
    arranged = np.empty(n, dtype=payload.dtype)
    _next_battles(payload, buffers[0], layouts[0], 0, n, 0, state, with_replacement, arranged, scratches[0])
    return arranged


# --- rating updates ----------------------------------------------------------------------------------
# The classic update computes E_a = 1 / (1 + exp(c (R_b - R_a))), c = ln(base) / scale: one exp per battle.
# Many orders at once use the same arithmetic on exponentiated ratings Q = exp(c (R - init)) instead:
# E_a = Q_a / (Q_a + Q_b), and R_a += d, R_b -= d become Q_a *= exp(c d), Q_b *= exp(-c d). |c d| <= c k is
# small (0.023 at FastChat's defaults), so exp(+-c d) is a short polynomial, with no library call; the
# ratings come back as init + ln(Q) / c at the end. Both give the same ratings to about 1e-11 points. An
# order whose Q left the normal float range (never seen: it would take ratings ~10^5 points apart) is
# recomputed with the classic update.

_INVERSE_FACTORIALS = tuple(1.0 / math.factorial(i) for i in range(13))
_SHORT_STEP_EXPONENT = 0.03  # |c k| up to which the degree-7 polynomial is exact to about 1 ulp
_MAX_STEP_EXPONENT = 0.2  # |c k| up to which the degree-12 polynomial is; beyond, the classic update
_EXP_RANGE = 1e300  # Q must stay within [1 / _EXP_RANGE, _EXP_RANGE] for an order to keep the fast result


def _exp_step_intrinsic(degree: int):
    """An intrinsic ``(qa, qb, target, neg_kc) -> (qa', qb')`` for four lanes at once (4-tuples of floats;
    the result an 8-tuple ``qa'[0..3] + qb'[0..3]``), computed as one 4 x float64 SIMD vector:
    ``y = neg_kc * qa / (qa + qb) + target``, ``qa' = qa * exp(y)``, ``qb' = qb * exp(-y)``, with
    ``exp(+-y) = even(y) +- odd(y)`` from the Taylor polynomial of ``degree`` (Estrin's scheme, fused
    multiply-adds). ``target`` is ``c k S_a`` and ``neg_kc`` is ``-c k``, so that ``y = c d``."""
    even_coefficients = _INVERSE_FACTORIALS[0 : degree + 1 : 2]  # of y**0, y**2, ...
    odd_coefficients = _INVERSE_FACTORIALS[1 : degree + 1 : 2]  # of y**1, y**3, ... (divided by y)

    @intrinsic
    def exp_step(typingctx, qa, qb, target, neg_kc):
        signature = types.UniTuple(types.float64, 8)(qa, qb, target, neg_kc)

        def codegen(context, builder, sig, args):
            lanes = ir.VectorType(ir.DoubleType(), 4)
            fma_function = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(lanes, [lanes] * 3), "llvm.fma.v4f64"
            )

            def fma(x, y, z):  # x * y + z, rounded once
                return builder.call(fma_function, [x, y, z])

            def vector(values):
                packed = ir.Constant(lanes, ir.Undefined)
                for lane, value in enumerate(values):
                    packed = builder.insert_element(packed, value, ir.Constant(ir.IntType(32), lane))
                return packed

            def constant(value):
                return ir.Constant(lanes, [ir.Constant(ir.DoubleType(), value)] * 4)

            def polynomial(x, coefficients):  # Estrin: pair terms with x, then with x**2, ...
                terms = [constant(c) for c in coefficients]
                while len(terms) > 1:
                    paired = [fma(x, terms[i + 1], terms[i]) for i in range(0, len(terms) - 1, 2)]
                    terms = paired + terms[len(terms) - len(terms) % 2 :]
                    x = builder.fmul(x, x) if len(terms) > 1 else x
                return terms[0]

            qa_, qb_, target_ = (vector(builder.extract_value(t, i) for i in range(4)) for t in args[:3])
            neg_kc_ = vector([args[3]] * 4)
            y = fma(neg_kc_, builder.fdiv(qa_, builder.fadd(qa_, qb_)), target_)
            y2 = builder.fmul(y, y)
            even = polynomial(y2, even_coefficients)
            odd = polynomial(y2, odd_coefficients)
            new_qa = builder.fmul(qa_, fma(odd, y, even))
            new_qb = builder.fmul(qb_, fma(builder.fneg(odd), y, even))
            values = [
                builder.extract_element(v, ir.Constant(ir.IntType(32), i))
                for v in (new_qa, new_qb)
                for i in range(4)
            ]
            return context.make_tuple(builder, sig.return_type, values)

        return signature, codegen

    return exp_step


_exp_step_short = _exp_step_intrinsic(7)  # for |c k| <= 0.03: truncation below 0.03**8 / 8! ~ 2e-17
_exp_step_long = _exp_step_intrinsic(12)  # for |c k| <= 0.2: below 0.2**13 / 13! ~ 1e-19


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


@njit(cache=True, inline="always")
def _update_four(exp_ratings, n_models, codes, t, bits, kc, short) -> None:
    """Battle ``t`` of four orders (``codes[c, t]``; order c's ratings at ``c * n_models``), on
    exponentiated ratings, the four as one SIMD vector; ``kc`` is ``c k``."""
    a0, b0, s0 = _decode(codes[0, t], bits, 0)
    a1, b1, s1 = _decode(codes[1, t], bits, n_models)
    a2, b2, s2 = _decode(codes[2, t], bits, 2 * n_models)
    a3, b3, s3 = _decode(codes[3, t], bits, 3 * n_models)
    qa = (exp_ratings[a0], exp_ratings[a1], exp_ratings[a2], exp_ratings[a3])
    qb = (exp_ratings[b0], exp_ratings[b1], exp_ratings[b2], exp_ratings[b3])
    target = (kc * s0, kc * s1, kc * s2, kc * s3)
    if short:  # a literal at each call site: the compiler keeps one branch
        q = _exp_step_short(qa, qb, target, -kc)
    else:
        q = _exp_step_long(qa, qb, target, -kc)
    exp_ratings[a0], exp_ratings[a1], exp_ratings[a2], exp_ratings[a3] = q[0], q[1], q[2], q[3]
    exp_ratings[b0], exp_ratings[b1], exp_ratings[b2], exp_ratings[b3] = q[4], q[5], q[6], q[7]


@njit(cache=True)
def _ratings_from_exp(exp_ratings, init: float, scale_factor: float, out) -> bool:
    """``out[:] = init + ln(exp_ratings) / c`` if every Q is within the normal range, else False."""
    for q in exp_ratings:
        if not (1.0 / _EXP_RANGE <= q <= _EXP_RANGE):  # also catches nan
            return False
    out[:] = init + np.log(exp_ratings) / scale_factor
    return True


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
def weighted_elo_in_order(ratings, a, b, score_a, weight, k, scale, base) -> None:
    """Online Elo updates of ``ratings`` (in place), battle by battle in the given order, each step scaled by
    the battle's weight: ``R_a += k w (S_a - E_a)``, ``R_b -= k w (S_a - E_a)`` (weight 0 skips the battle,
    an integer weight is not the same as repeating it: the repeats would see updated ratings)."""
    scale_factor = np.log(base) / scale
    for t in range(a.shape[0]):
        i, j = a[t], b[t]
        ra, rb = ratings[i], ratings[j]
        delta = k * weight[t] * (score_a[t] - 1.0 / (1.0 + np.exp(scale_factor * (rb - ra))))
        ratings[i] = ra + delta
        ratings[j] = rb - delta


@njit(cache=True, error_model="numpy")
def _run_group(packed, bits, n_models, first, count, seed, with_replacement, k, scale, base, init, out, work):
    """Orders ``first .. first + count - 1`` (count <= 4) into ``out``. Always four orders run side by side
    (the ones past ``count`` are computed and dropped), advancing chunk by chunk: each chunk's battles are
    produced per order (Fisher-Yates steps, or bootstrap draws), then rated. ``work``: scratch
    ``(buffers, layouts, scratches, chunk)`` for four orders (see :func:`_order_scratch`)."""
    buffers, layouts, scratches, chunk = work
    n = packed.shape[0]
    scale_factor = np.log(base) / scale
    kc = k * scale_factor
    fast, short = kc <= _MAX_STEP_EXPONENT, kc <= _SHORT_STEP_EXPONENT
    states = np.empty(_INTERLEAVED, dtype=np.uint64)
    buckets = np.zeros(_INTERLEAVED, dtype=np.int64)
    for c in range(_INTERLEAVED):
        index = np.uint64(first + c)
        states[c] = _prepare_order(packed, seed, index, with_replacement, buffers[c], layouts[c])
    values = np.full(_INTERLEAVED * n_models, 1.0 if fast else init)  # Q, or the ratings themselves
    for start in range(0, n, chunk.shape[1]):
        end = min(n, start + chunk.shape[1])
        for c in range(_INTERLEAVED):
            states[c], buckets[c] = _next_battles(
                packed, buffers[c], layouts[c], start, end, buckets[c], states[c], with_replacement,
                chunk[c], scratches[c],
            )  # fmt: skip
        if short:  # the literal flags let the compiler keep one polynomial in each loop
            for t in range(end - start):
                _update_four(values, n_models, chunk, t, bits, kc, True)
        elif fast:
            for t in range(end - start):
                _update_four(values, n_models, chunk, t, bits, kc, False)
        else:
            for t in range(end - start):
                for c in range(_INTERLEAVED):
                    _update(values, c * n_models, chunk[c, t], bits, k, scale_factor)
    for c in range(count):
        lane, row = values[c * n_models : (c + 1) * n_models], out[first + c]
        if not fast:
            row[:] = lane
        elif not _ratings_from_exp(lane, init, scale_factor, row):
            row[:] = init
            arranged = arrange(packed, seed, np.uint64(first + c), with_replacement)
            elo_in_order(row, arranged, bits, np.arange(n), k, scale, base)


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
        buffers, layouts, scratches = _order_scratch(n, _INTERLEAVED, packed.dtype, with_replacement)
        work = (buffers, layouts, scratches, np.empty((_INTERLEAVED, _CHUNK), dtype=packed.dtype))
        for g in range(part, n_groups, n_chunks):
            first = g * _INTERLEAVED
            count = min(_INTERLEAVED, n_orders - first)
            _run_group(
                packed, bits, n_models, first, count, np.uint64(seed), with_replacement,
                k, scale, base, init, out, work,
            )  # fmt: skip
    return out
