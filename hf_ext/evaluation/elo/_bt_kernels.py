"""Compiled (numba) loops behind Bradley-Terry: pair counts, bootstrap resamples of them, and batched Newton
fits. Imported lazily, like ``_kernels``: the first call in a fresh environment compiles (seconds), then
numba's cache beside this file makes later imports fast.

- :func:`count_pairs`: the score table ``W[i, j]`` in one pass over the battles (a win adds 1 to ``W[a, b]``,
  a tie one half to both cells, times the battle's weight).
- :func:`resampled_counts`: score tables of bootstrap resamples, each drawn as ``n`` independent uniform
  picks of a battle from its own counter-based random stream (``seed``, round index), so a round depends
  only on the seed and its index, not on the thread count.
- :func:`fit_tables`: damped Newton on each table from a given start, with an in-place Cholesky solve (no
  BLAS threads).
- :func:`strongly_connected`: whether each table's 'earned a point against' graph is strongly connected (the
  unregularised maximum exists), by one search forwards and one backwards from model 0.

Example:
    >>> import numpy as np
    >>> from hf_ext.evaluation.elo._bt_kernels import count_pairs
    >>> table = np.zeros(4)
    >>> count_pairs(np.array([0, 0]), np.array([1, 1]), np.array([1.0, 0.5]), np.empty(0), 2, table)
    >>> table.reshape(2, 2).tolist()
    [[0.0, 1.5], [0.5, 0.0]]
"""

from __future__ import annotations

import numpy as np
from numba import njit

from hf_ext.evaluation.elo._kernels import _below, _splitmix, _stream_state


@njit(cache=True)
def indices_in_range(a, b, n_models) -> bool:
    """Whether every model index is in ``range(n_models)``: the loops below index without checks."""
    for t in range(a.shape[0]):
        if a[t] < 0 or a[t] >= n_models or b[t] < 0 or b[t] >= n_models:
            return False
    return True


@njit(cache=True)
def count_pairs(a, b, score_a, weight, n_models, out) -> None:
    """Add each battle's scores into the flat ``(n_models * n_models)`` table ``out`` (``weight`` empty:
    every battle weighs 1). The indices must be in range (:func:`indices_in_range`)."""
    weighted = weight.shape[0] > 0
    for t in range(a.shape[0]):
        w = weight[t] if weighted else 1.0
        s = score_a[t]
        out[a[t] * n_models + b[t]] += s * w
        out[b[t] * n_models + a[t]] += (1.0 - s) * w


@njit(cache=True)
def resampled_counts(a, b, score_a, weight, n_models, seed, first_round, out) -> None:
    """``out[r]`` (flat tables, zeros on entry): the score table of bootstrap round ``first_round + r``,
    ``n`` battles drawn uniformly with replacement."""
    n = a.shape[0]
    weighted = weight.shape[0] > 0
    for r in range(out.shape[0]):
        table = out[r]
        state = _stream_state(np.uint64(seed), np.uint64(first_round + r))
        for _ in range(n):
            state, value = _splitmix(state)
            t = _below(value, n)
            w = weight[t] if weighted else 1.0
            s = score_a[t]
            table[a[t] * n_models + b[t]] += s * w
            table[b[t] * n_models + a[t]] += (1.0 - s) * w


@njit(cache=True, inline="always")
def _softplus_pair(x):
    """``(log(1 + e^-x), log(1 + e^x), sigmoid(x))`` sharing one ``exp``."""
    e = np.exp(-abs(x))
    tail = np.log1p(e)
    p = 1.0 / (1.0 + e) if x >= 0 else e / (1.0 + e)
    return max(-x, 0.0) + tail, max(x, 0.0) + tail, p


@njit(cache=True)
def _objective(scores, theta, alpha, reg) -> float:
    m = theta.shape[0]
    value = 0.0
    for i in range(m):
        for j in range(i + 1, m):
            lose_i, lose_j, _ = _softplus_pair(alpha * (theta[i] - theta[j]))
            value += scores[i, j] * lose_i + scores[j, i] * lose_j
    return value + 0.5 * reg * np.sum(theta * theta)


@njit(cache=True, fastmath=True)
def _cholesky_solve(h, rhs) -> None:
    """Solve ``h x = rhs`` for symmetric positive definite ``h``, in place: ``h`` becomes its Cholesky factor
    (lower triangle) and ``rhs`` the solution."""
    m = h.shape[0]
    for j in range(m):
        diagonal = h[j, j]
        for k in range(j):
            diagonal -= h[j, k] * h[j, k]
        diagonal = np.sqrt(max(diagonal, 1e-300))
        h[j, j] = diagonal
        for i in range(j + 1, m):
            total = h[i, j]
            for k in range(j):
                total -= h[i, k] * h[j, k]
            h[i, j] = total / diagonal
    for i in range(m):  # forward: L y = rhs
        total = rhs[i]
        for k in range(i):
            total -= h[i, k] * rhs[k]
        rhs[i] = total / h[i, i]
    for i in range(m - 1, -1, -1):  # backward: L^T x = y
        total = rhs[i]
        for k in range(i + 1, m):
            total -= h[k, i] * rhs[k]
        rhs[i] = total / h[i, i]


@njit(cache=True)
def _fit_one(scores, theta, alpha, reg, tol, max_iter) -> None:
    """Damped Newton on one table from ``theta`` (updated in place): the Hessian plus ``1 1^T`` when
    ``reg == 0`` (which fixes the free shift), halving steps until the objective does not go up. Near the
    maximum (a predicted decrease below the objective's rounding noise) steps are taken whole; a step below
    ``sqrt(tol)`` is taken whole and ends the fit (Newton's error after it is of the order of its square)."""
    m = theta.shape[0]
    hessian = np.empty((m, m))
    step = np.empty(m)
    negative_gradient = np.empty(m)
    candidate = np.empty(m)
    current = _objective(scores, theta, alpha, reg)
    shift = 1.0 if reg == 0 else 0.0
    for _ in range(max_iter):
        for i in range(m):
            step[i] = -reg * theta[i]  # minus the gradient, accumulated below
            hessian[i, i] = reg + shift
        for i in range(m):
            for j in range(i + 1, m):
                _, _, p = _softplus_pair(alpha * (theta[i] - theta[j]))
                games = scores[i, j] + scores[j, i]
                residual = alpha * (scores[i, j] - games * p)
                step[i] += residual
                step[j] -= residual
                curvature = alpha * alpha * games * p * (1.0 - p)
                hessian[i, i] += curvature
                hessian[j, j] += curvature
                hessian[i, j] = shift - curvature
                hessian[j, i] = shift - curvature
        negative_gradient[:] = step
        _cholesky_solve(hessian, step)
        largest = 0.0
        for i in range(m):
            largest = max(largest, abs(step[i]))
        decrease = np.dot(step, negative_gradient)  # the Newton decrement: twice the predicted decrease
        if largest < np.sqrt(tol):  # the last step: Newton's error after it is of the order of its square
            theta += step
            break
        if decrease < 1e-11 * (1.0 + abs(current)):
            # in the quadratic region: the full step is safe, and the objective could not tell its decrease
            # from rounding noise
            theta += step
            current = _objective(scores, theta, alpha, reg)
            continue
        size = 1.0
        for _halving in range(50):
            for i in range(m):
                candidate[i] = theta[i] + size * step[i]
            value = _objective(scores, candidate, alpha, reg)
            if not value > current + 1e-12 * abs(current):
                break
            size /= 2.0
        theta[:] = candidate
        current = value
        if largest * size < tol:
            break
    if reg == 0:
        theta -= theta.mean()


@njit(cache=True)
def fit_tables(scores, start, alpha, reg, tol, max_iter):
    """``(tables, m)`` maximum-likelihood logits for ``(tables, m, m)`` score tables, each from its row of
    ``start``, one after another on the calling thread (numba's OpenMP threads keep spinning for a while
    after a parallel loop, which slowed the caller's next computation more than the loop gained on 2
    cores)."""
    out = start.copy()
    for r in range(scores.shape[0]):
        _fit_one(scores[r], out[r], alpha, reg, tol, max_iter)
    return out


@njit(cache=True)
def _reaches_all(scores, forward) -> bool:
    m = scores.shape[0]
    seen = np.zeros(m, dtype=np.bool_)
    stack = np.empty(m, dtype=np.int64)
    seen[0], stack[0], top, count = True, 0, 1, 1
    while top:
        top -= 1
        i = stack[top]
        for j in range(m):
            edge = scores[i, j] > 0 if forward else scores[j, i] > 0
            if edge and not seen[j]:
                seen[j] = True
                stack[top] = j
                top += 1
                count += 1
    return count == m


@njit(cache=True)
def strongly_connected(scores):
    """For ``(tables, m, m)`` score tables: whether each table's graph ``i -> j`` where ``W[i, j] > 0`` is
    strongly connected."""
    out = np.empty(scores.shape[0], dtype=np.bool_)
    for r in range(scores.shape[0]):
        out[r] = _reaches_all(scores[r], True) and _reaches_all(scores[r], False)
    return out


# --- style control: contextual Bradley-Terry, one pass over the battles per Newton step -------------------


@njit(cache=True)
def _raw_differences(features_a, features_b, weight):
    """``(f_a - f_b) / (f_a + f_b)`` per battle and feature (0 where both are 0), with the weighted mean and
    standard deviation of each feature (``weight`` empty: all 1)."""
    n, k = features_a.shape
    weighted = weight.shape[0] > 0
    out = np.empty((n, k))
    total_weight = 0.0
    sums = np.zeros(k)
    for t in range(n):
        w = weight[t] if weighted else 1.0
        total_weight += w
        for f in range(k):
            both = features_a[t, f] + features_b[t, f]
            value = (features_a[t, f] - features_b[t, f]) / both if both != 0 else 0.0
            out[t, f] = value
            sums[f] += w * value
    means = sums / total_weight
    squares = np.zeros(k)
    for t in range(n):
        w = weight[t] if weighted else 1.0
        for f in range(k):
            squares[f] += w * (out[t, f] - means[f]) ** 2
    return out, means, np.sqrt(squares / total_weight)


@njit(cache=True)
def normalized_differences(features_a, features_b, weight):
    """``(f_a - f_b) / (f_a + f_b)`` per battle and feature (0 where both are 0), standardised with the
    battles' ``weight`` (empty: all 1); a constant feature becomes 0."""
    out, means, stds = _raw_differences(features_a, features_b, weight)
    n, k = out.shape
    for t in range(n):
        for f in range(k):
            out[t, f] = (out[t, f] - means[f]) / stds[f] if stds[f] > 0 else 0.0
    return out


@njit(cache=True)
def differences_and_moments(features_a, features_b, weight, a, b, score, n_models):
    """:func:`normalized_differences` and :func:`pair_moments` of them, the moments gathered while the
    differences are standardised (one pass over the battles fewer)."""
    out, means, stds = _raw_differences(features_a, features_b, weight)
    n, k = out.shape
    count, wins, sums, products, scored = _empty_moments(n_models, k)
    weighted = weight.shape[0] > 0
    for t in range(n):
        for f in range(k):
            out[t, f] = (out[t, f] - means[f]) / stds[f] if stds[f] > 0 else 0.0
        _add_moments(a[t] * n_models + b[t], weight[t] if weighted else 1.0, score[t], out[t], count, wins,
                     sums, products, scored)  # fmt: skip
    _mirror(products)
    return out, (count, wins, sums, products, scored)


_PRODUCT_RUN = 512  # 2**-512 is far above the smallest double: the product cannot underflow


@njit(cache=True)
def _style_sums(a, b, score, d, weight, theta, gamma, alpha, start, stop, derivatives, cells, grad, hess):
    """:func:`style_pass`'s sums over battles ``start..stop`` into ``cells`` (per ordered pair: residual,
    curvature, curvature * d), ``grad`` and ``hess`` (the feature blocks), all overwritten; returns the
    loss."""
    k = d.shape[1]
    m = theta.shape[0]
    width = 2 + k
    weighted = weight.shape[0] > 0
    cells[:] = 0.0
    grad[:] = 0.0
    hess[:] = 0.0
    loss = 0.0
    product = 1.0  # of unweighted battles' ``upper`` (each in [1/2, 1]): one log per _PRODUCT_RUN battles
    run = 0
    for t in range(start, stop):
        i, j = a[t], b[t]
        z = alpha * (theta[i] - theta[j])
        for f in range(k):
            z += d[t, f] * gamma[f]
        w = weight[t] if weighted else 1.0
        e = np.exp(-abs(z))
        upper = 1.0 / (1.0 + e)  # the win chance of the side ahead; both sides: a select, not a branch
        lower = e * upper
        # the loss is softplus(z) - score * z, softplus(z) = max(z, 0) - log(upper)
        if weighted:
            loss += w * (max(z, 0.0) - np.log(upper) - score[t] * z)
        else:
            loss += max(z, 0.0) - score[t] * z
            product *= upper
            run += 1
            if run == _PRODUCT_RUN:
                loss -= np.log(product)
                product, run = 1.0, 0
        if derivatives:
            p = upper if z >= 0 else lower
            residual = w * (score[t] - p)
            curvature = w * upper * lower  # p (1 - p), whichever side is ahead
            at = (i * m + j) * width
            cells[at] += residual
            cells[at + 1] += curvature
            for f in range(k):
                cells[at + 2 + f] += curvature * d[t, f]
                grad[f] += d[t, f] * residual
                for g in range(f, k):
                    hess[f, g] += curvature * d[t, f] * d[t, g]
    return loss - np.log(product)


@njit(cache=True)
def style_pass(a, b, score, d, weight, theta, gamma, alpha, gradient, h_tt, h_tg, h_gg) -> float:
    """At ``(theta, gamma)``: the negative log-likelihood (returned), and, when ``gradient`` is not empty,
    the log-likelihood's gradient (``m`` model entries, then ``k`` feature entries) and the Hessian of the
    negative log-likelihood in blocks (models x models, models x features, features x features), all from
    one pass over the battles (the outputs are overwritten). The per-model sums are gathered per ordered
    pair of models first (one small record per pair, updated once per battle), then spread to the models.
    (One thread: on this 2-core machine, shared, a parallel pass was three times slower.)"""
    n, k = d.shape
    m = theta.shape[0]
    derivatives = gradient.shape[0] > 0
    width = 2 + k  # per pair: residual, curvature, curvature * d
    cells = np.empty(m * m * width if derivatives else 0)
    feature_gradient = np.empty(k)
    feature_hessian = np.empty((k, k))
    loss = _style_sums(
        a, b, score, d, weight, theta, gamma, alpha, 0, n, derivatives, cells, feature_gradient,
        feature_hessian,
    )  # fmt: skip
    if derivatives:
        gradient[:] = 0.0
        h_tt[:] = 0.0
        h_tg[:] = 0.0
        for i in range(m):
            for j in range(m):
                at = (i * m + j) * width
                residual, curvature = cells[at], cells[at + 1]
                if curvature == 0.0 and residual == 0.0:
                    continue
                gradient[i] += alpha * residual
                gradient[j] -= alpha * residual
                scaled = alpha * alpha * curvature
                h_tt[i, i] += scaled
                h_tt[j, j] += scaled
                h_tt[i, j] -= scaled
                h_tt[j, i] -= scaled
                for f in range(k):
                    h_tg[i, f] += alpha * cells[at + 2 + f]
                    h_tg[j, f] -= alpha * cells[at + 2 + f]
        for f in range(k):
            gradient[m + f] = feature_gradient[f]
            for g in range(k):
                h_gg[f, g] = feature_hessian[min(f, g), max(f, g)]
    return loss


@njit(cache=True)
def _empty_moments(n_models, k):
    cells = n_models * n_models
    return np.zeros(cells), np.zeros(cells), np.zeros((cells, k)), np.zeros((cells, k, k)), np.zeros(k)


@njit(cache=True, inline="always")
def _add_moments(c, w, score, d, count, wins, sums, products, scored) -> None:
    """One battle (pair cell ``c``, weight ``w``, score ``score``, differences ``d``) into the moments."""
    k = d.shape[0]
    count[c] += w
    wins[c] += w * score
    for f in range(k):
        value = w * d[f]
        sums[c, f] += value
        scored[f] += value * score
        for g in range(f, k):
            products[c, f, g] += value * d[g]


@njit(cache=True)
def _mirror(products) -> None:
    """Fill each cell's lower triangle of feature products from its upper one."""
    for c in range(products.shape[0]):
        for f in range(products.shape[1]):
            for g in range(f):
                products[c, f, g] = products[c, g, f]


@njit(cache=True)
def pair_moments(a, b, score, d, weight, n_models):
    """Per ordered pair of models (flat cell ``a * m + b``): the battles' total weight, weighted score of
    ``a``, weighted feature sums and weighted feature outer products; and over all battles the weighted
    sum of ``score * d``. With these, the likelihood and its derivatives at ``gamma = 0`` need no pass over
    the battles."""
    n, k = d.shape
    weighted = weight.shape[0] > 0
    count, wins, sums, products, scored = _empty_moments(n_models, k)
    for t in range(n):
        _add_moments(a[t] * n_models + b[t], weight[t] if weighted else 1.0, score[t], d[t], count, wins,
                     sums, products, scored)  # fmt: skip
    _mirror(products)
    return count, wins, sums, products, scored
