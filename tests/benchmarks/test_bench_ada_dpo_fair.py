"""The Ada-DPO vs DPO benchmark: sequence log-probs under left padding, the comparison, and a tiny run."""

import json

import pytest
import torch
from hfx_benchmark_loading import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_ada_dpo_fair")


def test_sequence_logprobs_ignore_left_padding(bench):
    from hf_ext.testing import tiny_causal_lm

    model, _ = tiny_causal_lm("llama", seed=0)
    model.eval()
    prompts = [torch.tensor([5, 6, 7]), torch.tensor([8])]
    completions = torch.tensor([[9, 10], [11, 12]])
    width = 3
    ids = torch.stack([torch.cat([torch.zeros(width - len(p), dtype=torch.long), p]) for p in prompts])
    mask = torch.tensor([[1, 1, 1], [0, 0, 1]])
    batched = bench.sequence_logprobs(model, torch.cat([ids, completions], dim=1), mask, width)
    for row, prompt in enumerate(prompts):
        alone = torch.cat([prompt, completions[row]])[None]
        logprobs = torch.log_softmax(model(input_ids=alone).logits[0, :-1].float(), dim=-1)
        expected = logprobs[len(prompt) - 1 :].gather(1, completions[row][:, None]).sum()
        torch.testing.assert_close(batched[row], expected, rtol=1e-4, atol=1e-4)


def test_comparison_picks_on_selection_seeds_and_pairs_on_heldout_seeds(bench):
    def by_seed(values):
        return {str(seed): value for seed, value in enumerate(values)}

    per_setting = {
        "DPO beta=0.1": {"gold_reward": by_seed([1.0, 0.0, 0.0, 0.0]), "kl": by_seed([1.0] * 4)},
        "DPO beta=0.3": {"gold_reward": by_seed([0.0, 5.0, 5.0, 5.0]), "kl": by_seed([2.0] * 4)},
        "Ada-DPO beta=0.1 rho=0.1 tau_max=1": {
            "gold_reward": by_seed([2.0, 0.5, 0.3, 0.4]),
            "kl": by_seed([1.5] * 4),
        },
    }  # DPO beta=0.3 is better, but not on the selection seed 0
    result = bench.compare(per_setting, list(per_setting), selection=[0], heldout=[1, 2, 3])
    assert result["best_dpo"] == "DPO beta=0.1" and result["best_ada"].startswith("Ada-DPO")
    assert result["gold_reward"]["difference_mean"] == pytest.approx(0.4)
    assert result["gold_reward"]["ada_wins"] == 3 and result["verdict"] == "Ada-DPO better"
    assert result["kl"]["difference_mean"] == pytest.approx(0.5)


@pytest.mark.slow
def test_tiny_run_end_to_end(bench, tmp_path):
    out = tmp_path / "dpo.json"
    tiny = "--select-seeds 1 --heldout-seeds 2 --train-prompts 4 --eval-prompts 2 --eval-samples 1 --epochs 1"
    report = bench.main([*tiny.split(), "--batch", "4", "--new-tokens", "4", "--out", str(out)])
    saved = json.loads(out.read_text())
    assert saved["comparison"]["verdict"] == report["comparison"]["verdict"]
    assert saved["complete"] and len(saved["per_setting"]) == 10
    chosen = {report["comparison"]["best_dpo"], report["comparison"]["best_ada"]}
    for name, values in saved["per_setting"].items():  # held-out seeds 1, 2 run only the two chosen settings
        assert set(values["gold_reward"]) == ({"0", "1", "2"} if name in chosen else {"0"})
    saved["complete"] = False  # an interrupted run resumes without running anything again
    out.write_text(json.dumps(saved))
    resumed = bench.main([*tiny.split(), "--batch", "4", "--new-tokens", "4", "--out", str(out), "--resume"])
    assert resumed["per_setting"] == saved["per_setting"]
