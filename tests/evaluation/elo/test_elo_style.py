"""Style control: recovers known style coefficients and strengths on a generated log, and is Bradley-Terry
when the features are zero."""

import math

import numpy as np
import pandas as pd
import pytest

from hf_ext.evaluation.elo import bradley_terry
from hf_ext.evaluation.elo.style import (
    fastchat_style_features,
    normalized_differences,
    style_control,
    style_features,
)
from hf_ext.evaluation.elo.synthetic import synthetic_battles


def _style_log(n=60_000, seed=0):
    """Battles whose outcome depends on strengths and on the standardised length difference (gamma 0.8)."""
    rng = np.random.default_rng(seed)
    strengths = {"m0": 1100.0, "m1": 1050.0, "m2": 1000.0, "m3": 950.0}
    names = list(strengths)
    a = rng.integers(0, 4, n)
    b = (a + rng.integers(1, 4, n)) % 4
    length_a = rng.lognormal(6.0, 0.5, n)
    length_b = rng.lognormal(6.0, 0.5, n)
    d = normalized_differences(length_a[:, None], length_b[:, None])[:, 0]
    theta = np.array([strengths[m] for m in names])
    logits = math.log(10) * (theta[a] - theta[b]) / 400.0 + 0.8 * d
    win = rng.random(n) < 1.0 / (1.0 + np.exp(-logits))
    battles = pd.DataFrame(
        {
            "model_a": np.array(names)[a],
            "model_b": np.array(names)[b],
            "winner": np.where(win, "model_a", "model_b"),
        }
    )
    return battles, length_a[:, None], length_b[:, None], strengths


def test_recovers_the_style_coefficient_and_the_strengths():
    battles, fa, fb, strengths = _style_log()
    result = style_control(battles, fa, fb, ["length"])
    assert result.coefficients["length"] == pytest.approx(0.8, abs=0.05)
    mean = np.mean(list(strengths.values()))
    for name, true in strengths.items():
        assert result.ratings[name] == pytest.approx(true - mean + 1000.0, abs=8.0)
    plain = bradley_terry(battles)  # without the covariate the strengths are estimated with more noise...
    assert list(result.ratings) == list(plain)  # ...but here the order is the same


def test_zero_features_give_bradley_terry():
    battles = synthetic_battles({"a": 1150.0, "b": 1000.0, "c": 980.0, "d": 900.0}, n_battles=4000, seed=1)
    zeros = np.zeros((len(battles), 2))
    result = style_control(battles, zeros, zeros, ["length", "bold"])
    expected = bradley_terry(battles)
    assert result.coefficients == {"length": 0.0, "bold": 0.0}
    for name, rating in expected.items():
        assert result.ratings[name] == pytest.approx(rating, abs=1e-6)


def test_bootstrap_intervals_cover_the_estimates():
    battles, fa, fb, _ = _style_log(n=8000, seed=2)
    result = style_control(battles, fa, fb, ["length"], bootstrap_rounds=20, seed=0)
    intervals = result.intervals
    assert list(intervals.index) == ["m0", "m1", "m2", "m3", "length"]
    for name, value in [*result.ratings.items(), *result.coefficients.items()]:
        assert intervals.loc[name, "ci_low"] <= value <= intervals.loc[name, "ci_high"]


def test_features_from_texts_and_from_fastchat_metadata():
    text = "# Title\n\n- one\n- two\n1. three\n\nSome **bold** and __more__."
    assert style_features([text, ""]).tolist() == [[len(text), 1, 3, 2], [0, 0, 0, 0]]
    meta = {
        "sum_assistant_a_tokens": 120, "sum_assistant_b_tokens": 40,
        "header_count_a": {"h1": 1, "h2": 2}, "header_count_b": {"h1": 0},
        "list_count_a": {"ordered": 1, "unordered": 3}, "list_count_b": {"ordered": 0, "unordered": 0},
        "bold_count_a": {"**": 2, "__": 0}, "bold_count_b": {"**": 1, "__": 1},
    }  # fmt: skip
    a, b, names = fastchat_style_features(pd.DataFrame({"conv_metadata": [meta]}))
    assert names == ["sum_assistant_tokens", "header_count", "list_count", "bold_count"]
    assert a.tolist() == [[120, 3, 4, 2]] and b.tolist() == [[40, 0, 0, 2]]
    with pytest.raises(ValueError, match="no 'conv_metadata' column"):
        fastchat_style_features(pd.DataFrame({"x": [1]}))


def test_normalized_differences_by_hand():
    d = normalized_differences(np.array([[3.0], [1.0], [0.0]]), np.array([[1.0], [3.0], [0.0]]))
    raw = np.array([0.5, -0.5, 0.0])
    assert d[:, 0] == pytest.approx((raw - raw.mean()) / raw.std())


def test_fused_differences_and_moments_equal_the_separate_kernels():
    from hf_ext.evaluation.elo._bt_kernels import differences_and_moments, pair_moments

    rng = np.random.default_rng(3)
    n, m = 2_000, 5
    a = rng.integers(0, m, n).astype(np.int32)
    b = ((a + rng.integers(1, m, n)) % m).astype(np.int32)
    score = rng.choice([0.0, 0.5, 1.0], n)
    fa, fb = rng.integers(0, 50, (n, 3)).astype(float), rng.integers(0, 50, (n, 3)).astype(float)
    for weight in (np.empty(0), rng.random(n)):
        d, fused = differences_and_moments(fa, fb, weight, a, b, score, m)
        expected = normalized_differences(fa, fb, weight if len(weight) else None)
        assert np.array_equal(d, expected)
        for got, want in zip(fused, pair_moments(a, b, score, expected, weight, m)):
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_style_pass_loss_is_the_log_likelihood_with_and_without_weights():
    """The unweighted pass takes one log per run of battles (a product of win chances); weights of one take
    a log per battle: both equal the negative log-likelihood summed directly."""
    from hf_ext.evaluation.elo._bt_kernels import style_pass

    rng = np.random.default_rng(4)
    n, m, k = 3_001, 6, 2  # several product runs and a partial one
    a = rng.integers(0, m, n)
    b = (a + rng.integers(1, m, n)) % m
    score = rng.choice([0.0, 0.5, 1.0], n)
    d = rng.normal(size=(n, k))
    theta, gamma = rng.normal(size=m), rng.normal(size=k)
    z = math.log(10) * (theta[a] - theta[b]) + d @ gamma
    direct = float(np.sum(np.logaddexp(0.0, z) - score * z))
    outputs = [np.empty(m + k), np.empty((m, m)), np.empty((m, k)), np.empty((k, k))]
    for weight in (np.empty(0), np.ones(n)):
        loss = style_pass(a, b, score, d, weight, theta, gamma, math.log(10), *outputs)
        assert loss == pytest.approx(direct, rel=1e-12)
