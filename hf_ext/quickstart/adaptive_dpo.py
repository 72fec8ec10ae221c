"""The ``adaptive-dpo`` step of ``hf-ext quickstart``: Ada-DPO on the tiny offline model, then tau statistics.

Example:
    >>> from hf_ext.quickstart import run_quickstart
    >>> summary = run_quickstart(only=["adaptive-dpo"])  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Train ``adaptive-dpo`` from its tiny recipe through the registry; report loss, tau and the plots."""
    from hf_ext.recipes import recipe_path
    from hf_ext.trainers.launch import train_from_recipe

    output_dir = workdir / "adaptive-dpo-tiny"
    argv = ["--config", str(recipe_path("adaptive_dpo/tiny.yaml")), "--output_dir", str(output_dir)]
    trainer = train_from_recipe("adaptive-dpo", argv)
    logs = [log for log in trainer.state.log_history if "tau/mean" in log]
    first, last = logs[0], logs[-1]
    _, z, tau = trainer.tau_history.tensors()
    interior = (tau > trainer.args.tau_min * (1 + 1e-6)) & (tau < trainer.args.tau_max * (1 - 1e-6))
    return [
        f"adaptive-dpo: {trainer.state.global_step} steps, loss {first['loss']:.3f} -> {last['loss']:.3f}, "
        f"reward margin {first['rewards/margins']:+.2f} -> {last['rewards/margins']:+.2f}",
        f"adaptive-dpo: tau mean {first['tau/mean']:.2f} -> {last['tau/mean']:.2f} "
        f"(bounds {trainer.args.tau_min}..{trainer.args.tau_max}); last logged window: "
        f"{last['tau/frac_at_min']:.0%} at tau_min, {last['tau/frac_at_max']:.0%} at tau_max",
        f"adaptive-dpo: {len(tau)} pairs seen, {int(interior.sum())} with tau strictly inside the bounds, "
        f"|z| up to {z.abs().max():.2f}; plots {output_dir / 'tau_histogram.png'} and tau_vs_abs_z.png",
    ]
