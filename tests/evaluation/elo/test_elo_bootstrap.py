"""Bootstrap intervals: reproducible by seed, the BT point is the full fit, intervals cover the truth."""

import pytest

from hf_ext.evaluation.elo import bootstrap, bradley_terry
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


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
