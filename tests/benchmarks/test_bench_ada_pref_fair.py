"""The fair Ada-Pref benchmark: its KL-matched policy metric, its data, paired training, and a tiny run."""

import json
import math
from types import SimpleNamespace

import pytest
import torch
from hfx_benchmark_loading import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_ada_pref_fair")


def test_kl_matched_gain_hits_the_kl_and_ignores_reward_scale(bench):
    # one context, two actions with true rewards 0 and 1: pi(1) = gain + 0.5, and KL(pi || uniform) = target
    true = torch.tensor([[0.0, 1.0]])
    for target in (0.05, 0.3, 0.6):
        gain = bench.kl_matched_gain(true[None], true, target).item()
        p = gain + 0.5
        assert p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p)) == pytest.approx(target, abs=1e-5)
    learned = torch.randn(3, 5, 4, generator=torch.Generator().manual_seed(0))
    rewards = torch.randn(5, 4, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(
        bench.kl_matched_gain(7.0 * learned + 2.0, rewards, 0.5), bench.kl_matched_gain(learned, rewards, 0.5)
    )
    with pytest.raises(ValueError, match="kl_target"):
        bench.kl_matched_gain(learned, rewards, math.log(4))


def test_all_pairs_of_a_batch_are_labelled_once_and_deterministic_labels_follow_the_true_reward(bench):
    x, wins = bench.labelled_batches("deterministic", 2, 6, torch.Generator().manual_seed(0))
    assert x.shape == (2, 6, 8) and wins.shape == (2, 6, 6)
    assert ((wins | wins.transpose(1, 2)).sum(dim=(1, 2)) == 30).all()  # every ordered pair covered
    assert not (wins & wins.transpose(1, 2)).any()  # ... exactly once
    reward = bench.true_reward(x[..., :4], x[..., 4:])
    assert torch.equal(wins, reward[:, :, None] > reward[:, None, :])
    _, noisy = bench.labelled_batches("heterogeneous", 2, 6, torch.Generator().manual_seed(0))
    assert ((noisy | noisy.transpose(1, 2)).sum(dim=(1, 2)) == 30).all()


def test_models_trained_together_equal_models_trained_alone(bench):
    data = {
        s: bench.labelled_batches("bradley-terry", 2, 8, torch.Generator().manual_seed(s)) for s in (0, 1)
    }
    arguments = SimpleNamespace(lr=3e-3, steps=6)
    settings = [bench.Setting("bt", temperature=0.3), bench.Setting("ada", rho=0.1, tau_max=3.0)]
    together = bench.train(settings, [0, 1], data, arguments)
    alone = bench.train(settings[1:], [1], data, arguments)
    for joint, single in zip(together.weights, alone.weights):
        # (Ada, seed 1) is model 3; Adam's steps are lr = 3e-3 each, float noise in near-zero gradients ~1e-5
        torch.testing.assert_close(joint[3], single[0], rtol=1e-3, atol=1e-4)
    assert not torch.allclose(together.weights[0][1], together.weights[0][3])  # same init, different loss


def test_tiny_run_end_to_end(bench, tmp_path):
    out = tmp_path / "ada.json"
    tiny = "--select-seeds 2 --heldout-seeds 2 --budgets 2 --batch-items 8 --steps 6 --eval-contexts 16"
    report = bench.main([*tiny.split(), "--label-models", "deterministic", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["conditions"][0]["verdict"] == report["conditions"][0]["verdict"]
    row = saved["conditions"][0]
    assert row["best_bt"].startswith("BT") and row["best_ada"].startswith("Ada") and row["pairs"] == 56
    assert set(row["per_setting"]) == set(saved["grid"]) and len(saved["grid"]) == 10
    assert 0 < row["oracle_gain"] and all(len(v["policy_gain"]) == 4 for v in row["per_setting"].values())
