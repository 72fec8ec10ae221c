"""The CVaR-PPO step of ``hf-ext quickstart``: a few risk-averse PPO iterations through the registry.

Example:
    >>> from pathlib import Path
    >>> from hf_ext.quickstart.cvar_ppo import step
    >>> lines = step(Path("/tmp/hf-ext-quickstart"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path


def step(workdir: Path) -> list[str]:
    """Four CVaR-PPO iterations of the offline reference LM on VADER sentiment; reward and kept share."""
    from hf_ext.recipes import recipe_path
    from hf_ext.trainers.launch import train_from_recipe

    output_dir = workdir / "cvar-ppo-tiny"
    trainer = train_from_recipe(
        "cvar-ppo",
        [
            "--config", str(recipe_path("cvar_ppo/tiny.yaml")),
            "--output_dir", str(output_dir),
            "--max_steps", "4",
            "--logging_steps", "1",
            "--disable_tqdm", "true",
        ],
    )  # fmt: skip
    logs = [log for log in trainer.state.log_history if "reward/mean" in log]
    per_step = ", ".join(f"{log['reward/mean']:+.3f} (kept {log['risk/kept_fraction']:.0%})" for log in logs)
    return [
        f"cvar-ppo: {trainer.state.global_step} PPO iterations, alpha {trainer.args.alpha}; "
        f"sentiment reward per step: {per_step}",
        f"cvar-ppo: final beta {trainer.kl_controller.beta:.4f}; policy + value head saved to {output_dir}",
    ]
