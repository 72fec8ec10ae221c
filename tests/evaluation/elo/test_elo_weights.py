"""Battle weights: an integer weight is the same as repeating the battle, in every weighted method."""

import numpy as np
import pandas as pd
import pytest

from hf_ext.evaluation.elo import (
    bootstrap,
    bradley_terry,
    encode_battles,
    online_elo,
    pair_counts,
    style_control,
)
from hf_ext.evaluation.elo.synthetic import synthetic_battles


@pytest.fixture(scope="module")
def weighted():
    battles = synthetic_battles({"a": 1100.0, "b": 1000.0, "c": 950.0, "d": 900.0}, n_battles=400, seed=3)
    weights = np.random.default_rng(0).integers(0, 4, len(battles))
    repeated = battles.loc[np.repeat(np.arange(len(battles)), weights)].reset_index(drop=True)
    rng = np.random.default_rng(1)
    features_a = rng.integers(1, 500, (len(battles), 2)).astype(float)
    features_b = rng.integers(1, 500, (len(battles), 2)).astype(float)
    return battles, weights, repeated, features_a, features_b


def _values(ratings):
    return np.array([ratings[m] for m in sorted(ratings)])


def test_bradley_terry_weights_equal_repeated_rows(weighted):
    battles, weights, repeated, *_ = weighted
    expected = _values(bradley_terry(repeated))
    np.testing.assert_allclose(_values(bradley_terry(battles, weights=weights)), expected, atol=1e-8)
    column = battles.assign(weight=weights)  # the same through a ``weight`` column
    np.testing.assert_allclose(_values(bradley_terry(column)), expected, atol=1e-8)
    np.testing.assert_allclose(pair_counts(encode_battles(column)), pair_counts(encode_battles(repeated)))
    assert not np.allclose(_values(bradley_terry(battles)), expected, atol=0.1)  # the weights matter


def test_bootstrap_bt_point_equals_repeated_rows_and_intervals_follow_weights(weighted):
    battles, weights, repeated, *_ = weighted
    table = bootstrap(battles, n_rounds=50, weights=weights)
    reference = bootstrap(repeated, n_rounds=50)
    np.testing.assert_allclose(table["rating"].sort_index(), reference["rating"].sort_index(), atol=1e-8)
    doubled = bootstrap(battles, n_rounds=200, weights=2 * weights)
    single = bootstrap(battles, n_rounds=200, weights=weights)
    # scaling every weight scales each round's likelihood, not its maximum: the same rounds, the same table
    for column in ("rating", "ci_low", "ci_high"):
        np.testing.assert_allclose(doubled[column].sort_index(), single[column].sort_index(), atol=1e-8)
    other = bootstrap(battles, n_rounds=200, weights=np.where(weights == 3, 1, weights))
    assert not np.allclose(other["ci_low"].sort_index(), single["ci_low"].sort_index(), atol=0.1)
    with pytest.raises(ValueError, match="method=.bt. only"):
        bootstrap(battles, method="elo", n_rounds=2, weights=weights)


def test_style_control_weights_equal_repeated_rows(weighted):
    battles, weights, repeated, features_a, features_b = weighted
    rows = np.repeat(np.arange(len(battles)), weights)
    names = ["length", "headers"]
    got = style_control(battles, features_a, features_b, names, weights=weights)
    expected = style_control(repeated, features_a[rows], features_b[rows], names)
    np.testing.assert_allclose(_values(got.ratings), _values(expected.ratings), atol=1e-7)
    got_gamma, expected_gamma = list(got.coefficients.values()), list(expected.coefficients.values())
    np.testing.assert_allclose(got_gamma, expected_gamma, atol=1e-9)


def test_bad_weights_are_named():
    battles = pd.DataFrame(
        {"model_a": ["x", "y"], "model_b": ["y", "x"], "winner": ["model_a", "tie"], "weight": [1.0, -2.0]}
    )
    with pytest.raises(ValueError, match="row 1: weight must be a finite number >= 0, got -2.0"):
        encode_battles(battles)
    with pytest.raises(ValueError, match="row 0: weight must be"):
        encode_battles(battles.assign(weight=["heavy", 1]))
    with pytest.raises(ValueError, match="one value per battle"):
        bradley_terry(battles.drop(columns="weight"), weights=[1.0])
    log = encode_battles(battles.drop(columns="weight"), weights=[2.0, 0.5])
    np.testing.assert_array_equal(log.take(np.array([1])).weight, [0.5])
    assert log.to_frame()["weight"].tolist() == [2.0, 0.5]


def _weighted_loop(frame, weights, k=4.0, scale=400.0, base=10.0, init=1000.0):
    """The textbook online loop with each step times the battle's weight."""
    scores = {"model_a": 1.0, "model_b": 0.0, "tie": 0.5, "tie (bothbad)": 0.5}
    ratings = {}
    for a, b, winner, w in zip(frame["model_a"], frame["model_b"], frame["winner"], weights):
        ra, rb = ratings.setdefault(a, init), ratings.setdefault(b, init)
        step = k * w * (scores[winner] - 1 / (1 + base ** ((rb - ra) / scale)))
        ratings[a], ratings[b] = ra + step, rb - step
    return ratings


def test_weighted_online_elo_equals_the_weighted_loop(weighted):
    battles, *_ = weighted
    weights = np.random.default_rng(5).uniform(0.0, 3.0, len(battles))
    expected = _weighted_loop(battles, weights, k=16.0)
    got = online_elo(battles, weights=weights, k=16.0)
    assert max(abs(got[m] - expected[m]) for m in expected) < 1e-9
    assert online_elo(battles.assign(weight=weights), k=16.0) == got  # the same through a weight column
    unweighted = online_elo(battles, k=16.0)
    ones = online_elo(battles, weights=np.ones(len(battles)), k=16.0)
    assert max(abs(ones[m] - unweighted[m]) for m in unweighted) < 1e-9
    assert max(abs(got[m] - unweighted[m]) for m in unweighted) > 1.0  # the weights matter
    skipped = online_elo(battles, weights=(np.arange(len(battles)) < 100).astype(float), k=16.0)
    first = online_elo(battles.head(100), k=16.0)
    assert max(abs(skipped[m] - first[m]) for m in first) < 1e-9  # weight 0 skips a battle
