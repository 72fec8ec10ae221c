"""Arena filters against hand-counted logs, and the arena tables (predicted win rates, battle counts,
per-model summary) against hand-computed values."""

import math

import numpy as np
import pandas as pd
import pytest

from hf_ext.evaluation.elo.arena import filter_battles
from hf_ext.evaluation.elo.tables import battle_counts, model_summary, predicted_win_rates

DAY = 86_400.0


def _log():
    rows = [
        # model_a, model_b, winner, anony, tstamp, language, judge, category
        ("x", "y", "model_a", True, 5 * DAY + 10, "English", "u1", {"math_v0.1": {"math": True}}),
        ("x", "z", "tie", True, 5 * DAY + 20, "English", "u1", {"math_v0.1": {"math": False}}),
        ("y", "z", "model_b", False, 5 * DAY + 30, "English", "u2", {"math_v0.1": {"math": True}}),
        ("x", "y", "model_b", True, 5 * DAY + 5, "German", "u1", {"math_v0.1": {"math": True}}),
        ("y", "z", "tie (bothbad)", True, 6 * DAY + 1, "English", "u1", {}),
        ("x", "w", "model_a", True, 5 * DAY + 40, "English", "u3", {"math_v0.1": {"math": True}}),
    ]
    columns = ["model_a", "model_b", "winner", "anony", "tstamp", "language", "judge", "category_tag"]
    return pd.DataFrame(rows, columns=columns)


def test_anonymous_battles_in_time_order():
    kept, dropped = filter_battles(_log())
    assert dropped == {"anony": 1}
    assert kept["tstamp"].tolist() == sorted(kept["tstamp"].tolist())
    assert kept["tstamp"].tolist()[0] == 5 * DAY + 5 and len(kept) == 5


def test_each_filter_counts_what_it_removed():
    kept, dropped = filter_battles(_log(), exclude_models=["w"], languages=["English"], exclude_ties=True)
    assert dropped == {"anony": 1, "excluded_models": 1, "language": 1, "ties": 2}
    assert kept[["model_a", "model_b", "winner"]].values.tolist() == [["x", "y", "model_a"]]


def test_daily_vote_cap_keeps_the_earliest_votes_per_voter_and_day():
    kept, dropped = filter_battles(_log(), daily_vote_cap=2)
    # u1 voted three times on day 5 (t = 5, 10, 20): the third is dropped; day 6 is a new day
    assert dropped["daily_vote_cap"] == 1
    assert (5 * DAY + 20) not in kept["tstamp"].tolist() and (6 * DAY + 1) in kept["tstamp"].tolist()
    with pytest.raises(ValueError, match="daily_vote_cap must be >= 1"):
        filter_battles(_log(), daily_vote_cap=0)


def test_category_by_nested_path_and_missing_columns():
    kept, dropped = filter_battles(_log(), category="category_tag.math_v0.1.math")
    assert dropped["category"] == 2 and len(kept) == 3
    bare = _log()[["model_a", "model_b", "winner"]]
    kept, dropped = filter_battles(bare)
    assert dropped == {"anony": "no column"} and len(kept) == 6
    with pytest.raises(ValueError, match="needs a 'language' column"):
        filter_battles(bare, languages=["English"])


def test_predicted_win_rates_by_hand():
    table = predicted_win_rates({"a": 1200.0, "b": 1000.0, "c": 1000.0})
    assert table.loc["a", "b"] == pytest.approx(1 / (1 + 10 ** (-200 / 400)))
    assert table.loc["b", "a"] == pytest.approx(1 - table.loc["a", "b"])
    assert table.loc["b", "c"] == 0.5 and math.isnan(table.loc["a", "a"])


def test_battle_counts_and_model_summary_by_hand():
    log = _log()[["model_a", "model_b", "winner"]]
    counts = battle_counts(log)
    assert counts.loc["x", "y"] == counts.loc["y", "x"] == 2 and counts.loc["x", "w"] == 1
    assert np.trace(counts.to_numpy()) == 0
    summary = model_summary(log)
    x = summary.loc["x"]
    assert (x["battles"], x["wins"], x["losses"], x["ties"]) == (4, 2, 1, 1)
    assert x["win_rate"] == pytest.approx(2.5 / 4)
    # x: vs y 1/2, vs z 1/2 (a tie), vs w 1 -> mean 2/3
    assert x["average_win_rate"] == pytest.approx((0.5 + 0.5 + 1.0) / 3)
    assert summary.index[0] == "x" and summary["battles"].sum() == 2 * len(log)
