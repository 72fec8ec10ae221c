"""The RA-RLHF tail benchmark: its reward, its precondition checks, and a tiny run end to end."""

import json
import math

import pytest
import torch
from hfx_benchmark_loading import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_ra_rlhf_tail")


def test_reward_scores_prompt_plus_completion_densely(bench):
    good, bad, same_completion_other_prompt = bench.classifier_reward(
        ["It is", "It is", "The error"],
        [" a great and useful feature", " a terrible failure", " a terrible failure"],
    )
    assert good > bad
    assert same_completion_other_prompt != bad  # the prompt is part of what is scored
    openings = ["The value of", "A new object", "Return the", "Raise an", "If the", "This module"]
    scores = bench.classifier_reward(openings, [" list"] * len(openings))
    assert len(set(scores)) == len(scores)  # no ties, even without sentiment words (VADER gives all zeros)


def test_preconditions_by_hand(bench):
    reference = {"reward": 0.0, "per_prompt_std": 0.5, "hard_share_of_cvar_tail": 0.9}
    reference |= bench.tail_gap(torch.tensor([-1.0, -2.0, -3.0]), torch.tensor([1.0, 2.0, 3.0]))
    # mean - tail = 1/2 * (2 - (-2)) = 2; s.e. = 1/2 * sqrt(1/3 + 1/3) = 0.408
    assert reference["tail_gap"] == pytest.approx(2.0)
    assert reference["tail_gap_se"] == pytest.approx(0.5 * math.sqrt(2 / 3))
    ppo = [{"reward": r} for r in (0.30, 0.32, 0.34)]  # gain 0.32, s.e. 0.02 / sqrt(3) * sqrt(3) = 0.01155
    checks = bench.preconditions({"reference LM": [reference], "PPO (alpha=1)": ppo})
    assert checks["tail_well_below_mean"] and checks["gap_over_per_prompt_std"]
    assert not bench.preconditions(
        {"reference LM": [reference | {"tail_gap_se": 0.7}], "PPO (alpha=1)": ppo}
    )["tail_well_below_mean"]
    assert checks["ppo_gain"] == pytest.approx(0.32) and checks["ppo_gain_se"] == pytest.approx(
        0.02 / math.sqrt(3)
    )
    assert checks["ppo_gain_over_3_se"]
    noisy = [{"reward": r} for r in (-0.2, 0.1, 0.4)]
    assert not bench.preconditions({"reference LM": [reference], "PPO (alpha=1)": noisy})[
        "ppo_gain_over_3_se"
    ]


@pytest.mark.slow
def test_tiny_run_end_to_end(bench, tmp_path):
    out = tmp_path / "ra.json"
    tiny = "--seeds 2 --steps 1 --batch 2 --train-prompts 4 --test-hard 2 --perplexity-windows 1 --pool 8"
    report = bench.main([*tiny.split(), "--out", str(out)])
    saved = json.loads(out.read_text())
    assert set(saved["runs"]) == {"reference LM", "PPO (alpha=1)", "CVaR-PPO (alpha=0.4)"}
    assert saved["settings"]["test_prompts"] == {"hard": 2, "other": 2}
    row = saved["runs"]["PPO (alpha=1)"][0]
    assert row["cvar_0.2"] <= row["reward"] and math.isfinite(row["perplexity"])
    assert report["preconditions"]["ppo_gain_over_3_se"] in (True, False)
    assert 0 <= row["hard_share_of_cvar_tail"] <= 1 and row["tail_gap_se"] >= 0
    saved["complete"] = False  # an interrupted run resumes from its saved prompts and runs
    saved["runs"]["CVaR-PPO (alpha=0.4)"].pop()
    out.write_text(json.dumps(saved))
    resumed = bench.main([*tiny.split(), "--out", str(out), "--resume"])
    assert resumed["runs"]["PPO (alpha=1)"] == saved["runs"]["PPO (alpha=1)"]  # not run again
    assert len(resumed["runs"]["CVaR-PPO (alpha=0.4)"]) == 2
    with pytest.raises(SystemExit, match="already complete"):
        bench.main([*tiny.split(), "--out", str(out), "--resume"])


def test_classifier_features_by_hand(bench):
    classifier = bench.SentimentClassifier({"good": 0, "bad": 1}, torch.tensor([1.0, -1.0]), 0.25)
    # counts divided by sqrt(number of known words): (2 - 1) / sqrt(3); unknown words are ignored
    assert classifier.score(["Good good, bad!", "bad", "nothing known"]) == pytest.approx(
        [1 / math.sqrt(3) + 0.25, -1.0 + 0.25, 0.25]
    )
