"""SlimGPT's departures from the official code, measured: head score and the log(32) schedule.

Two differences between hf-ext's SlimGPT and the official scripts, each now an option of ``SlimGPTConfig``:

- ``head_score``: hf-ext ranks heads by their exact joint OBS error (``"joint"``), the official code by a
  per-column diagonal approximation (``"official"``). Per decoder layer of the reference LM and per number of
  heads removed (1-3 of 8), from that layer's own ``o_proj`` input Hessian in the dense model: do the two pick
  the same heads, and what output error does each choice leave (after the same joint compensation)?
- ``log_schedule_layers``: hf-ext's log schedule divides by ``log(n)`` for ``n`` layers, the official code by
  ``log(32)`` whatever the depth (``log_schedule_layers=32``). On the 4-layer reference LM they differ.

Then held-out perplexity of the reference LM pruned at 20 % and 50 % with each of the four combinations, with
the calibration and evaluation of ``bench_slimgpt_quality.py``.

    python benchmarks/bench_slimgpt_departures.py [--sparsities 0.2 0.5]

Writes ``benchmarks/results/slimgpt_departures.json`` (or ``--out``) and prints Markdown tables. The model is
the 4M-parameter reference LM trained here (no pretrained LM weights exist on this machine).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from hf_ext.evaluation.perplexity import perplexity
from hf_ext.pruning.calibration import calibration_tokens
from hf_ext.pruning.slimgpt import SlimGPTConfig, SlimGPTPruner
from hf_ext.pruning.slimgpt.search import greedy_group_pruning
from hf_ext.testing import reference_lm, reference_texts

RESULTS = Path(__file__).parent / "results" / "slimgpt_departures.json"
VARIANTS = {
    "hf-ext (joint score, log(n))": {},
    "official head score": {"head_score": "official"},
    "official log(32) schedule": {"log_schedule_layers": 32},
    "both official": {"head_score": "official", "log_schedule_layers": 32},
}


@torch.no_grad()
def o_proj_hessians(model, tokens: torch.Tensor) -> list[torch.Tensor]:
    """``H = 2 X Xᵀ / N`` of every layer's ``o_proj`` inputs in the (dense) model."""
    hessians, handles = [], []
    for layer in model.model.layers:
        store = {"sum": None, "count": 0}
        hessians.append(store)

        def hook(module, args, store=store):
            x = args[0].reshape(-1, args[0].shape[-1]).double()
            store["sum"] = x.T @ x if store["sum"] is None else store["sum"] + x.T @ x
            store["count"] += x.shape[0]

        handles.append(layer.self_attn.o_proj.register_forward_pre_hook(hook))
    model(input_ids=tokens)
    for handle in handles:
        handle.remove()
    return [2 * store["sum"] / store["count"] for store in hessians]


def output_error(original: torch.Tensor, pruned: torch.Tensor, hessian: torch.Tensor) -> float:
    """Mean squared output change ``½ tr(ΔW H ΔWᵀ)`` of replacing ``original`` by ``pruned``."""
    delta = (pruned - original).double()
    return 0.5 * torch.einsum("ri,ij,rj->", delta, hessian, delta).item()


def head_choices(model, tokens: torch.Tensor, damping: float, max_removed: int) -> list[dict]:
    rows = []
    for index, (layer, hessian) in enumerate(zip(model.model.layers, o_proj_hessians(model, tokens))):
        weight = layer.self_attn.o_proj.weight.detach().double()
        head_dim = layer.self_attn.head_dim
        groups = torch.arange(weight.shape[1]).view(-1, head_dim)
        for removed in range(1, max_removed + 1):
            row = {"layer": index, "removed": removed}
            for score in ("joint", "official"):
                pruned, heads = greedy_group_pruning(weight, hessian, groups, removed, damping, score)
                row[score] = {"heads": heads, "error": output_error(weight, pruned.double(), hessian)}
            rows.append(row)
    return rows


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sparsities", type=float, nargs="*", default=[0.2, 0.5])
    parser.add_argument("--calibration-samples", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--max-heads-removed", type=int, default=3)
    parser.add_argument("--eval-windows", type=int, default=None, help="cap on held-out windows")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    arguments = parse_arguments(argv)
    torch.manual_seed(0)
    train, heldout = list(reference_texts("train")), list(reference_texts("heldout"))
    dense, tokenizer = reference_lm()
    tokens = calibration_tokens(train, tokenizer, arguments.calibration_samples, arguments.seq_len)
    choices = head_choices(dense, tokens, SlimGPTConfig().damping, arguments.max_heads_removed)
    calibration = {
        "num_calibration_samples": arguments.calibration_samples,
        "calibration_seq_len": arguments.seq_len,
    }
    evaluation = {"seq_len": arguments.seq_len, "max_windows": arguments.eval_windows}
    runs = [
        {
            "variant": "dense",
            "sparsity": 0.0,
            "perplexity": perplexity(dense, tokenizer, heldout, **evaluation),
        }
    ]
    for sparsity in arguments.sparsities:
        for name, overrides in VARIANTS.items():
            model, tokenizer = reference_lm()
            pruner = SlimGPTPruner(
                model, tokenizer, SlimGPTConfig(sparsity=sparsity, **calibration, **overrides)
            )
            pruned = pruner.prune(calibration_dataset=train)
            runs.append(
                {
                    "variant": name, "sparsity": sparsity,
                    "achieved_sparsity": pruner.summary["achieved_sparsity"],
                    "layer_ratios": pruner.summary["layer_ratios"],
                    "perplexity": perplexity(pruned, tokenizer, heldout, **evaluation),
                }
            )  # fmt: skip
            print(f"{name} @ {sparsity:.0%}: perplexity {runs[-1]['perplexity']:.1f}", flush=True)
    report = {
        "settings": {k: str(v) for k, v in vars(arguments).items()},
        "head_choices": choices,
        "runs": runs,
    }
    arguments.out.parent.mkdir(parents=True, exist_ok=True)
    arguments.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(markdown(report))
    print(f"wrote {arguments.out}")
    return report


def markdown(report: dict) -> str:
    choices = report["head_choices"]
    differ = sum(row["joint"]["heads"] != row["official"]["heads"] for row in choices)
    lower = sum(row["joint"]["error"] <= row["official"]["error"] * (1 + 1e-9) for row in choices)
    lines = [
        f"Head choice (per layer x heads removed): the scores pick different heads in {differ} of "
        f"{len(choices)} cases; the joint score's output error is lower or equal in {lower} of "
        f"{len(choices)}.",
        "",
        "| layer | removed | heads joint / official | output error joint / official |",
        "|---|---|---|---|",
    ]
    for row in choices:
        lines.append(
            f"| {row['layer']} | {row['removed']} | {row['joint']['heads']} / {row['official']['heads']} "
            f"| {row['joint']['error']:.4g} / {row['official']['error']:.4g} |"
        )
    lines += ["", "| variant | target | removed | layer ratios | held-out PPL |", "|---|---|---|---|---|"]
    for run in report["runs"]:
        if run["variant"] == "dense":
            lines.append(f"| dense | - | - | - | {run['perplexity']:.1f} |")
            continue
        ratios = " / ".join(f"{r:.2f}" for r in run["layer_ratios"])
        lines.append(
            f"| {run['variant']} | {run['sparsity']:.0%} | {run['achieved_sparsity']:.1%} | {ratios} "
            f"| {run['perplexity']:.1f} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
