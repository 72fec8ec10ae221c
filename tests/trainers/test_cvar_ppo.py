"""CVaR-PPO trainer: parity with plain PPO, masking, learning, resuming, saving, bad input."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch
from transformers import AutoModelForCausalLM

from hf_ext.objectives.ppo import (
    clipped_policy_loss,
    clipped_value_loss,
    generalized_advantage_estimation,
    kl_shaped_rewards,
    masked_whiten,
)
from hf_ext.testing import prompt_dataset, tiny_causal_lm
from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
from hf_ext.trainers.cvar_ppo_trainer import CVaRPPOTrainer, Rollout

QUIET = {"report_to": "none", "use_cpu": True, "disable_tqdm": True}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def word_count_reward(prompts, completions, **columns):
    return [float(len(c.split())) for c in completions]


def make_trainer(tmp_path, *, model=None, tokenizer=None, reward=word_count_reward, **overrides):
    if model is None:
        model, tokenizer = tiny_causal_lm("llama", seed=0)
    settings = {
        "output_dir": str(tmp_path / "out"),
        "max_steps": 4,
        "per_device_train_batch_size": 4,
        "max_new_tokens": 6,
        "max_prompt_length": 16,
        "num_ppo_epochs": 2,
        "num_mini_batches": 2,
        "learning_rate": 1e-3,
        "logging_strategy": "no",
        "save_strategy": "no",
        "seed": 0,
        **QUIET,
        **overrides,
    }
    return CVaRPPOTrainer(
        model=model,
        args=CVaRPPOConfig(**settings),
        processing_class=tokenizer,
        reward_funcs=reward,
        train_dataset=prompt_dataset(16),
    )


def first_batches(trainer, count=1):
    iterator = iter(trainer.get_train_dataloader())
    return [next(iterator) for _ in range(count)]


def reference_ppo_loss(trainer, rollout):
    """Plain PPO's loss at the rollout's own parameters, written directly from the objectives (no risk)."""
    args = trainer.args
    mask = rollout.response_mask
    rewards, _ = kl_shaped_rewards(rollout.scores, rollout.logprobs, rollout.ref_logprobs, mask, args.kl_coef)
    advantages, returns = generalized_advantage_estimation(
        rewards, rollout.values, mask, args.gamma, args.lam
    )
    advantages = masked_whiten(advantages, mask)
    logprobs, values = trainer.policy_outputs(trainer.model, rollout)
    policy = clipped_policy_loss(logprobs, rollout.logprobs, advantages, mask, args.clip_range)
    value = clipped_value_loss(values, rollout.values, returns, mask, args.clip_range_value)
    return policy.loss + args.vf_coef * value


def test_alpha_one_equals_plain_ppo_and_cvar_during_warmup(tmp_path):
    model, tokenizer = tiny_causal_lm("llama", seed=0)
    plain = make_trainer(tmp_path, model=copy.deepcopy(model), tokenizer=tokenizer, alpha=1.0)
    warm = make_trainer(
        tmp_path, model=copy.deepcopy(model), tokenizer=tokenizer, alpha=0.25, risk_warmup_steps=4
    )
    batches = first_batches(plain)
    losses = []
    for trainer in (plain, warm):
        torch.manual_seed(0)
        rollout = trainer.make_rollout(batches)
        assert rollout.keep.all()
        loss, _ = trainer.ppo_loss(trainer.model, rollout, rollout.loss_mask.sum())
        torch.testing.assert_close(loss, reference_ppo_loss(trainer, rollout))
        losses.append(loss)
    torch.testing.assert_close(losses[0], losses[1])


def test_masked_episodes_contribute_zero_gradient(tmp_path):
    trainer = make_trainer(tmp_path, alpha=0.5, per_device_train_batch_size=8, risk_reach_fraction=0.5)
    trainer.state.max_steps, trainer.state.global_step = 4, 3  # past the reach step: level = alpha
    torch.manual_seed(0)
    rollout = trainer.make_rollout(first_batches(trainer))
    assert rollout.keep.sum() == 4 and trainer.risk_level() == 0.5
    assert rollout.episode_returns[rollout.keep].max() <= rollout.episode_returns[~rollout.keep].min()
    assert (rollout.loss_mask[~rollout.keep] == 0).all()

    def gradient(batch):
        trainer.model.zero_grad()
        loss, _ = trainer.ppo_loss(trainer.model, batch, rollout.loss_mask.sum())
        loss.backward()
        return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])

    reference = gradient(rollout)
    assert reference.abs().sum() > 0
    corrupted = copy.copy(rollout)
    dropped = (~rollout.keep).unsqueeze(1)
    noise = torch.randn_like(rollout.advantages) * 100
    corrupted.advantages = torch.where(dropped, noise, rollout.advantages)
    corrupted.returns = torch.where(dropped, noise, rollout.returns)
    corrupted.logprobs = torch.where(dropped, rollout.logprobs + noise.clamp(-3, 3), rollout.logprobs)
    corrupted.values = torch.where(dropped, noise, rollout.values)
    torch.testing.assert_close(gradient(corrupted), reference)
    kept_only = rollout.rows(torch.nonzero(rollout.keep).squeeze(1))
    torch.testing.assert_close(gradient(kept_only), reference)


def test_micro_batches_accumulate_to_the_minibatch_gradient(tmp_path):
    trainer = make_trainer(tmp_path, per_device_train_batch_size=2, gradient_accumulation_steps=2)
    torch.manual_seed(0)
    rollout = trainer.make_rollout(first_batches(trainer, 2))
    assert len(rollout) == 4

    def gradient(step):
        trainer.model.zero_grad()
        trainer.minibatch_backward(trainer.model, step)
        return torch.cat([p.grad.flatten() for p in trainer.model.parameters() if p.grad is not None])

    accumulated = gradient(rollout)  # two micro-batches of 2
    trainer.args.per_device_train_batch_size = 4
    torch.testing.assert_close(gradient(rollout), accumulated)


def test_kl_controller_sees_only_kept_episodes(tmp_path):
    trainer = make_trainer(tmp_path, alpha=0.25, risk_reach_fraction=0.25, per_device_train_batch_size=8)
    trainer.state.max_steps, trainer.state.global_step = 4, 2
    torch.manual_seed(0)
    rollout = trainer.make_rollout(first_batches(trainer))
    rollout.kl = torch.where(rollout.keep.unsqueeze(1), rollout.kl, torch.full_like(rollout.kl, 1e6))
    kept = rollout.keep
    expected = (rollout.kl * rollout.response_mask)[kept].sum(1).mean().item()
    assert trainer.kept_kl(rollout) == pytest.approx(expected)
    assert expected < 1e3


def test_official_kl_estimate_and_quantile_ties_by_hand(tmp_path):
    # 4 episodes, level 0.5 (2 kept by count). Returns [1, 0, 1, 5]: the 2nd smallest is 1, tied with #2.
    # Hand-made per-token KL (mask all ones over 2 tokens): sequence KLs 2, 4, 6, 8.
    settings = {"alpha": 0.5, "risk_reach_fraction": 0.25, "per_device_train_batch_size": 4}
    exact = make_trainer(tmp_path, **settings)
    official = make_trainer(tmp_path, **settings, tail_ties="quantile", kl_estimate="official")
    for trainer in (exact, official):
        trainer.state.max_steps, trainer.state.global_step = 4, 1
    rollout = make_rollout_stub(returns=[1.0, 0.0, 1.0, 5.0], sequence_kl=[2.0, 4.0, 6.0, 8.0])
    exact.select_tail(rollout)
    assert rollout.keep.tolist() == [True, True, False, False]
    assert exact.kept_kl(rollout) == pytest.approx((2 + 4) / 2)
    official.select_tail(rollout)
    assert rollout.keep.tolist() == [True, True, True, False]
    assert official.kept_kl(rollout) == pytest.approx((2 + 4 + 6) / 4)  # summed over kept, divided by B


def make_rollout_stub(returns: list[float], sequence_kl: list[float]) -> Rollout:
    size = len(returns)
    kl = torch.tensor(sequence_kl).unsqueeze(1).repeat(1, 2) / 2
    return Rollout(
        input_ids=torch.zeros(size, 3, dtype=torch.long),
        attention_mask=torch.ones(size, 3, dtype=torch.long),
        position_ids=torch.arange(3).repeat(size, 1),
        prompt_length=1,
        response_mask=torch.ones(size, 2),
        prompts=["p"] * size,
        completions=["c"] * size,
        columns={},
        kl=kl,
        episode_returns=torch.tensor(returns),
    )


@pytest.mark.slow
def test_ppo_raises_the_reward_of_a_favoured_token(tmp_path):
    from hf_ext.testing import reference_lm

    model, tokenizer = reference_lm()
    target = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(" the")[0])

    def favour_the(prompts, completions, completion_ids, **columns):
        return [ids.count(target) / max(len(ids), 1) for ids in completion_ids]

    trainer = make_trainer(
        tmp_path,
        model=model.train(),
        tokenizer=tokenizer,
        reward=favour_the,
        max_steps=12,
        per_device_train_batch_size=16,
        max_new_tokens=6,
        num_ppo_epochs=4,
        num_mini_batches=2,
        learning_rate=1e-3,
        lr_scheduler_type="constant",
        kl_coef=0.0,
        logging_strategy="steps",
        logging_steps=1,
    )
    trainer.train()
    rewards = [log["reward/mean"] for log in trainer.state.log_history if "reward/mean" in log]
    assert len(rewards) == 12
    first, last = sum(rewards[:3]) / 3, sum(rewards[-3:]) / 3
    assert last > first + 0.1 and last > 2 * first, rewards


def test_resume_gives_the_same_next_step(tmp_path):
    model, tokenizer = tiny_causal_lm("llama", seed=0)
    settings = {
        "max_steps": 2,
        "save_strategy": "steps",
        "save_steps": 1,
        "kl_target": 1e-3,  # with a short horizon beta moves every step: its state must come back too
        "kl_horizon": 10.0,
        "alpha": 0.5,
        "risk_reach_fraction": 0.5,
    }
    full = make_trainer(tmp_path, model=copy.deepcopy(model), tokenizer=tokenizer, **settings)
    full.train()
    beta_after_two = full.kl_controller.beta
    assert beta_after_two < 0.2 * 0.999
    final = {name: p.detach().clone() for name, p in full.model.named_parameters()}

    checkpoint = tmp_path / "out" / "checkpoint-1"
    assert (checkpoint / "value_model.safetensors").exists()
    assert (checkpoint / "optimizer.safetensors").exists() and (checkpoint / "rng_state.json").exists()
    assert not [path.name for path in checkpoint.iterdir() if path.suffix in {".bin", ".pt", ".pth", ".pkl"}]
    resumed = make_trainer(tmp_path, model=copy.deepcopy(model), tokenizer=tokenizer, **settings)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    assert resumed.kl_controller.beta == pytest.approx(beta_after_two, rel=1e-12)
    for name, parameter in resumed.model.named_parameters():
        torch.testing.assert_close(parameter, final[name], msg=name)


def test_saved_policy_reloads_as_a_causal_lm_with_a_model_card(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=1)
    trainer.train()
    out = tmp_path / "saved"
    trainer.save_model(str(out))
    assert {"model.safetensors", "value_model.safetensors", "cvar_ppo_state.json", "training_args.json"} <= {
        p.name for p in out.iterdir()
    }
    assert not list(out.glob("*.bin"))
    reloaded = AutoModelForCausalLM.from_pretrained(out)
    ids = torch.tensor([[5, 6, 7, 8]])
    torch.testing.assert_close(reloaded(ids).logits, trainer.policy(ids).logits)
    assert json.loads((out / "cvar_ppo_state.json").read_text())["kl_controller"]["beta"] > 0
    trainer.create_model_card(model_name="tiny-cvar")
    card = (tmp_path / "out" / "README.md").read_text()
    assert "CVaR-PPO" in card and "2501.06911" in card and "alpha=1.0" in card


def test_push_to_hub_uploads_the_output_folder(tmp_path, monkeypatch):
    import transformers.trainer as trainer_module

    trainer = make_trainer(tmp_path, max_steps=1, hub_model_id="someone/tiny-cvar")
    trainer.train()
    uploads = []

    class FakeApi:
        def upload_folder(self, **kwargs):
            uploads.append(kwargs)
            return "ok"

    monkeypatch.setattr(
        trainer, "init_hf_repo", lambda **kwargs: setattr(trainer, "hub_model_id", "someone/x")
    )
    monkeypatch.setattr(trainer_module, "hf_api", lambda: FakeApi())
    trainer.push_to_hub()
    folder = tmp_path / "out"
    assert uploads and uploads[0]["folder_path"] == str(folder)
    assert (folder / "model.safetensors").exists() and "CVaR-PPO" in (folder / "README.md").read_text()


def test_lora_policy_uses_the_disabled_adapter_as_reference(tmp_path):
    from peft import LoraConfig

    model, tokenizer = tiny_causal_lm("llama", seed=0)
    base = copy.deepcopy(model)
    trainer = CVaRPPOTrainer(
        model=model,
        args=CVaRPPOConfig(
            output_dir=str(tmp_path / "out"),
            max_steps=2,
            per_device_train_batch_size=4,
            max_new_tokens=6,
            learning_rate=1e-2,
            logging_strategy="no",
            save_strategy="no",
            **QUIET,
        ),
        processing_class=tokenizer,
        reward_funcs=word_count_reward,
        train_dataset=prompt_dataset(8),
        peft_config=LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], lora_dropout=0.0),
    )
    assert trainer.ref_model is None
    trainer.train()
    torch.manual_seed(0)
    rollout = trainer.make_rollout(first_batches(trainer))
    with torch.no_grad():
        base_logits = base(
            input_ids=rollout.input_ids,
            attention_mask=rollout.attention_mask,
            position_ids=rollout.position_ids,
        ).logits
    start = rollout.prompt_length - 1
    tokens = rollout.input_ids[:, rollout.prompt_length :]
    base_logprobs = torch.log_softmax(base_logits[:, start : start + tokens.shape[1]], -1)
    base_logprobs = base_logprobs.gather(2, tokens.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(rollout.ref_logprobs, base_logprobs)
    assert not torch.allclose(rollout.logprobs, rollout.ref_logprobs)  # the adapter has moved the policy
    trainer.save_model(str(tmp_path / "adapter"))
    assert (tmp_path / "adapter" / "adapter_model.safetensors").exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alpha", 0.0),
        ("alpha", 1.5),
        ("risk_reach_fraction", 0.0),
        ("risk_reach_fraction", 2.0),
        ("risk_return", "median"),
        ("tail_ties", "all"),
        ("kl_estimate", "sum"),
        ("num_mini_batches", 3),
        ("kl_target", -1.0),
        ("top_p", 0.0),
        ("eval_strategy", "steps"),
    ],
)
def test_config_rejects_bad_values_by_name(tmp_path, field, value):
    expected = "reach_fraction" if field == "risk_reach_fraction" else field
    with pytest.raises(ValueError, match=expected):
        CVaRPPOConfig(output_dir=str(tmp_path), per_device_train_batch_size=4, **{field: value}, **QUIET)


@pytest.mark.parametrize(
    ("reward", "message"),
    [
        (lambda prompts, completions, **kw: [1.0] * (len(completions) - 1), "shape"),
        (lambda prompts, completions, **kw: [[1.0, 2.0]] * len(completions), "shape"),
        (lambda prompts, completions, **kw: [math.nan] * len(completions), "NaN"),
    ],
)
def test_bad_reward_functions_are_named(tmp_path, reward, message):
    trainer = make_trainer(tmp_path, reward=reward)
    with pytest.raises(ValueError, match=rf"reward function '<lambda>'.*{message}|{message}.*'<lambda>'"):
        trainer.make_rollout(first_batches(trainer))


def test_missing_reward_and_unknown_total_steps_are_errors(tmp_path):
    model, tokenizer = tiny_causal_lm("llama", seed=0)
    with pytest.raises(ValueError, match="reward_funcs"):
        CVaRPPOTrainer(
            model=model,
            args=CVaRPPOConfig(output_dir=str(tmp_path), **QUIET),
            processing_class=tokenizer,
            train_dataset=prompt_dataset(4),
        )
    trainer = make_trainer(tmp_path, alpha=0.5)
    trainer.state.max_steps, trainer.args.max_steps = 0, -1  # no max_steps and no train() yet
    trainer.state.global_step = 3
    with pytest.raises(ValueError, match="total_steps"):
        trainer.risk_level()


def test_bf16_and_a_separate_value_model_train(tmp_path):
    model, tokenizer = tiny_causal_lm("llama", seed=0)
    value_model, _ = tiny_causal_lm("llama", seed=1, num_hidden_layers=1)
    trainer = CVaRPPOTrainer(
        model=model,
        args=CVaRPPOConfig(
            output_dir=str(tmp_path / "out"), max_steps=1, per_device_train_batch_size=4, max_new_tokens=4,
            num_ppo_epochs=1, bf16=True, logging_steps=1, save_strategy="no", **QUIET,
        ),
        processing_class=tokenizer,
        reward_funcs=word_count_reward,
        train_dataset=prompt_dataset(8),
        value_model=value_model,
    )  # fmt: skip
    before = trainer.model.value_backbone.model.layers[0].mlp.up_proj.weight.detach().clone()
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss/value" in log]
    assert len(logs) == 1 and all(math.isfinite(log["loss/value"]) for log in logs)
    assert not torch.equal(before, trainer.model.value_backbone.model.layers[0].mlp.up_proj.weight)
    trainer.save_model(str(tmp_path / "saved"))
    from safetensors.torch import load_file

    saved = load_file(tmp_path / "saved" / "value_model.safetensors")
    assert "value_head.weight" in saved and any(key.startswith("value_backbone.") for key in saved)


def test_reward_model_path_scores_prompt_plus_completion(tmp_path):
    from transformers import AutoModelForSequenceClassification

    from hf_ext.testing import tiny_config

    _, tokenizer = tiny_causal_lm("llama", seed=0)
    reward_model = AutoModelForSequenceClassification.from_config(tiny_config("llama", num_labels=1))
    reward_model.config.pad_token_id = tokenizer.pad_token_id
    reward_model.save_pretrained(tmp_path / "rm")
    tokenizer.save_pretrained(tmp_path / "rm")
    trainer = make_trainer(tmp_path, reward=str(tmp_path / "rm"))
    torch.manual_seed(0)
    rollout = trainer.make_rollout(first_batches(trainer))
    texts = [p + c for p, c in zip(rollout.prompts, rollout.completions)]
    with torch.no_grad():
        expected = reward_model.eval()(**tokenizer(texts, padding=True, return_tensors="pt")).logits[:, 0]
    torch.testing.assert_close(rollout.scores, expected)


def test_gradient_accumulation_makes_one_rollout_and_generation_follows_the_config(tmp_path):
    trainer = make_trainer(
        tmp_path, per_device_train_batch_size=2, gradient_accumulation_steps=2, max_steps=2, min_new_tokens=6
    )
    assert trainer.generation_config.min_new_tokens == 6 and trainer.generation_config.max_new_tokens == 6
    sizes, original = [], trainer.make_rollout

    def recording(batches):
        rollout = original(batches)
        sizes.append(len(rollout))
        assert rollout.response_mask.shape[1] == 6 and rollout.response_mask.all()  # EOS blocked until 6
        return rollout

    trainer.make_rollout = recording
    trainer.train()
    assert trainer.state.global_step == 2 and sizes == [4, 4]
