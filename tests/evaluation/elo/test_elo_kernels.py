"""The compiled kernels: uniform random orders, the vectorised exp step, bucket replay, wide packing."""

import math

import numpy as np
import pytest

from hf_ext.evaluation.elo import battle_order, elo_samples, online_elo
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


@pytest.mark.parametrize("n", [5, 3 * 4096 + 7])  # one bucket; several buckets (cache-friendly shuffle)
def test_random_orders_are_uniform(n):
    orders = np.stack([battle_order(n, seed=1, index=i) for i in range(600)])
    assert all(sorted(order.tolist()) == list(range(n)) for order in orders[:20])
    # Where item 0 lands, and which item comes first, are uniform over positions / items.
    for values in (np.argmax(orders == 0, axis=1), orders[:, 0]):
        histogram = np.bincount(values * 5 // n, minlength=5)
        chi2 = ((histogram - 120.0) ** 2 / 120.0).sum()
        assert chi2 < 18.5  # chi-square, 4 degrees of freedom, p = 0.001
    draws = np.stack([battle_order(n, seed=2, index=i, with_replacement=True) for i in range(200)])
    copies = np.stack([np.bincount(d, minlength=n) for d in draws])
    assert copies.sum(axis=1).tolist() == [n] * 200
    assert copies.mean() == pytest.approx(1.0) and copies.var() == pytest.approx(1.0 - 1.0 / n, rel=0.1)
    # A bootstrap sample arrives in random order, not sorted by position.
    assert np.mean(np.diff(draws, axis=1) > 0) == pytest.approx((1 - 1 / n) / 2, abs=0.03)


@pytest.mark.parametrize("short", [True, False])
def test_vector_exp_step_matches_the_exact_update(short):
    from numba import njit

    from hf_ext.evaluation.elo._kernels import _exp_step_long, _exp_step_short

    step = _exp_step_short if short else _exp_step_long
    kc = 0.03 if short else 0.2  # the largest c k each polynomial serves

    @njit
    def four_lanes(qa, qb, target, neg_kc):
        return step(
            (qa[0], qa[1], qa[2], qa[3]),
            (qb[0], qb[1], qb[2], qb[3]),
            (target[0], target[1], target[2], target[3]),
            neg_kc,
        )

    rng = np.random.default_rng(0)
    for _ in range(300):
        qa, qb = np.exp(rng.uniform(-8, 8, 4)), np.exp(rng.uniform(-8, 8, 4))
        score = rng.choice([0.0, 0.5, 1.0], 4)
        got = four_lanes(qa, qb, kc * score, -kc)
        for lane in range(4):
            y = kc * (score[lane] - qa[lane] / (qa[lane] + qb[lane]))
            assert got[lane] == pytest.approx(qa[lane] * math.exp(y), rel=1e-15, abs=0)  # a few ulp
            assert got[4 + lane] == pytest.approx(qb[lane] * math.exp(-y), rel=1e-15, abs=0)


def test_ratings_come_back_from_exponentiated_ratings_and_out_of_range_is_refused():
    from hf_ext.evaluation.elo._kernels import _ratings_from_exp

    c = math.log(10.0) / 400.0
    ratings = np.array([900.0, 1000.0, 1234.5])
    out = np.empty(3)
    assert _ratings_from_exp(np.exp(c * (ratings - 1000.0)), 1000.0, c, out)
    np.testing.assert_allclose(out, ratings, rtol=0, atol=1e-10)
    for bad in (np.inf, np.nan, 0.0, 1e-305):
        assert not _ratings_from_exp(np.array([1.0, bad, 1.0]), 1000.0, c, out)


def test_bucket_overflow_replays_the_same_order():
    from hf_ext.evaluation.elo import _kernels

    n = 5 * 4096 + 3
    payload = np.arange(n, dtype=np.int64)
    n_buckets = _kernels._n_buckets(n)
    tight = -(-n // n_buckets)  # a capacity at the mean: some bucket overflows, others are larger
    buffer, layout = np.empty(n_buckets * tight, np.int64), np.zeros((2, n_buckets + 1), np.int64)
    state = _kernels._prepare_order(payload, np.uint64(3), np.uint64(1), False, buffer, layout)
    assert layout[0, -1] == n  # the replay: contiguous buckets
    assert np.diff(layout[1]).max() > tight  # a bucket larger than the scratch is shuffled in place
    order, scratch, bucket = np.empty(n, np.int64), np.empty(tight, np.int64), 0
    for start in range(0, n, 4096):  # in chunks, as the batch kernel does
        chunk = order[start : start + 4096]
        state, bucket = _kernels._next_battles(
            payload,
            buffer,
            layout,
            start,
            start + len(chunk),
            bucket,
            np.uint64(state),
            False,
            chunk,
            scratch,
        )
    np.testing.assert_array_equal(order, battle_order(n, seed=3, index=1))


def test_fast_batch_update_tracks_the_classic_update_over_a_long_log():
    # A million-step-scale drift check in miniature: 20 models, 200k battles, K = 32 (the long polynomial).
    frame = synthetic_battles(true_strengths(20, seed=9), n_battles=200_000, seed=9)
    log, samples = elo_samples(frame, n_orders=2, seed=5, k=32.0)
    for index in range(2):
        expected = online_elo(frame.iloc[battle_order(len(frame), seed=5, index=index)], k=32.0)
        np.testing.assert_allclose(samples[index], [expected[m] for m in log.models], rtol=0, atol=1e-9)


def test_more_than_32768_models_use_the_wide_packing():
    import pandas as pd

    from hf_ext.evaluation.elo._kernels import pack_battles

    rng = np.random.default_rng(3)
    pairs = [(f"m{2 * i}", f"m{2 * i + 1}") for i in range(17_000)]  # 34,000 models
    pairs += [(f"m{i}", f"m{i + 1}") for i in rng.integers(0, 40, 3000)]  # and a busy corner
    winners = rng.choice(["model_a", "model_b", "tie"], len(pairs))
    frame = pd.DataFrame(
        {"model_a": [a for a, _ in pairs], "model_b": [b for _, b in pairs], "winner": winners}
    )
    log, samples = elo_samples(frame, n_orders=2, seed=4)
    assert log.n_models == 34_000 and pack_battles(log.a, log.b, log.score_a)[1] == 20
    for index in range(2):
        expected = online_elo(frame.iloc[battle_order(len(frame), seed=4, index=index)])
        np.testing.assert_allclose(samples[index], [expected[m] for m in log.models], rtol=0, atol=1e-9)
