"""Parity of online, permutation and bootstrap Elo and Bradley-Terry with independent references."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.stats import spearmanr

from hf_ext.evaluation.elo import (
    battle_order,
    bootstrap,
    bradley_terry,
    elo_samples,
    encode_battles,
    online_elo,
    permutation_elo,
)
from hf_ext.evaluation.elo.intervals import ranks_from_intervals, summarize_samples
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths

SCORES = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}


def plain_online_elo(frame, k=4.0, scale=400.0, base=10.0, init=1000.0):
    """The textbook loop over rows, as FastChat's first compute_elo."""
    ratings = {}
    for a, b, winner in zip(frame["model_a"], frame["model_b"], frame["winner"]):
        ra, rb = ratings.setdefault(a, init), ratings.setdefault(b, init)
        ea = 1 / (1 + base ** ((rb - ra) / scale))
        eb = 1 / (1 + base ** ((ra - rb) / scale))
        ratings[a] = ra + k * (SCORES[winner] - ea)
        ratings[b] = rb + k * (1 - SCORES[winner] - eb)
    return ratings


def scipy_bt(frame, scale=400.0, base=10.0, init=1000.0, reg=0.0):
    """Independent MLE: BFGS on the per-battle log-likelihood (no aggregation), ties as half wins."""
    models = sorted(set(frame["model_a"]) | set(frame["model_b"]))
    index = {m: i for i, m in enumerate(models)}
    a = frame["model_a"].map(index).to_numpy()
    b = frame["model_b"].map(index).to_numpy()
    s = frame["winner"].map(SCORES).to_numpy()
    alpha = math.log(base)

    def objective(theta):
        d = alpha * (theta[a] - theta[b])
        value = np.sum(s * np.logaddexp(0, -d) + (1 - s) * np.logaddexp(0, d)) + 0.5 * reg * theta @ theta
        p = 1 / (1 + np.exp(-d))
        per_battle = -alpha * (s - p)
        grad = np.bincount(a, per_battle, len(models)) - np.bincount(b, per_battle, len(models)) + reg * theta
        return value, grad

    fit = minimize(objective, np.zeros(len(models)), jac=True, method="BFGS", options={"gtol": 1e-9})
    theta = fit.x - (fit.x.mean() if reg == 0 else 0.0)
    return dict(zip(models, scale * theta + init))


@pytest.mark.parametrize("k", [1.0, 4.0, 32.0])
def test_online_elo_equals_plain_loop(k):
    frame = synthetic_battles(true_strengths(8, seed=1), n_battles=3000, seed=2)
    expected = plain_online_elo(frame, k=k)
    got = online_elo(frame, k=k)
    assert set(got) == set(expected)
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=1e-9)


def test_online_elo_options_and_validation():
    frame = synthetic_battles(true_strengths(4, seed=0), n_battles=500, seed=0)
    expected = plain_online_elo(frame, k=16.0, scale=200.0, base=math.e, init=1500.0)
    got = online_elo(frame, k=16.0, scale=200.0, base=math.e, init_rating=1500.0)
    assert max(abs(got[m] - expected[m]) for m in expected) < 1e-9
    for bad in ({"k": 0.0}, {"scale": -1.0}, {"base": 1.0}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            online_elo(frame, **bad)


@pytest.mark.parametrize("k", [4.0, 8.0, 64.0])  # short and long exp polynomial; classic update
def test_one_permutation_equals_online_elo_on_that_order(k):
    frame = synthetic_battles(true_strengths(6, seed=4), n_battles=2000, seed=5)
    order = battle_order(len(frame), seed=7, index=0)
    assert sorted(order.tolist()) == list(range(len(frame)))  # a permutation
    assert not np.array_equal(order, np.arange(len(frame)))
    table = permutation_elo(frame, n_permutations=1, seed=7, k=k)
    expected = online_elo(frame.iloc[order], k=k)
    for name, rating in expected.items():
        assert table.loc[name, "mean"] == pytest.approx(rating, abs=1e-9)


def test_batch_orders_follow_scale_base_and_initial_rating():
    frame = synthetic_battles(true_strengths(6, seed=6), n_battles=1500, seed=6)
    options = {"k": 16.0, "scale": 200.0, "base": math.e}  # c k = 0.08: the long polynomial
    log, samples = elo_samples(frame, n_orders=5, seed=2, init_rating=1500.0, **options)
    for index in (0, 4):
        order = frame.iloc[battle_order(len(frame), seed=2, index=index)]
        expected = online_elo(order, init_rating=1500.0, **options)
        np.testing.assert_allclose(samples[index], [expected[m] for m in log.models], rtol=0, atol=1e-9)


def test_every_order_of_a_batch_is_reproducible_alone():
    frame = synthetic_battles(true_strengths(5, seed=0), n_battles=800, seed=1)
    log, samples = elo_samples(frame, n_orders=12, seed=3, with_replacement=True)
    for index in (0, 5, 11):
        draw = battle_order(len(frame), seed=3, index=index, with_replacement=True)
        assert len(set(draw.tolist())) < len(frame)  # drawn with replacement
        expected = online_elo(frame.iloc[draw])
        np.testing.assert_allclose(samples[index], [expected[m] for m in log.models], atol=1e-9)


def test_permutation_elo_is_seeded_and_shrinks_order_noise():
    frame = synthetic_battles(true_strengths(10, seed=2), n_battles=4000, seed=3)
    first = permutation_elo(frame, n_permutations=64, seed=1)
    assert first.equals(permutation_elo(frame, n_permutations=64, seed=1))
    assert not first.equals(permutation_elo(frame, n_permutations=64, seed=2))
    assert list(first.columns) == ["mean", "std", "ci_low", "ci_high", "rank"]
    assert (first["ci_low"] <= first["mean"]).all() and (first["mean"] <= first["ci_high"]).all()
    # The mean over orders moves far less between seeds than one order's rating does.
    other = permutation_elo(frame, n_permutations=64, seed=2)
    assert (first["mean"] - other["mean"]).abs().max() < first["std"].max()
    with pytest.raises(ValueError, match="n_permutations"):
        permutation_elo(frame, n_permutations=0)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_bradley_terry_equals_scipy_maximum_likelihood(seed):
    rng = np.random.default_rng(seed)
    strengths = true_strengths(int(rng.integers(3, 9)), seed=seed)
    frame = synthetic_battles(strengths, n_battles=int(rng.integers(300, 1500)), seed=seed, tie_rate=0.2)
    expected = scipy_bt(frame)
    got = bradley_terry(frame)
    assert list(got) == sorted(got, key=lambda m: -got[m])  # best first
    for name in expected:
        assert got[name] == pytest.approx(expected[name], abs=1e-3)


def test_bradley_terry_regularised_anchor_and_scale():
    frame = synthetic_battles(true_strengths(5, seed=9), n_battles=600, seed=9)
    expected = scipy_bt(frame, scale=200.0, base=math.e, init=1500.0, reg=0.5)
    got = bradley_terry(frame, scale=200.0, base=math.e, init_rating=1500.0, reg=0.5)
    assert max(abs(got[m] - expected[m]) for m in expected) < 1e-3
    anchored = bradley_terry(frame, anchor=("model-2", 1114.0))
    free = bradley_terry(frame)
    assert anchored["model-2"] == pytest.approx(1114.0)
    assert anchored["model-0"] - anchored["model-1"] == pytest.approx(free["model-0"] - free["model-1"])
    with pytest.raises(ValueError, match="anchor model 'nope'"):
        bradley_terry(frame, anchor=("nope", 1000.0))


def test_bradley_terry_closed_form_two_models():
    battles = [{"model_a": "x", "model_b": "y", "winner": w} for w in ["model_a"] * 9 + ["model_b"] * 3]
    ratings = bradley_terry(battles)
    assert ratings["x"] - ratings["y"] == pytest.approx(400 * math.log10(3.0), abs=1e-9)


def test_bradley_terry_without_a_maximum_names_the_groups():
    battles = [
        {"model_a": "x", "model_b": "y", "winner": "model_a"},
        {"model_a": "y", "model_b": "z", "winner": "tie"},
    ]
    with pytest.raises(ValueError, match=r"\[x\]; \[y, z\]|\[y, z\]; \[x\]"):
        bradley_terry(battles)
    regularised = bradley_terry(battles, reg=0.1)
    assert regularised["x"] > regularised["z"] > regularised["y"]


def test_rating_methods_recover_true_strengths():
    strengths = true_strengths(12, seed=5)
    frame = synthetic_battles(strengths, n_battles=20000, seed=6, tie_rate=0.0)
    truth = [strengths[m] for m in sorted(strengths)]
    bt = bradley_terry(frame)
    assert spearmanr(truth, [bt[m] for m in sorted(strengths)])[0] > 0.95
    perm = permutation_elo(frame, n_permutations=20)
    assert spearmanr(truth, perm.loc[sorted(strengths), "mean"])[0] > 0.95
    # BT recovers the scale too: its ratings track the true ones up to a shift.
    shift = np.mean(truth) - np.mean([bt[m] for m in sorted(strengths)])
    assert max(abs(bt[m] + shift - strengths[m]) for m in strengths) < 40


@pytest.mark.parametrize("method", ["bt", "elo"])
def test_bootstrap_is_reproducible_by_seed(method):
    frame = synthetic_battles(true_strengths(6, seed=8), n_battles=1500, seed=8)
    first = bootstrap(frame, method=method, n_rounds=40, seed=3)
    assert first.equals(bootstrap(frame, method=method, n_rounds=40, seed=3))
    assert not first.equals(bootstrap(frame, method=method, n_rounds=40, seed=4))
    assert list(first.columns) == ["rating", "std", "ci_low", "ci_high", "rank"]
    assert (first["ci_low"] < first["ci_high"]).all()


def test_bootstrap_bt_point_is_the_full_fit_and_intervals_cover_the_truth():
    strengths = {"a": 1150.0, "b": 1050.0, "c": 1000.0, "d": 850.0}
    frame = synthetic_battles(strengths, n_battles=6000, seed=11, tie_rate=0.0)
    table = bootstrap(frame, n_rounds=200, anchor=("c", 1000.0))
    fit = bradley_terry(frame, anchor=("c", 1000.0))
    for name in strengths:
        assert table.loc[name, "rating"] == pytest.approx(fit[name])
        assert table.loc[name, "ci_low"] - 25 < strengths[name] < table.loc[name, "ci_high"] + 25
    assert table.index.tolist() == ["a", "b", "c", "d"] and table["rank"].tolist() == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="method"):
        bootstrap(frame, method="glicko")


def test_overlapping_intervals_share_a_rank():
    low, high = np.array([100.0, 95.0, 50.0, 49.0, 0.0]), np.array([120.0, 110.0, 60.0, 97.0, 10.0])
    # b overlaps a; c is below a and b; d overlaps b and c; e is below all.
    assert ranks_from_intervals(low, high).tolist() == [1, 1, 3, 2, 5]
    rng = np.random.default_rng(0)
    samples = np.column_stack([rng.normal(10, 1, 500), rng.normal(10.5, 1, 500), rng.normal(0, 1, 500)])
    table = summarize_samples(["x", "y", "z"], samples, point=samples.mean(axis=0))
    assert table.loc["x", "rank"] == table.loc["y", "rank"] == 1 and table.loc["z", "rank"] == 3


def test_elo_samples_match_the_encoding_and_reject_bad_counts():
    frame = synthetic_battles(true_strengths(3, seed=0), n_battles=100, seed=0)
    log, samples = elo_samples(frame, n_orders=4)
    assert samples.shape == (4, 3) and log.models == encode_battles(frame).models
    # Elo is zero-sum: the mean rating stays at the initial rating in every order.
    np.testing.assert_allclose(samples.mean(axis=1), 1000.0, atol=1e-9)
    with pytest.raises(ValueError, match="n_orders"):
        elo_samples(frame, n_orders=0)


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
