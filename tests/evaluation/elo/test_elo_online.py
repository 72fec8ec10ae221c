"""Online and permutation-averaged Elo against the textbook loop."""

import math

import numpy as np
import pytest
from elo_references import plain_online_elo

from hf_ext.evaluation.elo import battle_order, elo_samples, encode_battles, online_elo, permutation_elo
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


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


def test_elo_samples_match_the_encoding_and_reject_bad_counts():
    frame = synthetic_battles(true_strengths(3, seed=0), n_battles=100, seed=0)
    log, samples = elo_samples(frame, n_orders=4)
    assert samples.shape == (4, 3) and log.models == encode_battles(frame).models
    # Elo is zero-sum: the mean rating stays at the initial rating in every order.
    np.testing.assert_allclose(samples.mean(axis=1), 1000.0, atol=1e-9)
    with pytest.raises(ValueError, match="n_orders"):
        elo_samples(frame, n_orders=0)
