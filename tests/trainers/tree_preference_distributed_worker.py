"""Run by ``torchrun --nproc_per_node 2`` from test_tree_preference_distributed.py: two TreePreferenceTrainer
steps on a folder of trees, then write what this rank saw to ``<out>/rank<r>.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from hf_ext.testing import tiny_causal_lm
from hf_ext.trainers.tree_preference_config import TreePreferenceConfig
from hf_ext.trainers.tree_preference_trainer import TreePreferenceTrainer


def main(trees: Path, out: Path) -> None:
    model, tokenizer = tiny_causal_lm("llama", seed=1)
    reference, _ = tiny_causal_lm("llama", seed=0)
    args = TreePreferenceConfig(
        output_dir=str(out / "run"), max_steps=2, per_device_train_batch_size=2, max_length=96,
        truncation_mode="keep_end", learning_rate=1e-3, report_to="none", use_cpu=True, bf16=False,
        disable_tqdm=True, save_strategy="no", logging_steps=1, seed=0, adaptive_scaling=True,
        tau_plots=False,
    )  # fmt: skip
    trainer = TreePreferenceTrainer(
        model=model, ref_model=reference, args=args, train_dataset=str(trees), processing_class=tokenizer
    )
    trainer.train()
    checksum = sum(float(p.detach().double().sum()) for p in trainer.model.parameters())
    logs = [log for log in trainer.state.log_history if "loss" in log]
    result = {
        "world_size": trainer.args.world_size,
        "rank": trainer.args.process_index,
        "distributed": torch.distributed.is_initialized(),
        "checksum": checksum,
        "pairs": trainer.tree_stats["pairs"],
        "depth_means": [log["pairs/depth_mean"] for log in logs],
        "tau_means": [log["tau/mean"] for log in logs],
    }
    (out / f"rank{trainer.args.process_index}.json").write_text(json.dumps(result))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
