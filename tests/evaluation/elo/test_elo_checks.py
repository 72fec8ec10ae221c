"""Transitivity and reliability checks, and battles built from lm-eval sample logs."""

import json

import numpy as np
import pytest

from hf_ext.evaluation.elo import (
    battles_from_lm_eval,
    bradley_terry,
    check_reliability,
    check_transitivity,
    online_elo,
)
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


def _games(x, y, x_wins, y_wins, ties=0):
    return (
        [{"model_a": x, "model_b": y, "winner": "model_a"}] * x_wins
        + [{"model_a": x, "model_b": y, "winner": "model_b"}] * y_wins
        + [{"model_a": y, "model_b": x, "winner": "tie"}] * ties
    )


def test_constructed_cycle_is_reported_once():
    battles = (
        _games("rock", "scissors", 70, 30)
        + _games("scissors", "paper", 70, 30)
        + _games("paper", "rock", 70, 30)
    )
    battles += (
        _games("rock", "lizard", 9, 1) + _games("scissors", "lizard", 9, 1) + _games("paper", "lizard", 9, 1)
    )
    table = check_transitivity(battles)
    cycles = table[table["issue"] == "cycle"]
    assert len(cycles) == 1
    row = cycles.iloc[0]
    assert {row["a"], row["b"], row["c"]} == {"rock", "paper", "scissors"}
    assert row["win_rate_ab"] == pytest.approx(0.7) and row["win_rate_ac"] == pytest.approx(0.3)
    assert row["battles_ab"] == 100 and not row["near_tie"]
    # 70 of 100: z = 0.2 / sqrt(0.25 / 100) = 4, two-sided p = 2 * (1 - Phi(4))
    assert row["p_ab"] == pytest.approx(6.334248e-05, rel=1e-5)
    # The symmetric cycle gives the three equal BT ratings; lizard is below all of them.
    ratings = bradley_terry(battles)
    assert ratings["rock"] == pytest.approx(ratings["paper"]) and ratings["lizard"] < ratings["rock"] - 100


def test_a_cycle_of_few_battles_is_noise_unless_asked_for():
    battles = (
        _games("rock", "scissors", 7, 3) + _games("scissors", "paper", 7, 3) + _games("paper", "rock", 7, 3)
    )
    assert check_transitivity(battles).empty  # 7 of 10: p = 0.206 per pair, not significant at 95 %
    every = check_transitivity(battles, confidence=None)
    assert every["issue"].tolist() == ["cycle"]
    assert every["p_ab"].iloc[0] == pytest.approx(0.2059032, rel=1e-5)
    assert check_transitivity(battles, confidence=0.75)["issue"].tolist() == ["cycle"]  # p < 0.25
    with pytest.raises(ValueError, match="confidence must be in"):
        check_transitivity(battles, confidence=1.0)


def test_no_cycle_on_a_large_transitive_log():
    battles = synthetic_battles(true_strengths(20, spread=150.0, seed=3), n_battles=20_000, seed=3)
    noisy = check_transitivity(battles, confidence=None)
    assert (noisy["issue"] == "cycle").any()  # sampling noise makes cycles of close models...
    assert not (check_transitivity(battles)["issue"] == "cycle").any()  # ...that are not significant


def test_near_tie_is_reported_and_flagged():
    battles = _games("a", "b", 51, 49) + _games("b", "c", 51, 49) + _games("a", "c", 50, 50)
    table = check_transitivity(battles)
    assert len(table) == 1
    row = table.iloc[0]
    assert (row["a"], row["b"], row["c"], row["issue"]) == ("a", "b", "c", "tie")
    assert row["win_rate_ac"] == 0.5 and row["margin"] == 0.0 and row["near_tie"]


def test_ratings_that_break_transitive_win_rates_are_reported():
    battles = _games("a", "b", 60, 40) + _games("b", "c", 60, 40) + _games("a", "c", 70, 30)
    assert check_transitivity(battles).empty  # BT agrees with transitive win rates
    table = check_transitivity(battles, ratings={"a": 1000.0, "b": 990.0, "c": 1010.0})
    assert table[["a", "b", "c", "issue"]].values.tolist() == [["a", "b", "c", "ratings"]]
    with pytest.raises(ValueError, match="lack model"):
        check_transitivity(battles, ratings={"a": 1.0})
    with pytest.raises(ValueError, match="ratings must be"):
        check_transitivity(battles, ratings="glicko")


def test_close_models_online_elo_breaks_transitivity_in_some_orders():
    """Elo Uncovered: with close models and a large K, the battle order decides whether online Elo keeps
    A above C although the win rates say A > B > C and A > C; BT on the same battles never breaks it."""
    rng = np.random.default_rng(0)
    battles = _games("A", "B", 55, 45) + _games("B", "C", 55, 45) + _games("A", "C", 55, 45)
    assert check_transitivity(battles).empty
    found = 0
    for _ in range(30):
        shuffled = [battles[i] for i in rng.permutation(len(battles))]
        table = check_transitivity(shuffled, ratings=online_elo(shuffled, k=32.0))
        assert set(table["issue"]) <= {"ratings"}
        found += not table.empty
    assert 0 < found < 30


def test_reliability_spread_grows_with_k_and_vanishes_without_order_effects():
    frame = synthetic_battles(true_strengths(6, spread=100.0, seed=1), n_battles=900, seed=1)
    table = check_reliability(frame, ks=(1, 4, 16, 32), n_permutations=50)
    assert table.index.tolist() == [1.0, 4.0, 16.0, 32.0]
    assert np.all(np.diff(table["mean_std"]) > 0)
    assert table["pair_flip_rate"].iloc[-1] > table["pair_flip_rate"].iloc[0]
    assert (table["max_std"] >= table["mean_std"]).all()
    # Identical battles: every order is the same sequence, so no spread and no flips.
    same = check_reliability(_games("x", "y", 20, 0), ks=(4, 32), n_permutations=10)
    assert same["mean_std"].max() == pytest.approx(0.0, abs=1e-9) and same["pair_flip_rate"].max() == 0.0
    with pytest.raises(ValueError, match="n_permutations"):
        check_reliability(frame, n_permutations=1)


def _write_lm_eval_run(root, model, task, scores, date="2026-11-24T10-00-00.000000"):
    """The files lm-eval --log_samples --output_path ROOT writes for one model (see EvaluationTracker)."""
    folder = root / model.replace("/", "__")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"results_{date}.json").write_text(json.dumps({"model_name": model, "results": {}}))
    with (folder / f"samples_{task}_{date}.jsonl").open("w") as handle:
        for doc_id, score in enumerate(scores):
            sample = {
                "doc_id": doc_id,
                "doc_hash": f"h{doc_id}",
                "metrics": ["acc"],
                "acc": score,
                "filter": "none",
            }
            handle.write(json.dumps(sample) + "\n")
    return root


def test_battles_from_lm_eval_per_document(tmp_path):
    runs = [
        _write_lm_eval_run(tmp_path / "run1", "org/alpha", "hfx_task", [1, 0, 1, 0]),
        _write_lm_eval_run(tmp_path / "run2", "org/beta", "hfx_task", [0, 0, 1, 1]),
        _write_lm_eval_run(tmp_path / "run3", "org/gamma", "hfx_task", [1, 1, 1]),  # one document fewer
    ]
    battles = battles_from_lm_eval(runs)
    assert battles.columns.tolist() == ["model_a", "model_b", "winner", "task", "doc_id"]
    alpha_beta = battles[(battles["model_a"] == "org/alpha") & (battles["model_b"] == "org/beta")]
    assert alpha_beta["winner"].tolist() == ["model_a", "tie", "tie"]  # docs 0..2 shared by all three
    assert len(battles) == 3 * 3
    named = battles_from_lm_eval(
        [r / "org__alpha" if i == 0 else r for i, r in enumerate(runs[:2])], names=["x", "y"]
    )
    assert set(named["model_a"]) == {"x"}
    with pytest.raises(ValueError, match="metric 'f1' is missing"):
        battles_from_lm_eval(runs, metric="f1")
    with pytest.raises(ValueError, match="no samples for task 'other'"):
        battles_from_lm_eval(runs, tasks=["other"])
    with pytest.raises(ValueError, match="at least 2"):
        battles_from_lm_eval(runs[:1])
    broken = tmp_path / "run2" / "org__beta" / "samples_hfx_task_2026-11-24T10-00-00.000000.jsonl"
    broken.write_text(broken.read_text() + "{oops\n")
    with pytest.raises(ValueError, match=r"line 5: invalid JSON"):
        battles_from_lm_eval(runs)
