"""AdaptiveDPOTrainer: parity with TRL's DPOTrainer, training behaviour, LoRA, resume, Hub card, bad input."""

import math

import pytest
import torch
from adaptive_helpers import CPU_TRAINING_ARGS, loss_and_gradients
from trl import DPOConfig, DPOTrainer

from hf_ext import AdaptiveDPOConfig, AdaptiveDPOTrainer, adaptive_preference_loss
from hf_ext.testing import preference_dataset, tiny_causal_lm


def make_trainer(tmp_path, trainer_cls=AdaptiveDPOTrainer, config_cls=AdaptiveDPOConfig, pairs=8, **fields):
    policy, tokenizer = tiny_causal_lm(seed=1)
    reference, _ = tiny_causal_lm(seed=0)  # a different model, so z = beta * h is not zero at step 0
    dataset = fields.pop("dataset", None) or preference_dataset(pairs)
    fields = {**CPU_TRAINING_ARGS, "output_dir": str(tmp_path / trainer_cls.__name__), **fields}
    if config_cls is AdaptiveDPOConfig:
        fields.setdefault("tau_plots", False)
    args = config_cls(**fields)
    return trainer_cls(
        model=policy, ref_model=reference, args=args, train_dataset=dataset, processing_class=tokenizer
    )


def first_batch(trainer):
    return next(iter(trainer.get_train_dataloader()))


def test_unit_tau_gives_dpo_gradients(tmp_path):
    dpo = make_trainer(tmp_path, DPOTrainer, DPOConfig, beta=0.5)
    adaptive = make_trainer(tmp_path, beta=0.5, rho=0.2, tau_min=1.0, tau_max=1.0)
    batch = first_batch(dpo)
    dpo_loss, dpo_gradients = loss_and_gradients(dpo, batch)
    adaptive_loss, adaptive_gradients = loss_and_gradients(adaptive, batch)
    assert adaptive_loss.item() == pytest.approx(dpo_loss.item() + 0.2 - math.log(2), abs=1e-6)
    assert dpo_gradients.keys() == adaptive_gradients.keys() and len(dpo_gradients) > 10
    for name, gradient in dpo_gradients.items():
        torch.testing.assert_close(adaptive_gradients[name], gradient, rtol=1e-5, atol=1e-7, msg=name)


@pytest.mark.parametrize("solver", ["exact", "newton"])
def test_per_pair_loss_and_gradient_follow_the_formula(tmp_path, solver):
    """One pair per batch: TRL's logged margin is z; the adaptive gradient is DPO's times a sigmoid ratio."""
    fields = {"beta": 2.0, "per_device_train_batch_size": 1}
    dpo = make_trainer(tmp_path, DPOTrainer, DPOConfig, pairs=3, **fields)
    adaptive = make_trainer(
        tmp_path, pairs=3, rho=0.1, tau_min=0.1, tau_max=5.0, tau_solver=solver, tau_newton_steps=5, **fields
    )
    interior = 0
    for batch in list(dpo.get_train_dataloader()):
        dpo_loss, dpo_gradients = loss_and_gradients(dpo, batch)
        z = torch.tensor([dpo._metrics["train"]["rewards/margins"][-1]], dtype=torch.float64)
        assert dpo_loss.item() == pytest.approx(-torch.nn.functional.logsigmoid(z).item(), rel=1e-5)
        expected_loss, tau = adaptive_preference_loss(z, 0.1, 0.1, 5.0, method=solver)
        adaptive_loss, adaptive_gradients = loss_and_gradients(adaptive, batch)
        assert adaptive_loss.item() == pytest.approx(expected_loss.item(), rel=1e-4, abs=1e-6)
        assert adaptive._metrics["train"]["tau/mean"][-1] == pytest.approx(tau.item(), rel=1e-4)
        ratio = (torch.sigmoid(-z / tau) / torch.sigmoid(-z)).item()
        for name, gradient in dpo_gradients.items():
            scale = gradient.abs().max().item() * ratio
            torch.testing.assert_close(
                adaptive_gradients[name], gradient * ratio, rtol=1e-3, atol=1e-4 * scale
            )
        interior += bool(0.1 < tau.item() < 5.0)
    assert interior >= 1  # at least one pair exercised a tau strictly inside the bounds


def test_training_increases_margins_and_logs_tau(tmp_path):
    trainer = make_trainer(
        tmp_path, pairs=32, max_steps=16, learning_rate=1e-3, lr_scheduler_type="constant", beta=0.5
    )
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss" in log]
    assert len(logs) == 16
    early, late = logs[:4], logs[-4:]
    mean = lambda rows, key: sum(row[key] for row in rows) / len(rows)  # noqa: E731
    assert mean(late, "loss") < mean(early, "loss")
    assert mean(late, "rewards/margins") > mean(early, "rewards/margins") + 0.5
    assert mean(late, "rewards/accuracies") > 0.8
    for log in logs:
        assert 0.1 - 1e-6 <= log["tau/min"] <= log["tau/mean"] <= log["tau/max"] <= 5.0 + 1e-6
        assert 0.0 <= log["tau/frac_at_min"] <= 1.0 and 0.0 <= log["tau/frac_at_max"] <= 1.0
        assert "rewards/chosen" in log and "logps/rejected" in log  # DPO's own metrics are still there
    assert mean(late, "tau/mean") > mean(early, "tau/mean")  # clearer pairs get larger tau
    assert len(trainer.tau_history) == 16 * 4


def test_tau_plots_are_written_at_train_end(tmp_path):
    trainer = make_trainer(tmp_path, max_steps=2, tau_plots=True)
    trainer.train()
    output = tmp_path / "AdaptiveDPOTrainer"
    for name in ("tau_histogram.png", "tau_vs_abs_z.png"):
        assert (output / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = (output / "tau_values.csv").read_text().splitlines()
    assert rows[0] == "step,z,tau" and len(rows) == 1 + 2 * 4
    steps, z, tau = trainer.tau_history.tensors()
    first = rows[1].split(",")
    assert float(first[1]) == pytest.approx(z[0].item()) and float(first[2]) == pytest.approx(tau[0].item())


@pytest.mark.parametrize(
    "variant",
    [
        {"conversational": True},
        {"precompute_ref_log_probs": True},
        {"gradient_accumulation_steps": 2},
        {"bf16": True},
        {"loss_type": ["sigmoid_norm", "sft"], "loss_weights": [1.0, 0.1]},
        {"tau_regularizer": "quadratic", "tau_max": float("inf")},
    ],
    ids=["conversational", "precomputed-ref", "grad-accum", "bf16", "sigmoid_norm+sft", "quadratic"],
)
def test_dpo_features_keep_working(tmp_path, variant):
    variant = dict(variant)
    dataset = preference_dataset(8, conversational=variant.pop("conversational", False))
    trainer = make_trainer(tmp_path, max_steps=2, dataset=dataset, **variant)
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss" in log]
    assert len(logs) == 2 and all(math.isfinite(log["loss"]) and "tau/mean" in log for log in logs)


def test_lora_without_reference_model(tmp_path):
    from peft import LoraConfig

    policy, tokenizer = tiny_causal_lm(seed=1)
    args = AdaptiveDPOConfig(
        output_dir=str(tmp_path / "lora"),
        max_steps=3,
        learning_rate=1e-2,
        tau_plots=False,
        **CPU_TRAINING_ARGS,
    )
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = AdaptiveDPOTrainer(
        model=policy,
        args=args,
        train_dataset=preference_dataset(12),
        processing_class=tokenizer,
        peft_config=lora,
    )
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {name for name, p in trainer.model.named_parameters() if not torch.equal(p, before[name])}
    assert changed and all("lora_" in name for name in changed)
    first = next(log for log in trainer.state.log_history if "loss" in log)
    # the reference is the base model (adapters disabled), which is the policy at step 0: z = 0, tau = tau_min
    assert first["tau/mean"] == pytest.approx(0.1) and first["rewards/margins"] == pytest.approx(
        0.0, abs=1e-6
    )


def test_resume_from_checkpoint_gives_the_same_next_losses(tmp_path):
    fields = {"max_steps": 4, "learning_rate": 1e-3, "save_strategy": "steps", "save_steps": 2, "pairs": 16}
    uninterrupted = make_trainer(tmp_path / "a", **fields)
    uninterrupted.train()
    checkpoint = tmp_path / "a" / "AdaptiveDPOTrainer" / "checkpoint-2"
    saved = sorted(path.name for path in checkpoint.iterdir())
    assert not [name for name in saved if name.endswith((".bin", ".pt", ".pth", ".pkl"))]  # no pickle
    assert {"optimizer.safetensors", "scheduler.json", "rng_state.json", "training_args.json"} <= set(saved)
    resumed = make_trainer(tmp_path / "b", **fields)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    losses = lambda trainer: {log["step"]: log["loss"] for log in trainer.state.log_history if "loss" in log}  # noqa: E731
    expected, got = losses(uninterrupted), losses(resumed)
    assert sorted(got) == [1, 2, 3, 4]  # steps 1-2 come back from the checkpoint's trainer_state.json
    for step in (3, 4):
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-7)


def test_push_to_hub_card_names_the_method_and_paper(tmp_path, monkeypatch):
    import transformers.trainer

    uploads = []

    class FakeHubApi:
        def create_repo(self, repo_id, **kwargs):
            return type("RepoUrl", (), {"repo_id": f"someone/{repo_id}"})()

        def upload_folder(self, repo_id, folder_path, **kwargs):
            from pathlib import Path

            files = sorted(p.name for p in Path(folder_path).iterdir())
            uploads.append((repo_id, files, Path(folder_path, "README.md").read_text()))
            return "https://huggingface.co/someone/commit/fake"

    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: FakeHubApi())
    trainer = make_trainer(tmp_path, max_steps=1, tau_plots=True)
    trainer.train()
    trainer.push_to_hub()
    ((repo_id, files, card),) = uploads
    assert repo_id == "someone/AdaptiveDPOTrainer"
    assert {"model.safetensors", "config.json", "README.md", "tau_histogram.png"} <= set(files)
    assert "training_args.json" in files and "training_args.bin" not in files  # no pickle uploaded
    assert "adaptive-dpo" in card and "2406.02764" in card and "Adaptive Preference Scaling" in card
    assert "hong2024adaptive" in card and "Adaptive DPO" in card


def test_push_during_training_uploads_no_pickle(tmp_path, monkeypatch):
    from concurrent.futures import Future
    from pathlib import Path

    import transformers.trainer

    uploads = []

    class FakeHubApi:
        def create_repo(self, repo_id, **kwargs):
            return type("RepoUrl", (), {"repo_id": f"someone/{repo_id}"})()

        def upload_folder(self, repo_id, folder_path, path_in_repo=None, **kwargs):
            uploads.append((path_in_repo, sorted(p.name for p in Path(folder_path).iterdir())))
            done = Future()
            done.set_result("https://huggingface.co/someone/commit/fake")
            return done

    monkeypatch.setattr(transformers.trainer, "hf_api", lambda: FakeHubApi())
    fields = {"push_to_hub": True, "hub_strategy": "checkpoint", "save_strategy": "steps", "save_steps": 1}
    make_trainer(tmp_path, max_steps=2, **fields).train()
    assert [where for where, _ in uploads] == [None, "last-checkpoint"] * 2
    for where, files in uploads:
        assert not [name for name in files if name.endswith((".bin", ".pt", ".pth", ".pkl"))], (where, files)
        assert "training_args.json" in files and "model.safetensors" in files
    output_files, checkpoint_files = uploads[-2][1], uploads[-1][1]
    assert "optimizer.safetensors" in checkpoint_files and "optimizer.safetensors" not in output_files


@pytest.mark.parametrize(
    "fields,field_name",
    [
        ({"rho": 0.0}, "rho"),
        ({"rho": 0.7}, "rho"),
        ({"tau_min": 0.0}, "tau_min"),
        ({"tau_min": 3.0, "tau_max": 2.0}, "tau_max"),
        ({"tau_solver": "bisect"}, "tau_solver"),
        ({"tau_regularizer": "l1"}, "tau_regularizer"),
        ({"tau_newton_steps": 0}, "tau_newton_steps"),
        ({"loss_type": ["ipo"]}, "loss_type"),
        ({"f_divergence_type": "js_divergence"}, "f_divergence_type"),
    ],
)
def test_bad_config_names_the_field(tmp_path, fields, field_name):
    with pytest.raises(ValueError, match=field_name):
        AdaptiveDPOConfig(output_dir=str(tmp_path), report_to="none", use_cpu=True, **fields)


@pytest.mark.parametrize("missing", ["chosen", "rejected"])
def test_dataset_without_a_column_names_it(tmp_path, missing):
    dataset = preference_dataset(4).remove_columns(missing)
    with pytest.raises(ValueError, match=f"no '{missing}' column"):
        make_trainer(tmp_path, dataset=dataset)


def test_trl_loss_change_is_detected(tmp_path, monkeypatch):
    """If TRL's loss stopped calling logsigmoid, training must fail loudly rather than run plain DPO."""
    trainer = make_trainer(tmp_path)
    batch = trainer._prepare_inputs(first_batch(trainer))
    monkeypatch.setattr(DPOTrainer, "_compute_loss", lambda self, model, inputs, outputs: torch.tensor(0.0))
    with pytest.raises(RuntimeError, match="expected 1 Bradley-Terry logsigmoid call"):
        trainer.compute_loss(trainer.model, batch)
    import trl.trainer.dpo_trainer

    z = torch.linspace(-3, 3, 7)  # the substitution was undone
    assert torch.equal(trl.trainer.dpo_trainer.F.logsigmoid(z), torch.nn.functional.logsigmoid(z))


def test_loss_substitution_is_per_thread(tmp_path):
    """While one thread is inside an adaptive loss scope, TRL's logsigmoid stays the plain one elsewhere."""
    import threading

    import trl.trainer.dpo_trainer

    trainer = make_trainer(tmp_path)
    z = torch.linspace(-3, 3, 7)
    inside, finished, seen = threading.Event(), threading.Event(), {}

    def in_scope():
        try:
            with trainer.adaptive_loss_scope(expected_calls=1):
                seen["scope"] = trl.trainer.dpo_trainer.F.logsigmoid(z)
                inside.set()
                finished.wait(30)
        except Exception as error:  # reported below rather than lost in the thread
            seen["error"] = error
            inside.set()

    def elsewhere():
        inside.wait(30)
        seen["other"] = trl.trainer.dpo_trainer.F.logsigmoid(z)
        finished.set()

    threads = [threading.Thread(target=in_scope), threading.Thread(target=elsewhere)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert "error" not in seen, seen.get("error")
    plain = torch.nn.functional.logsigmoid(z)
    assert torch.equal(seen["other"], plain)
    torch.testing.assert_close(seen["scope"], trainer._adaptive_logsigmoid(z))
    assert not torch.allclose(seen["scope"], plain)
    assert torch.equal(trl.trainer.dpo_trainer.F.logsigmoid(z), plain)


def test_args_must_be_the_adaptive_config(tmp_path):
    with pytest.raises(TypeError, match="args must be an AdaptiveDPOConfig, got DPOConfig"):
        make_trainer(tmp_path, config_cls=DPOConfig)
