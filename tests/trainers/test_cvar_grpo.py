"""CVaR-GRPO: the tail mask on TRL's generation batch, zero gradient outside it, schedule, config errors."""

from __future__ import annotations

import math

import pytest
import torch
from trl import GRPOTrainer

from hf_ext.testing import prompt_dataset, tiny_causal_lm
from hf_ext.trainers.cvar_grpo_config import CVaRGRPOConfig
from hf_ext.trainers.cvar_grpo_trainer import CVaRGRPOTrainer

QUIET = {
    "report_to": "none",
    "use_cpu": True,
    "bf16": False,
    "disable_tqdm": True,
    "gradient_checkpointing": False,
}


def length_reward(completions, **kwargs):
    return [len(c) / 10 for c in completions]


def make_trainer(tmp_path, **overrides):
    model, tokenizer = tiny_causal_lm("llama", seed=0)
    settings = {
        "output_dir": str(tmp_path / "out"),
        "max_steps": 4,
        "per_device_train_batch_size": 8,
        "num_generations": 4,
        "max_completion_length": 6,
        "learning_rate": 1e-3,
        "logging_strategy": "steps",
        "logging_steps": 1,
        "save_strategy": "no",
        "seed": 0,
        **QUIET,
        **overrides,
    }
    return CVaRGRPOTrainer(
        model=model,
        reward_funcs=length_reward,
        args=CVaRGRPOConfig(**settings),
        processing_class=tokenizer,
        train_dataset=prompt_dataset(16),
    )


def fake_generation(monkeypatch, rewards: list[float], trainer):
    """Replace GRPO's generation by a fixed batch whose gathered rewards are ``rewards``."""
    size = len(rewards)

    def generate(self, inputs):
        self._calculate_rewards(inputs, None, None, None)
        return {
            "completion_mask": torch.ones(size, 3, dtype=torch.long),
            "advantages": torch.arange(1.0, size + 1),
            "num_items_in_batch": torch.tensor(3 * size),
        }

    monkeypatch.setattr(GRPOTrainer, "_generate_and_score_completions", generate)
    monkeypatch.setattr(
        GRPOTrainer, "_calculate_rewards", lambda self, *a: torch.tensor(rewards).unsqueeze(1)
    )


def test_tail_groups_keep_their_mask_and_the_rest_leave_the_loss(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, alpha=0.5, risk_reach_fraction=0.5)
    trainer.state.max_steps, trainer.state.global_step = 4, 2  # at the reach step: level = alpha
    # two prompt groups of 4: means 0.75 and 2.5, so the tail (one group of two) is the first group
    fake_generation(monkeypatch, [3.0, -1.0, 2.0, -1.0, 5.0, 0.0, 4.0, 1.0], trainer)
    trainer.model.train()
    output = trainer._generate_and_score_completions([{}] * 8)
    keep = torch.tensor([True] * 4 + [False] * 4)
    assert output["completion_mask"].bool().all(dim=1).tolist() == keep.tolist()
    assert (output["completion_mask"][~keep] == 0).all()
    assert output["advantages"].tolist() == [1.0, 2.0, 3.0, 4.0, 0.0, 0.0, 0.0, 0.0]
    assert output["num_items_in_batch"].item() == 4 * 3
    metrics = trainer._metrics["train"]
    assert metrics["risk/kept_fraction"] == [0.5] and metrics["risk/var_threshold"] == [0.75]
    assert metrics["reward/cvar"] == [pytest.approx((3.0 - 1.0 + 2.0 - 1.0) / 4)]


def test_kept_advantages_are_centred(tmp_path, monkeypatch):
    # Real GRPO advantages from fixed rewards. Group means are 3 and 5; a completion-level tail at level 0.5
    # would keep the four lowest rewards (0, 1, 2, 3), each below its own group mean, so every kept advantage
    # would be negative. The group-level tail keeps group 0 whole: its advantages sum to zero.
    rewards = [0.0, 5.0, 1.0, 6.0, 2.0, 7.0, 3.0, 8.0]
    trainer = make_trainer(tmp_path, alpha=0.5, risk_reach_fraction=0.5)
    trainer.state.max_steps, trainer.state.global_step = 4, 2
    monkeypatch.setattr(
        GRPOTrainer, "_calculate_rewards", lambda self, *a: torch.tensor(rewards).unsqueeze(1)
    )
    trainer.model.train()
    output = trainer._generate_and_score_completions([{"prompt": "a b"}] * 4 + [{"prompt": "c d"}] * 4)
    kept = output["completion_mask"].sum(dim=1) > 0
    assert kept.tolist() == [True] * 4 + [False] * 4
    advantages = output["advantages"][kept]
    assert advantages.sum().item() == pytest.approx(0.0, abs=1e-5)
    assert (advantages > 0).sum() == 2 and (advantages < 0).sum() == 2
    assert trainer._metrics["train"]["risk/kept_advantage_mean"] == [pytest.approx(0.0, abs=1e-5)]
    completion_tail = torch.tensor(rewards).argsort()[:4]
    group_means = torch.tensor(rewards).view(2, 4).mean(dim=1).repeat_interleave(4)
    assert (torch.tensor(rewards) - group_means)[completion_tail].max() < 0  # what the old rule trained on


def test_tail_ties_between_groups(tmp_path):
    trainer = make_trainer(tmp_path, alpha=0.5, risk_reach_fraction=0.5)
    trainer.state.max_steps, trainer.state.global_step = 4, 2
    tied = torch.tensor([[1.0], [3.0], [2.0], [2.0], [0.0], [4.0], [2.0], [2.0]])  # both group means 2
    _, keep, level, var = trainer.tail_mask(tied)
    assert level == 0.5 and keep.tolist() == [True] * 4 + [False] * 4 and var == 2.0
    trainer.args.tail_ties = "quantile"
    _, keep, _, _ = trainer.tail_mask(tied)
    assert keep.all()


def test_alpha_one_leaves_grpo_untouched(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, alpha=1.0)
    trainer.state.max_steps, trainer.state.global_step = 4, 3
    fake_generation(monkeypatch, [3.0, -1.0, 2.0, 0.5], trainer)
    output = trainer._generate_and_score_completions([{}] * 4)
    assert output["completion_mask"].all() and output["advantages"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert output["num_items_in_batch"].item() == 12


def test_unscorable_completions_never_enter_the_tail(tmp_path):
    trainer = make_trainer(tmp_path, alpha=0.5, risk_reach_fraction=0.25)
    trainer.state.max_steps, trainer.state.global_step = 4, 1
    nan = math.nan
    rewards = torch.tensor([[nan], [2.0], [1.0], [3.0], [nan], [nan], [nan], [nan]])
    _, keep, level, var = trainer.tail_mask(rewards)  # the unscorable group ranks last
    assert level == 0.5 and keep.tolist() == [False, True, True, True] + [False] * 4 and var == 2.0


def test_training_follows_the_schedule_and_masked_rows_get_no_gradient(tmp_path):
    trainer = make_trainer(tmp_path, alpha=0.25, risk_warmup_steps=1, risk_reach_fraction=0.75)
    trainer.train()
    logged = [log for log in trainer.state.log_history if "risk/kept_fraction" in log]
    levels = [log["risk/level"] for log in logged]
    assert levels == pytest.approx([1.0, 1.0, 0.625, 0.25])  # 1 - 0.75 * (2 - 1) / (ceil(0.75 * 4) - 1)
    # 8 completions in 2 prompt groups: ceil(0.625 * 2) = 2 groups, then ceil(0.25 * 2) = 1 group
    assert [log["risk/kept_fraction"] for log in logged] == pytest.approx([1.0, 1.0, 1.0, 4 / 8])

    torch.manual_seed(0)
    trainer.state.global_step = 3
    batch = trainer._generate_and_score_completions(
        [{"prompt": p} for p in list(prompt_dataset(2)["prompt"]) * 4]
    )
    dropped = batch["completion_mask"].sum(dim=1) == 0
    assert dropped.tolist() == [False] * 4 + [True] * 4 or dropped.tolist() == [True] * 4 + [False] * 4

    def gradient(inputs):
        trainer.model.zero_grad()
        trainer._compute_loss(trainer.model, inputs).backward()
        return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])

    reference = gradient(batch)
    corrupted = dict(
        batch,
        advantages=torch.where(dropped, torch.full_like(batch["advantages"], 50.0), batch["advantages"]),
    )
    torch.testing.assert_close(gradient(corrupted), reference)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("alpha", 0.0, "alpha"),
        ("alpha", 2.0, "alpha"),
        ("risk_reach_fraction", 0.0, "reach_fraction"),
        ("risk_warmup_steps", -1, "risk_warmup_steps"),
        ("tail_ties", "all", "tail_ties"),
    ],
)
def test_config_rejects_bad_values_by_name(tmp_path, field, value, message):
    with pytest.raises(ValueError, match=message):
        CVaRGRPOConfig(output_dir=str(tmp_path), **{field: value}, **QUIET)
