"""Quality: held-out perplexity of the reference LM pruned by SlimGPT and the baselines at equal sparsity.

Methods (all through the same pipeline, so parameter counts match up to rounding): SlimGPT (log-increasing
ratios), SlimGPT with the uniform schedule (the ablation), wanda-sp and magnitude-sp (uniform, no
compensation), and the dense model. Calibration: 64 windows of 128 tokens from ``reference_texts("train")``;
perplexity: every 128-token window of ``reference_texts("heldout")`` (the reference LM's own protocol).

Run: ``python benchmarks/bench_slimgpt_quality.py`` (about 10 minutes on 2 busy CPU cores). Writes
``benchmarks/results/slimgpt_quality.json`` and ``docs/images/slimgpt_quality.png`` and prints a Markdown
table (``--plot-only`` redraws the picture from the JSON).
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import torch

from hf_ext.evaluation.perplexity import perplexity
from hf_ext.pruning.baselines import MagnitudeSPPruner, WandaSPPruner
from hf_ext.pruning.slimgpt import SlimGPTPruner
from hf_ext.testing import reference_lm, reference_texts
from hf_ext.utils import save_figure

SPARSITIES = (0.2, 0.5)
CALIBRATION = {"num_calibration_samples": 64, "calibration_seq_len": 128}
EVAL_SEQ_LEN = 128
METHODS = {
    "SlimGPT (log increase)": (SlimGPTPruner, {"schedule": "log_increase"}),
    "SlimGPT (uniform)": (SlimGPTPruner, {"schedule": "uniform"}),
    "wanda-sp": (WandaSPPruner, {}),
    "magnitude-sp": (MagnitudeSPPruner, {}),
}
RESULTS = Path(__file__).parent / "results" / "slimgpt_quality.json"
PICTURE = Path(__file__).parent.parent / "docs" / "images" / "slimgpt_quality.png"


def plot(report: dict, path: Path = PICTURE) -> None:
    """Held-out perplexity per method and sparsity (left) and SlimGPT's kept FFN width per layer (right)."""
    from matplotlib.figure import Figure

    rows = report["rows"]
    dense = next(row["perplexity"] for row in rows if row["method"] == "dense")
    figure = Figure(figsize=(9, 3.2))
    left, right = figure.subplots(1, 2)
    names = list(METHODS)
    width = 0.8 / len(SPARSITIES)
    for offset, sparsity in enumerate(SPARSITIES):
        values = [
            next(r["perplexity"] for r in rows if r["method"] == n and r["sparsity"] == sparsity)
            for n in names
        ]
        left.bar(
            [i + offset * width for i in range(len(names))], values, width, label=f"{sparsity:.0%} removed"
        )
    left.axhline(dense, color="black", linestyle="--", linewidth=1, label="dense")
    left.set_xticks(
        [i + width / 2 for i in range(len(names))], [n.replace(" (", "\n(") for n in names], fontsize=7
    )
    left.set_ylim(bottom=0.9 * dense)
    left.set_ylabel("held-out perplexity")
    left.legend(fontsize=7)
    for sparsity in SPARSITIES:
        row = next(r for r in rows if r["method"] == "SlimGPT (log increase)" and r["sparsity"] == sparsity)
        widths = [layer["intermediate_size"] for layer in row["layer_sizes"]]
        right.plot(range(len(widths)), widths, marker="o", label=f"SlimGPT {sparsity:.0%}")
    right.set_xlabel("decoder layer")
    right.set_ylabel("FFN width kept")
    right.legend(fontsize=7)
    save_figure(figure, path)


def main() -> None:
    if "--plot-only" in sys.argv:
        plot(json.loads(RESULTS.read_text()))
        return
    torch.manual_seed(0)
    train, heldout = list(reference_texts("train")), list(reference_texts("heldout"))
    dense, tokenizer = reference_lm()
    dense_parameters = sum(p.numel() for p in dense.parameters())
    rows = [
        {
            "method": "dense",
            "sparsity": 0.0,
            "achieved_sparsity": 0.0,
            "parameters": dense_parameters,
            "perplexity": perplexity(dense, tokenizer, heldout, seq_len=EVAL_SEQ_LEN),
            "prune_seconds": 0.0,
        }
    ]
    for sparsity in SPARSITIES:
        for name, (pruner_class, overrides) in METHODS.items():
            model, tokenizer = reference_lm()
            config = pruner_class.config_class(sparsity=sparsity, **CALIBRATION, **overrides)
            pruner = pruner_class(model, tokenizer, config)
            started = time.perf_counter()
            pruned = pruner.prune(calibration_dataset=train)
            seconds = time.perf_counter() - started
            rows.append(
                {
                    "method": name,
                    "sparsity": sparsity,
                    "achieved_sparsity": pruner.summary["achieved_sparsity"],
                    "parameters": pruner.summary["parameters_after"],
                    "perplexity": perplexity(pruned, tokenizer, heldout, seq_len=EVAL_SEQ_LEN),
                    "prune_seconds": seconds,
                    "layer_sizes": pruner.summary["layer_sizes"],
                }
            )
            print(f"{name} @ {sparsity:.0%}: perplexity {rows[-1]['perplexity']:.1f}", flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "slimgpt_quality",
        "model": "hf_ext.testing.reference_lm() (4 layers, width 256, 8 heads, FFN 672)",
        "calibration": CALIBRATION,
        "eval": f"reference_texts('heldout'), {EVAL_SEQ_LEN}-token windows",
        "machine": f"{platform.processor() or platform.machine()}, torch {torch.__version__}, CPU",
        "rows": rows,
    }
    RESULTS.write_text(json.dumps(report, indent=2) + "\n")
    plot(report)
    print()
    print("| method | target | removed (decoder) | parameters | held-out PPL |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['method']} | {row['sparsity']:.0%} | {row['achieved_sparsity']:.1%} | "
            f"{row['parameters'] / 1e6:.2f}M | {row['perplexity']:.1f} |"
        )


if __name__ == "__main__":
    main()
