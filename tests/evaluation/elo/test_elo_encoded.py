"""Encode once, reuse: every public function that takes battles accepts a BattleLog and gives what it gives
for the raw log; Bradley-Terry from aggregated counts is the per-battle maximum-likelihood fit."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import minimize

import hf_ext.evaluation.elo as elo
from hf_ext.evaluation.elo.report import analyze
from hf_ext.evaluation.elo.synthetic import synthetic_battles


@pytest.fixture(scope="module")
def frame():
    return synthetic_battles({"a": 1080.0, "b": 1000.0, "c": 960.0, "d": 900.0}, n_battles=300, seed=11)


def _same(x, y):
    if isinstance(x, pd.DataFrame):
        pd.testing.assert_frame_equal(x, y)
    elif isinstance(x, dict):
        assert x.keys() == y.keys()
        for key in x:
            _same(x[key], y[key])
    elif isinstance(x, tuple | list):
        assert len(x) == len(y)
        for a, b in zip(x, y):
            _same(a, b)
    elif isinstance(x, np.ndarray):
        np.testing.assert_array_equal(x, y)
    elif hasattr(x, "__dataclass_fields__"):
        _same(vars(x), vars(y))
    else:
        assert x == y


TAKES_BATTLES = {
    "battle_counts": lambda b: elo.battle_counts(b),
    "bootstrap": lambda b: elo.bootstrap(b, n_rounds=20),
    "bootstrap_elo": lambda b: elo.bootstrap(b, method="elo", n_rounds=20),
    "bradley_terry": lambda b: elo.bradley_terry(b),
    "check_reliability": lambda b: elo.check_reliability(b, ks=(4.0, 16.0), n_permutations=10),
    "check_transitivity": lambda b: elo.check_transitivity(b),
    "elo_samples": lambda b: elo.elo_samples(b, 5)[1],
    "encode_battles": lambda b: elo.encode_battles(b).to_frame(),
    "filter_battles": lambda b: elo.filter_battles(b, exclude_models=["d"], exclude_ties=True)[1],
    "model_summary": lambda b: elo.model_summary(b),
    "online_elo": lambda b: elo.online_elo(b),
    "permutation_elo": lambda b: elo.permutation_elo(b, n_permutations=10),
    "pair_counts": lambda b: elo.pair_counts(elo.encode_battles(b)),
    "style_control": lambda b: elo.style_control(b, np.ones((300, 1)), np.ones((300, 1)), ["length"]),
    "win_rates": lambda b: elo.win_rates(b),
    "analyze": lambda b: analyze(b, n_permutations=10, n_bootstrap=20, ks=(4.0,)).tables,
}
NOT_BATTLES = {  # public names that take something else than a battle log
    "BattleLog", "EloRule", "battle_order", "battles_from_lm_eval", "plot_rating_spread", "plot_ratings",
    "predicted_win_rates",
}  # fmt: skip


def test_every_public_function_accepts_an_encoded_log(frame):
    assert set(elo.__all__) == set(TAKES_BATTLES) - {"bootstrap_elo", "analyze"} | NOT_BATTLES | {
        "plot_win_rates"
    }, "a new public name: add it to TAKES_BATTLES or NOT_BATTLES"
    log = elo.encode_battles(frame)
    for name, call in TAKES_BATTLES.items():
        try:
            _same(call(log), call(frame))
        except AssertionError as error:
            raise AssertionError(f"{name} differs on a BattleLog") from error
    kept, dropped = elo.filter_battles(log, exclude_models=["d"])
    assert isinstance(kept, elo.BattleLog) and kept.models == log.models
    assert "d" not in {log.models[i] for i in np.concatenate([kept.a, kept.b])}
    assert dropped["excluded_models"] == int(((frame.model_a == "d") | (frame.model_b == "d")).sum())
    assert elo.plot_win_rates(log).axes[0].images[0].get_array().shape == (4, 4)


def test_aggregated_bradley_terry_is_the_per_battle_maximum_likelihood_fit(frame):
    log = elo.encode_battles(frame)
    alpha, m = math.log(10.0), log.n_models

    def negative_log_likelihood(free):  # one term per battle; theta_0 = 0 fixes the shift
        theta = np.concatenate([[0.0], free])
        z = alpha * (theta[log.a] - theta[log.b])
        value = np.sum(log.score_a * np.logaddexp(0.0, -z) + (1.0 - log.score_a) * np.logaddexp(0.0, z))
        residual = alpha * (1.0 / (1.0 + np.exp(-z)) - log.score_a)
        gradient = np.bincount(log.a, residual, m) - np.bincount(log.b, residual, m)
        return value, gradient[1:]

    fit = minimize(negative_log_likelihood, np.zeros(m - 1), jac=True, method="BFGS", options={"gtol": 1e-10})
    theta = np.concatenate([[0.0], fit.x])
    expected = 400.0 * (theta - theta.mean()) + 1000.0
    ratings = elo.bradley_terry(log)
    np.testing.assert_allclose([ratings[name] for name in log.models], expected, atol=1e-4)
    assert np.argmax(expected) == log.models.index("a")


def test_a_hand_built_log_with_bad_indices_is_refused_before_compiled_loops():
    import numpy as np

    from hf_ext.evaluation.elo.battles import BattleLog

    bad = BattleLog(("x", "y"), np.array([0, 2]), np.array([1, 0]), np.array([1.0, 0.0]))
    for call in (
        elo.pair_counts,
        elo.bradley_terry,
        lambda log: elo.bootstrap(log, n_rounds=4),
        lambda log: elo.online_elo(log, weights=[1.0, 1.0]),
        lambda log: elo.style_control(log, np.ones((2, 1)), np.ones((2, 1)), ["f"]),
    ):
        with pytest.raises(ValueError, match="model indices outside 0..1"):
            call(bad)
    short = BattleLog(("x", "y"), np.array([0, 1]), np.array([1]), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="arrays differ in length"):
        elo.pair_counts(short)
