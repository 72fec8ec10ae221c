"""Run by ``torchrun --nproc_per_node 2`` from test_cvar_ppo_distributed.py: two CVaR-PPO steps, then write
what this rank saw to ``<out>/rank<r>.json``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from hf_ext.testing import prompt_dataset, tiny_causal_lm
from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
from hf_ext.trainers.cvar_ppo_trainer import CVaRPPOTrainer


def word_count_reward(prompts, completions, **columns):
    return [float(len(c.split())) for c in completions]


def main(out: Path) -> None:
    model, tokenizer = tiny_causal_lm("llama", seed=0)
    args = CVaRPPOConfig(
        output_dir=str(out / "run"), max_steps=2, per_device_train_batch_size=3, max_new_tokens=5,
        num_ppo_epochs=1, alpha=0.5, risk_reach_fraction=0.5, learning_rate=1e-3, report_to="none",
        use_cpu=True, disable_tqdm=True, save_strategy="no", logging_steps=1, seed=0,
    )  # fmt: skip
    trainer = CVaRPPOTrainer(
        model=model, args=args, processing_class=tokenizer, reward_funcs=word_count_reward,
        train_dataset=prompt_dataset(12),
    )  # fmt: skip
    kept_counts = []
    original_select = trainer.select_tail

    def recording_select(rollout):
        original_select(rollout)
        kept_counts.append(int(rollout.keep.sum()))

    trainer.select_tail = recording_select
    trainer.train()
    checksum = float(sum(p.detach().double().sum() for p in trainer.model.parameters()))
    logs = [log for log in trainer.state.log_history if "risk/kept_fraction" in log]
    record = {
        "world_size": torch.distributed.get_world_size(),
        "kept_counts": kept_counts,
        "kept_fraction": [log["risk/kept_fraction"] for log in logs],
        "level": [log["risk/level"] for log in logs],
        "checksum": checksum,
    }
    (out / f"rank{trainer.args.process_index}.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
