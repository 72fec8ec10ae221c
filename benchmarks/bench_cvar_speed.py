"""Speed of the risk mechanism: CVaR-PPO step time / PPO step time (target <= 1.02), same process.

Both runs use the same model, data and settings, and every response has exactly 12 tokens (EOS is blocked
before that), so both trainers do the same arithmetic; CVaR-PPO (alpha 0.4, past its warm-up) still computes
every episode and only masks, so the difference is the cost of ranking, masking and the extra reductions.
The two trainers alternate in several rounds and we report the ratio of median step times.

    python benchmarks/bench_cvar_speed.py [--rounds 3] [--steps 6]

Writes ``benchmarks/results/cvar_speed.json`` and prints a Markdown table. Timings on a shared CPU machine
are noisy: read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from hf_ext.rewards import sentiment_reward
from hf_ext.testing import prompt_dataset, reference_lm
from hf_ext.trainers.cvar_ppo_config import CVaRPPOConfig
from hf_ext.trainers.cvar_ppo_trainer import CVaRPPOTrainer

RESULTS = Path(__file__).parent / "results" / "cvar_speed.json"


class StepTimer(TrainerCallback):
    """Wall time of each training step (one PPO iteration: rollout, scoring, updates)."""

    def __init__(self):
        self.times: list[float] = []
        self._start = 0.0

    def on_step_begin(self, args, state, control, **kwargs):
        self._start = time.perf_counter()

    def on_step_end(self, args, state, control, **kwargs):
        self.times.append(time.perf_counter() - self._start)


def step_times(alpha: float, steps: int, workdir: str) -> list[float]:
    model, tokenizer = reference_lm()
    args = CVaRPPOConfig(
        output_dir=workdir, max_steps=steps, per_device_train_batch_size=16, num_ppo_epochs=2,
        num_mini_batches=2, max_new_tokens=12, min_new_tokens=12, alpha=alpha, risk_warmup_steps=0,
        risk_reach_fraction=0.01,
        report_to="none", use_cpu=True, disable_tqdm=True, save_strategy="no", logging_strategy="no", seed=0,
    )  # fmt: skip
    timer = StepTimer()
    trainer = CVaRPPOTrainer(
        model=model.train(), args=args, processing_class=tokenizer, reward_funcs=sentiment_reward,
        train_dataset=prompt_dataset(32), callbacks=[timer],
    )  # fmt: skip
    trainer.train()
    return timer.times[1:]  # the first step warms up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=6)
    options = parser.parse_args()
    torch.set_num_threads(1)
    times: dict[str, list[float]] = {"PPO (alpha=1)": [], "CVaR-PPO (alpha=0.4)": []}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(options.rounds):
            times["PPO (alpha=1)"] += step_times(1.0, options.steps, tmp)
            times["CVaR-PPO (alpha=0.4)"] += step_times(0.4, options.steps, tmp)
    medians = {name: statistics.median(values) for name, values in times.items()}
    ratio = medians["CVaR-PPO (alpha=0.4)"] / medians["PPO (alpha=1)"]
    result = {"median_step_seconds": medians, "ratio_cvar_over_ppo": ratio, "step_seconds": times,
              "settings": {**vars(options), "batch": 16, "new_tokens": 12, "threads": 1}}  # fmt: skip
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print("| trainer | median step (s) | steps timed |\n|---|---|---|")
    for name, values in times.items():
        print(f"| {name} | {medians[name]:.3f} | {len(values)} |")
    print(f"\nCVaR-PPO / PPO step time: {ratio:.3f} (target <= 1.02; shared machine, noisy)")


if __name__ == "__main__":
    main()
