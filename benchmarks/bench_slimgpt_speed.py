"""Speed: SlimGPT's batched greedy head search vs a straightforward one, on the same layer sizes.

Both remove the same heads from an ``o_proj`` layer with OBS compensation, one head per greedy step:

- *batched* (hf-ext): every head's joint OBS error from one batched Cholesky factorisation of the heads'
  diagonal blocks of ``H⁻¹`` (grouped Cholesky decomposition), then one joint compensation;
- *straightforward*: every candidate head's error recomputed from scratch by removing its columns one at a
  time with single-column OBS updates of ``W`` and ``H⁻¹`` (``obs.sequential_obs_removal``).

Each measurement runs in a fresh child process, which reports its wall time and its peak-memory increase
(``ru_maxrss``, or ``torch.cuda.max_memory_allocated`` on a GPU). The script checks that both pick the same
heads. Timings on a shared machine are noisy: compare the ratio, not the seconds.

With ``--gpu-1b`` on a CUDA machine it also prunes a randomly initialised 1B-class Llama (Llama-3.2-1B
shapes: 16 layers, width 2048, 32 heads over 8 KV heads, FFN 8192) at 20 % with 128 x 2048 calibration tokens,
the model kept on the CPU and each layer processed on the GPU, and reports seconds per layer and peak GPU
memory.

Run: ``python benchmarks/bench_slimgpt_speed.py [--gpu-1b]``; writes
``benchmarks/results/slimgpt_speed.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from hf_ext.pruning.slimgpt.obs import (
    damped_hessian,
    inverse_hessian,
    isolate_columns,
    sequential_obs_removal,
)
from hf_ext.pruning.slimgpt.search import greedy_group_pruning

RESULTS = Path(__file__).parent / "results" / "slimgpt_speed.json"
LAYER_SIZES = [  # (hidden size, heads, heads removed): both searches
    (512, 8, 2),
    (1024, 16, 4),
]
BATCHED_ONLY_SIZES = [  # the straightforward search would take hours here on a CPU
    (2048, 32, 8),
    (4096, 32, 8),
]
TOKENS = 4096


def straightforward_greedy(weight, hessian, groups, num_remove, damping):
    """Greedy head pruning with every head's error recomputed column by column from scratch."""
    weight = weight.to(torch.float32).clone()
    hessian = damped_hessian(hessian, damping)
    removed: list[int] = []
    for _ in range(num_remove):
        hessian_inverse = inverse_hessian(hessian)
        errors = [
            float("inf") if group in removed else sequential_obs_removal(weight, hessian_inverse, columns)[1]
            for group, columns in enumerate(groups)
        ]
        best = min(range(len(errors)), key=errors.__getitem__)
        weight, _ = sequential_obs_removal(weight, hessian_inverse, groups[best])
        isolate_columns(hessian, groups[best])
        removed.append(best)
    return weight, sorted(removed)


def layer_problem(hidden: int, heads: int, device: str):
    generator = torch.Generator().manual_seed(hidden)
    mixing = torch.randn(hidden, hidden, generator=generator) / hidden**0.5
    inputs = torch.randn(TOKENS, hidden, generator=generator) @ mixing
    hessian = (2 * inputs.T @ inputs / TOKENS).to(device)
    weight = (torch.randn(hidden, hidden, generator=generator) / hidden**0.5).to(device)
    groups = torch.arange(hidden, device=device).view(heads, -1)
    return weight, hessian, groups


def child(method: str, hidden: int, heads: int, remove: int, device: str) -> None:
    """Run one measurement and print it as JSON (called in a fresh process)."""
    search = greedy_group_pruning if method == "batched" else straightforward_greedy
    search(*layer_problem(64, 4, device), 1, 0.01)  # warm-up: first linear-algebra calls initialise libraries
    weight, hessian, groups = layer_problem(hidden, heads, device)
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    _, removed = search(weight, hessian, groups, remove, 0.01)
    if device == "cuda":
        torch.cuda.synchronize()
    seconds = time.perf_counter() - started
    if device == "cuda":
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    print(json.dumps({"seconds": seconds, "peak_increase_mb": peak_mb, "removed": removed}))


def measure(method: str, hidden: int, heads: int, remove: int, device: str) -> dict:
    command = [sys.executable, __file__, "--child", method, str(hidden), str(heads), str(remove), device]
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])


def gpu_1b() -> dict:
    """Prune a random 1B-class Llama on the GPU, layer by layer, with the model kept on the CPU."""
    from transformers import AutoModelForCausalLM, LlamaConfig

    from hf_ext.pruning.slimgpt import SlimGPTConfig, SlimGPTPruner

    config = LlamaConfig(
        vocab_size=32000, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
        num_attention_heads=32, num_key_value_heads=8, head_dim=64, max_position_embeddings=4096,
        tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16).eval()
    tokens = torch.randint(0, 32000, (128, 2048))
    settings = SlimGPTConfig(
        sparsity=0.2,
        num_calibration_samples=128,
        calibration_seq_len=2048,
        calibration_batch_size=8,
        device="cuda",
    )
    pruner = SlimGPTPruner(model, None, settings)
    torch.cuda.reset_peak_memory_stats()
    pruner.prune(calibration_dataset=tokens)
    per_layer = pruner.summary["seconds_per_layer"]
    return {
        "model": "random Llama, Llama-3.2-1B shapes, bfloat16, model on CPU, layers processed on CUDA",
        "parameters_before": pruner.summary["parameters_before"],
        "parameters_after": pruner.summary["parameters_after"],
        "seconds_total": pruner.summary["seconds"],
        "seconds_per_layer_mean": sum(per_layer) / len(per_layer),
        "peak_gpu_memory_gb": torch.cuda.max_memory_allocated() / 2**30,
        "gpu": torch.cuda.get_device_name(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu-1b", action="store_true", help="also prune a 1B-class Llama on CUDA")
    args = parser.parse_args()
    device = "cuda" if torch.cuda.is_available() else "cpu"
    rows = []
    for hidden, heads, remove in LAYER_SIZES:
        batched = measure("batched", hidden, heads, remove, device)
        straightforward = measure("straightforward", hidden, heads, remove, device)
        if batched["removed"] != straightforward["removed"]:
            raise RuntimeError(f"the searches disagree: {batched['removed']} vs {straightforward['removed']}")
        rows.append(
            {
                "hidden": hidden,
                "heads": heads,
                "heads_removed": remove,
                "batched_seconds": batched["seconds"],
                "straightforward_seconds": straightforward["seconds"],
                "speedup": straightforward["seconds"] / batched["seconds"],
                "batched_peak_increase_mb": batched["peak_increase_mb"],
                "straightforward_peak_increase_mb": straightforward["peak_increase_mb"],
            }
        )
        print(f"hidden {hidden}: speed-up {rows[-1]['speedup']:.1f}x", flush=True)
    for hidden, heads, remove in BATCHED_ONLY_SIZES:
        batched = measure("batched", hidden, heads, remove, device)
        rows.append(
            {
                "hidden": hidden,
                "heads": heads,
                "heads_removed": remove,
                "batched_seconds": batched["seconds"],
                "batched_peak_increase_mb": batched["peak_increase_mb"],
            }
        )
        print(f"hidden {hidden}: batched {batched['seconds']:.2f} s", flush=True)
    report = {
        "benchmark": "slimgpt_speed",
        "device": device,
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}",
        "note": "shared machine, timings noisy; compare ratios",
        "rows": rows,
    }
    if args.gpu_1b:
        if device != "cuda":
            raise SystemExit("--gpu-1b needs a CUDA device")
        report["gpu_1b"] = gpu_1b()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print("| o_proj size | heads (removed) | batched s | plain s | speed-up | peak MB batched / plain |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        plain = f"{row['straightforward_seconds']:.2f}" if "speedup" in row else "not run"
        speedup = f"{row['speedup']:.0f}x" if "speedup" in row else "–"
        plain_mb = f"{row['straightforward_peak_increase_mb']:.0f}" if "speedup" in row else "–"
        print(
            f"| {row['hidden']}x{row['hidden']} | {row['heads']} ({row['heads_removed']}) | "
            f"{row['batched_seconds']:.3f} | {plain} | {speedup} | "
            f"{row['batched_peak_increase_mb']:.0f} / {plain_mb} |"
        )
    if "gpu_1b" in report:
        print(json.dumps(report["gpu_1b"], indent=2))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6])
    else:
        main()
