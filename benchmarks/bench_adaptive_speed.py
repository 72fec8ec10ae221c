"""Speed of adaptive preference scaling against its baselines, measured in one process (ratios).

1. Training step (loss forward + backward; the optimizer step is identical for both and left out, which makes
   the ratio conservative) of ``AdaptiveDPOTrainer`` against TRL's ``DPOTrainer`` on the same model weights,
   reference model and batches, interleaved so both see the same machine load. CPU time of the process
   (``time.process_time``) is reported beside wall-clock time: other users of a shared machine disturb it
   far less. Target: ratio <= 1.03.
2. ``solve_tau`` for 1e6 pairs: exact closed form against the paper's 5-step projected Newton (and the
   converged solver of the quadratic variant).

Writes ``benchmarks/results/adaptive_speed.json`` (``adaptive_speed_reference.json`` with
``--model reference``) and prints a Markdown table. Timings on a shared CPU are
noisy: read the ratios (medians of interleaved repeats), not the absolute times.

    python benchmarks/bench_adaptive_speed.py [--repeats 100]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F

RESULTS_DIR = Path(__file__).parent / "results"


def load_model(name: str):
    """``tiny`` (hidden 64, 2 layers: the tau solve weighs most here) or ``reference`` (the 4M-parameter
    Llama trained on prose)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hf_ext.testing import reference_lm_path, tiny_causal_lm

    if name == "tiny":
        return tiny_causal_lm()
    tokenizer = AutoTokenizer.from_pretrained(reference_lm_path())
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    return AutoModelForCausalLM.from_pretrained(reference_lm_path()), tokenizer


def build_trainers(batch_size: int, model_name: str):
    from trl import DPOConfig, DPOTrainer

    from hf_ext import AdaptiveDPOConfig, AdaptiveDPOTrainer
    from hf_ext.testing import preference_dataset

    policy, tokenizer = load_model(model_name)
    reference, _ = load_model(model_name)
    dataset = preference_dataset(64)
    common = {
        "per_device_train_batch_size": batch_size,
        "max_length": 64,
        "report_to": "none",
        "use_cpu": True,
        "bf16": False,
        "beta": 0.5,
    }
    trainers = {}
    for name, trainer_cls, config_cls, extra in [
        ("dpo", DPOTrainer, DPOConfig, {}),
        ("adaptive-dpo", AdaptiveDPOTrainer, AdaptiveDPOConfig, {"tau_plots": False}),
    ]:
        args = config_cls(output_dir=f"/tmp/hf-ext-bench-{name}", **common, **extra)
        trainers[name] = trainer_cls(
            model=copy.deepcopy(policy),
            ref_model=reference,
            args=args,
            train_dataset=dataset,
            processing_class=tokenizer,
        )
    batches = list(trainers["dpo"].get_train_dataloader())
    return trainers, batches


def time_step(trainer, batch) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) for one loss forward + backward."""
    model = trainer.model
    model.train()
    inputs = trainer._prepare_inputs(copy.deepcopy(batch))
    wall, cpu = time.perf_counter(), time.process_time()
    loss = trainer.compute_loss(model, inputs)
    loss.backward()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    model.zero_grad(set_to_none=True)
    return wall, cpu


def bench_training_step(repeats: int, batch_size: int, model_name: str) -> dict:
    trainers, batches = build_trainers(batch_size, model_name)
    for batch in batches[:2]:  # warm-up
        for trainer in trainers.values():
            time_step(trainer, batch)
    wall = {name: [] for name in trainers}
    cpu = {name: [] for name in trainers}
    for repeat in range(repeats):
        batch = batches[repeat % len(batches)]
        order = list(trainers) if repeat % 2 == 0 else list(reversed(trainers))
        for name in order:
            wall_seconds, cpu_seconds = time_step(trainers[name], batch)
            wall[name].append(wall_seconds)
            cpu[name].append(cpu_seconds)
    median = statistics.median
    adaptive = trainers["adaptive-dpo"]
    z = torch.randn(batch_size)
    metric_seconds = []
    for _ in range(200):  # the tau metrics the adaptive trainer adds to each step (gather, stats, history)
        adaptive._tau_calls = [(z, z.abs())]
        started = time.process_time()
        adaptive._log_tau_metrics()
        metric_seconds.append(time.process_time() - started)
    return {
        "tau_metrics_median_cpu_s": median(metric_seconds),
        "model": model_name,
        "batch_size": batch_size,
        "repeats": repeats,
        "dpo_median_s": median(wall["dpo"]),
        "adaptive_median_s": median(wall["adaptive-dpo"]),
        "wall_ratio_of_medians": median(wall["adaptive-dpo"]) / median(wall["dpo"]),
        "dpo_median_cpu_s": median(cpu["dpo"]),
        "adaptive_median_cpu_s": median(cpu["adaptive-dpo"]),
        "cpu_ratio_of_medians": median(cpu["adaptive-dpo"]) / median(cpu["dpo"]),
    }


def bench_loss_overhead(batch_size: int, repeats: int = 2000) -> dict:
    """The adaptive loss alone (tau solve + loss + backward) against ``-logsigmoid`` on one batch of pairs:
    the work the adaptive trainer adds to a step, measured without the model's noise around it."""
    from hf_ext.objectives import adaptive_preference_loss

    z = torch.randn(batch_size) * 2

    def plain():
        leaf = z.clone().requires_grad_()
        (-F.logsigmoid(leaf)).mean().backward()

    def adaptive():
        leaf = z.clone().requires_grad_()
        adaptive_preference_loss(leaf, 0.1, 0.1, 5.0)[0].mean().backward()

    medians = {}
    for name, function in (("plain", plain), ("adaptive", adaptive)):
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            function()
            samples.append(time.perf_counter() - started)
        medians[name] = statistics.median(samples)
    return {
        "batch_size": batch_size,
        "plain_median_s": medians["plain"],
        "adaptive_median_s": medians["adaptive"],
    }


def bench_solve_tau(pairs: int, repeats: int) -> dict:
    from hf_ext.objectives import solve_tau

    generator = torch.Generator().manual_seed(0)
    z = torch.randn(pairs, generator=generator) * 3.0
    variants = {
        "exact": {"method": "exact"},
        "newton (5 steps)": {"method": "newton", "newton_steps": 5},
        "quadratic, converged": {"method": "exact", "regularizer": "quadratic"},
    }
    results = {}
    for name, kwargs in variants.items():
        solve_tau(z, 0.1, 0.1, 5.0, **kwargs)  # warm-up
        samples = []
        for _ in range(repeats):
            started = time.perf_counter()
            solve_tau(z, 0.1, 0.1, 5.0, **kwargs)
            samples.append(time.perf_counter() - started)
        results[name] = statistics.median(samples)
    exact = results["exact"]
    return {
        "pairs": pairs,
        "median_s": results,
        "ratio_to_exact": {name: seconds / exact for name, seconds in results.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--model", choices=["tiny", "reference"], default="tiny")
    parser.add_argument(
        "--threads", type=int, default=1, help="torch threads (1 avoids spin-waits on a busy box)"
    )
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    torch.manual_seed(0)
    step = bench_training_step(arguments.repeats, arguments.batch_size, arguments.model)
    overhead = bench_loss_overhead(arguments.batch_size)
    solver = bench_solve_tau(1_000_000, repeats=5)
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, CPU",
        "note": "shared, noisy machine: compare ratios, not absolute times",
        "training_step": step,
        "loss_only": overhead,
        "solve_tau": solver,
    }
    suffix = "" if arguments.model == "tiny" else f"_{arguments.model}"
    results_path = RESULTS_DIR / f"adaptive_speed{suffix}.json"
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print("| measurement | baseline | adaptive | ratio |")
    print("|---|---|---|---|")
    print(
        f"| DPO loss forward+backward, batch {step['batch_size']} pairs, {step['model']} model, CPU time "
        f"(median of {step['repeats']}) | {step['dpo_median_cpu_s'] * 1e3:.1f} ms "
        f"| {step['adaptive_median_cpu_s'] * 1e3:.1f} ms | {step['cpu_ratio_of_medians']:.3f} |"
    )
    print(
        f"| same, wall-clock time | {step['dpo_median_s'] * 1e3:.1f} ms "
        f"| {step['adaptive_median_s'] * 1e3:.1f} ms | {step['wall_ratio_of_medians']:.3f} |"
    )
    added = overhead["adaptive_median_s"] - overhead["plain_median_s"] + step["tau_metrics_median_cpu_s"]
    print(
        f"| the per-pair loss alone (+ backward), {overhead['batch_size']} pairs "
        f"| {overhead['plain_median_s'] * 1e6:.0f} us | {overhead['adaptive_median_s'] * 1e6:.0f} us "
        f"| plus {step['tau_metrics_median_cpu_s'] * 1e6:.0f} us of tau metrics: adds {added * 1e6:.0f} us "
        f"= {added / step['dpo_median_cpu_s']:.2%} of the DPO step |"
    )
    exact = solver["median_s"]["exact"]
    for name, seconds in solver["median_s"].items():
        if name != "exact":
            print(
                f"| solve_tau, 1e6 pairs: {name} vs exact | {exact * 1e3:.1f} ms | {seconds * 1e3:.1f} ms "
                f"| {solver['ratio_to_exact'][name]:.2f} |"
            )
    print(f"\nwrote {results_path}")


if __name__ == "__main__":
    main()
