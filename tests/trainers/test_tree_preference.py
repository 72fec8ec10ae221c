"""TreePreferenceTrainer: training from a folder of trees, parity with DPO and Ada-DPO on the same pairs,
LoRA, resume, registry and recipe, inputs it accepts and refuses."""

from __future__ import annotations

import json
import math

import pytest
import torch
from adaptive_helpers import CPU_TRAINING_ARGS, loss_and_gradients
from trl import DPOConfig, DPOTrainer

from hf_ext import AdaptiveDPOConfig, AdaptiveDPOTrainer, TreePreferenceConfig, TreePreferenceTrainer
from hf_ext.data.tool_trees import tree_preference_dataset, write_tool_preference
from hf_ext.errors import HFExtError
from hf_ext.testing import tiny_causal_lm
from hf_ext.testing.tool_trees import tool_tree, write_tool_trees

TREE_ARGS = {
    **CPU_TRAINING_ARGS,
    "per_device_train_batch_size": 2,
    "max_length": 96,
    "truncation_mode": "keep_end",
}


@pytest.fixture(scope="module")
def trees(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trees")
    write_tool_trees(folder, count=12, seed=0)
    return folder


def make_trainer(
    tmp_path, dataset, trainer_cls=TreePreferenceTrainer, config_cls=TreePreferenceConfig, **fields
):
    policy, tokenizer = tiny_causal_lm(seed=1)
    reference, _ = tiny_causal_lm(seed=0)
    fields = {**TREE_ARGS, "output_dir": str(tmp_path / trainer_cls.__name__), **fields}
    if config_cls in (AdaptiveDPOConfig, TreePreferenceConfig):
        fields.setdefault("tau_plots", False)
    return trainer_cls(
        model=policy,
        ref_model=reference,
        args=config_cls(**fields),
        train_dataset=dataset,
        processing_class=tokenizer,
    )


def test_trains_from_a_folder_of_trees_and_logs_tree_metrics(tmp_path, trees):
    trainer = make_trainer(tmp_path, str(trees), max_steps=3, learning_rate=1e-3, depth_bucket_edges=[3])
    expected = len(tree_preference_dataset(trees))
    assert trainer.tree_stats["trees"] == 12 and trainer.tree_stats["pairs"] == expected > 4
    assert trainer.tree_stats["pairs_per_tree"] == pytest.approx(expected / 12)
    trainer.train()
    logs = [log for log in trainer.state.log_history if "loss" in log]
    assert len(logs) == 3 and all(math.isfinite(log["loss"]) for log in logs)
    assert logs[0]["trees/trees"] == 12 and "trees/trees" not in logs[1]  # logged once
    buckets = {key for log in logs for key in log if key.startswith("rewards/accuracies_depth_")}
    assert buckets and buckets <= {"rewards/accuracies_depth_0-2", "rewards/accuracies_depth_3+"}
    for log in logs:  # each bucket's accuracy is a share of the pairs; together they are DPO's accuracy
        assert all(0.0 <= log[key] <= 1.0 for key in buckets if key in log)
        if len([key for key in buckets if key in log]) == 1:
            (key,) = [key for key in buckets if key in log]
            assert log[key] == pytest.approx(log["rewards/accuracies"])
    trainer.create_model_card()
    card = (tmp_path / "TreePreferenceTrainer" / "README.md").read_text()
    assert "tree-dpo" in card and "2406.07115" in card and "chen2024advancing" in card


def test_mined_batches_equal_dpo_on_the_same_pairs(tmp_path, trees):
    """Without adaptive scaling the trainer is DPO: the same pairs, the same loss and gradients."""
    tree_trainer = make_trainer(tmp_path / "t", str(trees), beta=0.5)
    dpo = make_trainer(tmp_path / "d", tree_preference_dataset(trees), DPOTrainer, DPOConfig, beta=0.5)
    tree_batch = next(iter(tree_trainer.get_train_dataloader()))
    dpo_batch = next(iter(dpo.get_train_dataloader()))
    assert torch.equal(tree_batch["input_ids"], dpo_batch["input_ids"])
    assert tree_batch["pair_depth"].shape == (2,)
    tree_loss, tree_gradients = loss_and_gradients(tree_trainer, tree_batch)
    dpo_loss, dpo_gradients = loss_and_gradients(dpo, dpo_batch)
    assert tree_loss.item() == pytest.approx(dpo_loss.item(), rel=1e-6)
    for name, gradient in dpo_gradients.items():
        torch.testing.assert_close(tree_gradients[name], gradient, msg=name)
    depths = tree_batch["pair_depth"].tolist()
    margins = dpo._metrics["train"]["rewards/margins"][-1]
    assert tree_trainer._metrics["train"]["pairs/depth_mean"][-1] == pytest.approx(sum(depths) / 2)
    if len({tree_trainer.args.depth_bucket(d) for d in depths}) == 1 and abs(margins) > 0:
        bucket = tree_trainer.args.depth_bucket(depths[0])
        accuracy = tree_trainer._metrics["train"][f"rewards/accuracies_depth_{bucket}"][-1]
        assert accuracy == pytest.approx(dpo._metrics["train"]["rewards/accuracies"][-1])


def test_adaptive_scaling_gradients_equal_ada_dpo(tmp_path, trees):
    adaptive_fields = {"beta": 2.0, "rho": 0.1, "tau_min": 0.1, "tau_max": 5.0}
    tree_trainer = make_trainer(tmp_path / "t", str(trees), adaptive_scaling=True, **adaptive_fields)
    ada = make_trainer(
        tmp_path / "a",
        tree_preference_dataset(trees),
        AdaptiveDPOTrainer,
        AdaptiveDPOConfig,
        **adaptive_fields,
    )
    assert (
        "adaptive-dpo" in tree_trainer._tag_names and "adaptive-dpo" not in TreePreferenceTrainer._tag_names
    )
    for tree_batch, ada_batch in zip(
        tree_trainer.get_train_dataloader(), ada.get_train_dataloader(), strict=True
    ):
        tree_loss, tree_gradients = loss_and_gradients(tree_trainer, tree_batch)
        ada_loss, ada_gradients = loss_and_gradients(ada, ada_batch)
        assert tree_loss.item() == pytest.approx(ada_loss.item(), rel=1e-6)
        assert tree_trainer._metrics["train"]["tau/mean"][-1] == pytest.approx(
            ada._metrics["train"]["tau/mean"][-1]
        )
        for name, gradient in ada_gradients.items():
            torch.testing.assert_close(tree_gradients[name], gradient, msg=name)
        break
    dpo = make_trainer(tmp_path / "d", str(trees), beta=2.0)
    dpo_loss, _ = loss_and_gradients(dpo, next(iter(dpo.get_train_dataloader())))
    assert abs(dpo_loss.item() - tree_loss.item()) > 1e-3  # the adaptive loss really is a different loss


def test_lora_without_reference_model(tmp_path, trees):
    from peft import LoraConfig

    policy, tokenizer = tiny_causal_lm(seed=1)
    lora = LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    args = TreePreferenceConfig(
        output_dir=str(tmp_path / "lora"), max_steps=2, learning_rate=1e-2, **TREE_ARGS
    )
    trainer = TreePreferenceTrainer(
        model=policy, args=args, train_dataset=str(trees), processing_class=tokenizer, peft_config=lora
    )
    before = {name: p.detach().clone() for name, p in trainer.model.named_parameters()}
    trainer.train()
    changed = {name for name, p in trainer.model.named_parameters() if not torch.equal(p, before[name])}
    assert changed and all("lora_" in name for name in changed)
    first = next(log for log in trainer.state.log_history if "loss" in log)
    assert first["rewards/margins"] == pytest.approx(0.0, abs=1e-6)  # reference = base model at step 0


@pytest.mark.slow
def test_resume_from_checkpoint_gives_the_same_next_losses(tmp_path, trees):
    fields = {"max_steps": 4, "learning_rate": 1e-3, "save_strategy": "steps", "save_steps": 2}
    uninterrupted = make_trainer(tmp_path / "a", str(trees), **fields)
    uninterrupted.train()
    checkpoint = tmp_path / "a" / "TreePreferenceTrainer" / "checkpoint-2"
    saved = sorted(path.name for path in checkpoint.iterdir())
    assert not [name for name in saved if name.endswith((".bin", ".pt", ".pth", ".pkl"))]
    resumed = make_trainer(tmp_path / "b", str(trees), **fields)
    resumed.train(resume_from_checkpoint=str(checkpoint))
    losses = lambda trainer: {log["step"]: log["loss"] for log in trainer.state.log_history if "loss" in log}  # noqa: E731
    expected, got = losses(uninterrupted), losses(resumed)
    assert sorted(got) == [1, 2, 3, 4]
    for step in (3, 4):
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-7)


def test_registry_and_recipe_train_from_a_tree_folder(tmp_path, trees):
    from hf_ext.recipes import recipe_path
    from hf_ext.registry import get_trainer
    from hf_ext.trainers.launch import train_from_recipe

    entry = get_trainer("tree-dpo")
    assert entry.trainer_cls is TreePreferenceTrainer and entry.config_cls is TreePreferenceConfig
    argv = ["--config", str(recipe_path("tree_preference/tiny.yaml")), "--dataset_name", str(trees),
            "--output_dir", str(tmp_path / "out"), "--max_steps", "1", "--max_length", "96",
            "--max_train_samples", "6"]  # fmt: skip
    trainer = train_from_recipe("tree-dpo", argv)
    assert trainer.state.global_step == 1 and trainer.tree_stats["trees"] == 6
    assert (tmp_path / "out" / "model.safetensors").exists()
    assert not (tmp_path / "out" / "training_args.bin").exists()


def test_recipe_reads_a_tool_preference_file(tmp_path, trees):
    from hf_ext.recipes import recipe_path
    from hf_ext.trainers.launch import build_from_recipe

    pairs = tmp_path / "dpo_preferencepairs_train.json"
    write_tool_preference(tree_preference_dataset(trees), pairs)
    argv = ["--config", str(recipe_path("tree_preference/tiny.yaml")), "--dataset_name", str(pairs),
            "--output_dir", str(tmp_path / "out")]  # fmt: skip
    trainer = build_from_recipe("tree-dpo", argv)
    assert trainer.tree_stats is None and len(trainer.train_dataset) == len(json.loads(pairs.read_text()))


def test_accepts_tree_dicts_and_ready_pairs(tmp_path):
    from datasets import Dataset

    raws = [tool_tree(seed=s, steps=2, branch_depths=(0, 2)) for s in range(3)]
    from_dicts = make_trainer(tmp_path / "a", raws)
    assert from_dicts.tree_stats["pairs"] == 6
    rows = Dataset.from_list([{"tree_json": json.dumps(r)} for r in raws])
    rows = rows.map(lambda row: json.loads(row["tree_json"]), remove_columns=["tree_json"])  # tree dicts
    from_rows = make_trainer(tmp_path / "b", rows)
    assert from_rows.tree_stats["pairs"] == 6
    pairs = tree_preference_dataset(raws, mode="path")
    ready = make_trainer(tmp_path / "c", pairs)
    assert ready.tree_stats is None and len(ready.train_dataset) == len(pairs) == 6
    path_mode = make_trainer(tmp_path / "d", raws, pair_mode="path", max_pairs_per_tree=1)
    assert path_mode.tree_stats["pairs"] == 3


def test_refuses_trees_without_pairs_and_bad_config(tmp_path):
    with pytest.raises(HFExtError, match=r"no preference pairs in 2 inference tree\(s\) \(0 won\)"):
        make_trainer(tmp_path, [tool_tree(seed=s, win=False) for s in range(2)])
    with pytest.raises(TypeError, match="TreePreferenceConfig"):
        TreePreferenceTrainer(
            model=None, args=DPOConfig(output_dir=str(tmp_path), use_cpu=True, bf16=False), train_dataset=[]
        )
    base = {"output_dir": str(tmp_path), "use_cpu": True, "report_to": "none", "bf16": False}
    for fields, name in [
        ({"pair_mode": "tree"}, "pair_mode"),
        ({"max_pairs_per_tree": 0}, "max_pairs_per_tree"),
        ({"depth_bucket_edges": [4, 2]}, "depth_bucket_edges"),
        ({"adaptive_scaling": True, "rho": 0.9}, "rho"),
        ({"adaptive_scaling": True, "loss_type": ["ipo"]}, "loss_type"),
    ]:
        with pytest.raises(ValueError, match=name):
            TreePreferenceConfig(**base, **fields)
    TreePreferenceConfig(**base, loss_type=["ipo"], rho=0.9)  # adaptive fields are ignored when it is off
