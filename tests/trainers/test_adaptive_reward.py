"""AdaptiveRewardTrainer: parity with TRL's RewardTrainer, the per-pair formula, training, bad input."""

import math

import pytest
import torch
from adaptive_helpers import CPU_TRAINING_ARGS, loss_and_gradients
from datasets import Dataset
from transformers import AutoModelForSequenceClassification
from trl import RewardConfig, RewardTrainer

from hf_ext import AdaptiveRewardConfig, AdaptiveRewardTrainer, adaptive_preference_loss
from hf_ext.testing import preference_dataset, tiny_config, tiny_tokenizer


def reward_model(seed=0):
    torch.manual_seed(seed)
    return AutoModelForSequenceClassification.from_config(tiny_config(num_labels=1))


def make_trainer(tmp_path, trainer_cls=AdaptiveRewardTrainer, config_cls=AdaptiveRewardConfig, **fields):
    dataset = fields.pop("dataset", None) or preference_dataset(fields.pop("pairs", 8))
    fields = {**CPU_TRAINING_ARGS, "output_dir": str(tmp_path / trainer_cls.__name__), **fields}
    if config_cls is AdaptiveRewardConfig:
        fields.setdefault("tau_plots", False)
    return trainer_cls(
        model=reward_model(),
        args=config_cls(**fields),
        train_dataset=dataset,
        processing_class=tiny_tokenizer(),
    )


def test_unit_tau_gives_reward_trainer_gradients(tmp_path):
    baseline = make_trainer(tmp_path, RewardTrainer, RewardConfig)
    adaptive = make_trainer(tmp_path, rho=0.3, tau_min=1.0, tau_max=1.0)
    batch = next(iter(baseline.get_train_dataloader()))
    base_loss, base_gradients = loss_and_gradients(baseline, batch)
    adaptive_loss, adaptive_gradients = loss_and_gradients(adaptive, batch)
    assert adaptive_loss.item() == pytest.approx(base_loss.item() + 0.3 - math.log(2), abs=1e-6)
    assert base_gradients.keys() == adaptive_gradients.keys() and len(base_gradients) > 10
    for name, gradient in base_gradients.items():
        torch.testing.assert_close(adaptive_gradients[name], gradient, rtol=1e-5, atol=1e-7, msg=name)


def test_loss_is_the_mean_adaptive_loss_of_the_reward_gaps(tmp_path):
    trainer = make_trainer(tmp_path, rho=0.05, tau_min=0.01, tau_max=2.0)
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    with torch.no_grad():
        rewards = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    chosen, rejected = rewards.squeeze(-1).chunk(2)
    z = (chosen - rejected).double()
    z.requires_grad_()
    expected, tau = adaptive_preference_loss(z, 0.05, 0.01, 2.0)
    loss, gradients = loss_and_gradients(trainer, batch)
    assert loss.item() == pytest.approx(expected.mean().item(), rel=1e-5, abs=1e-7)
    assert trainer._metrics["train"]["tau/mean"][-1] == pytest.approx(tau.mean().item(), rel=1e-5)
    # chain rule through the score head: d loss / d r_chosen = -sigmoid(-z / tau) / N for each pair
    (dz,) = torch.autograd.grad(expected.mean(), z)
    torch.testing.assert_close(dz, -torch.sigmoid(-z.detach() / tau) / len(z))


def test_margin_column_shifts_z(tmp_path):
    dataset = preference_dataset(4).add_column("margin", [0.5, -0.5, 1.0, 0.0])
    trainer = make_trainer(tmp_path, dataset=dataset, rho=0.1, tau_min=0.01, tau_max=10.0)
    batch = trainer._prepare_inputs(next(iter(trainer.get_train_dataloader())))
    with torch.no_grad():
        rewards = trainer.model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
    chosen, rejected = rewards.squeeze(-1).chunk(2)
    expected, _ = adaptive_preference_loss(chosen - rejected - batch["margin"], 0.1, 0.01, 10.0)
    loss, _ = loss_and_gradients(trainer, batch)
    assert loss.item() == pytest.approx(expected.mean().item(), rel=1e-5)


def test_training_separates_chosen_from_rejected(tmp_path):
    """Learnable pairs: the fluent continuation against one of its words repeated."""
    pairs = preference_dataset(32).map(
        lambda row: {"rejected": " " + " ".join([row["chosen"].split()[0]] * 6)}
    )
    trainer = make_trainer(
        tmp_path, dataset=pairs, max_steps=16, learning_rate=3e-3, lr_scheduler_type="constant"
    )
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss" in log]
    mean = lambda rows, key: sum(row[key] for row in rows) / len(rows)  # noqa: E731
    early, late = logs[:4], logs[-4:]
    assert mean(late, "loss") < mean(early, "loss")
    assert mean(late, "margin") > mean(early, "margin") + 0.5
    assert mean(late, "accuracy") > 0.8
    assert mean(late, "tau/mean") > mean(early, "tau/mean")  # clearer pairs get larger tau
    assert all("tau/frac_at_max" in log and 0.1 - 1e-6 <= log["tau/min"] for log in logs)


def test_recipe_trains_through_the_registry(tmp_path):
    from hf_ext.recipes import recipe_path
    from hf_ext.trainers.launch import train_from_recipe

    output = tmp_path / "rm"
    argv = ["--config", str(recipe_path("adaptive_reward/tiny.yaml")), "--output_dir", str(output)]
    trainer = train_from_recipe("adaptive-reward", [*argv, "--max_steps", "3", "--rho", "0.2"])
    assert isinstance(trainer, AdaptiveRewardTrainer) and trainer.args.rho == 0.2
    assert (output / "model.safetensors").exists() and (output / "tau_histogram.png").exists()
    assert not (output / "training_args.bin").exists()
    reloaded = AutoModelForSequenceClassification.from_pretrained(output)
    assert reloaded.config.num_labels == 1


@pytest.mark.parametrize("missing", ["chosen", "rejected"])
def test_dataset_without_a_column_names_it(tmp_path, missing):
    dataset = Dataset.from_list([{"chosen": "a b", "rejected": "b a"}]).remove_columns(missing)
    with pytest.raises(ValueError, match=f"train dataset has no '{missing}' column"):
        make_trainer(tmp_path, dataset=dataset)


@pytest.mark.parametrize(
    "fields,field_name",
    [({"rho": -0.1}, "rho"), ({"tau_min": -1.0}, "tau_min"), ({"tau_solver": "adam"}, "tau_solver")],
)
def test_bad_config_names_the_field(tmp_path, fields, field_name):
    with pytest.raises(ValueError, match=field_name):
        AdaptiveRewardConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, **fields)
