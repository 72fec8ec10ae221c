"""Bradley-Terry maximum likelihood against an independent per-battle fit."""

import math

import numpy as np
import pytest
from elo_references import scipy_bt
from scipy.stats import spearmanr

from hf_ext.evaluation.elo import bradley_terry, permutation_elo
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


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
