"""The ``slimgpt`` step of ``hf-ext quickstart``: prune the reference LM by 20 %, save, reload, compare.

Example:
    >>> from pathlib import Path
    >>> from hf_ext.quickstart.slimgpt import step
    >>> lines = step(Path("/tmp/hf-ext-quickstart"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Prune :func:`~hf_ext.testing.reference_lm` with SlimGPT, reload it with ``from_pretrained``."""
    import torch
    from transformers import AutoModelForCausalLM

    from hf_ext.pruning.slimgpt import SlimGPTConfig, SlimGPTPruner
    from hf_ext.testing import reference_texts

    save_dir = workdir / "slimgpt-reference-lm"
    config = SlimGPTConfig(sparsity=0.2, num_calibration_samples=16, calibration_seq_len=128)
    pruner = SlimGPTPruner.from_pretrained("hf-ext-testing:reference-lm", config=config)
    heldout = list(reference_texts("heldout"))[:100]  # about 5k tokens keep the step short
    pruned = pruner.prune(
        calibration_dataset=list(reference_texts("train")), save_dir=save_dir, eval_texts=heldout
    )
    reloaded = AutoModelForCausalLM.from_pretrained(save_dir)
    probe = torch.randint(3, reloaded.config.vocab_size, (2, 32))
    with torch.no_grad():
        reload_difference = (reloaded(probe).logits - pruned(probe).logits).abs().max().item()
    summary = pruner.summary
    heads = [layer["num_attention_heads"] for layer in summary["layer_sizes"]]
    widths = [layer["intermediate_size"] for layer in summary["layer_sizes"]]
    parameters = f"{summary['parameters_before']:,} -> {summary['parameters_after']:,} parameters"
    return [
        f"slimgpt: reference LM pruned by {summary['achieved_sparsity']:.1%} of decoder parameters",
        f"slimgpt: {parameters}",
        f"slimgpt: per-layer heads {heads}, FFN widths {widths} (log-increasing ratios)",
        f"slimgpt: held-out perplexity {summary['perplexity']['before']:.1f} dense -> "
        f"{summary['perplexity']['after']:.1f} pruned",
        f"slimgpt: reloaded from {save_dir} with AutoModelForCausalLM, "
        f"max logit difference {reload_difference:.1e}",
    ]
