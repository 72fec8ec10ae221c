"""The ``babilong`` step of ``hf-ext quickstart``: the BABILong lm-eval tasks on a tiny random model."""

from __future__ import annotations

from pathlib import Path

from hf_ext.evaluation.babilong.evaluate import evaluate_babilong
from hf_ext.evaluation.babilong.generator import length_label


def step(workdir: Path) -> list[str]:
    """One BABILong evaluation of the tiny offline model: qa1 at 0 and 1k tokens, then a heatmap."""
    from hf_ext.evaluation.babilong.plots import plot_heatmap
    from hf_ext.testing import save_tiny_causal_lm

    model_dir = save_tiny_causal_lm(workdir / "babilong-tiny-llama")
    lengths = [0, 1024]
    output = evaluate_babilong(str(model_dir), tasks=["qa1"], lengths=lengths, num_samples=4, limit=8)
    heatmap = workdir / "babilong_heatmap.png"
    plot_heatmap(output["by_length"], heatmap, title="tiny random model")
    accuracies = ", ".join(
        f"{length_label(length)} {100 * output['by_length']['qa1'][length]:.0f}%" for length in lengths
    )
    return [
        f"babilong: hfx_babilong_qa1 on a random tiny Llama (4 samples per length), accuracy {accuracies} "
        "(a random model is expected near 0)",
        f"babilong: heatmap in {heatmap}",
    ]
