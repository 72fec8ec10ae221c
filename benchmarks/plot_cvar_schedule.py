"""Draw the soft-risk schedule (docs/images/cvar_schedule.png): kept fraction per iteration.

python benchmarks/plot_cvar_schedule.py
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from hf_ext.objectives import soft_risk_level
from hf_ext.utils import save_figure

OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "cvar_schedule.png"


def main() -> None:
    total = 194
    steps = list(range(total + 1))
    figure = Figure(figsize=(5.5, 3.0))
    axis = figure.add_subplot()
    for alpha, warmup, reach in [(0.4, 30, 0.95), (0.2, 30, 0.95), (0.4, 1, 0.8)]:
        schedule = {"alpha": alpha, "warmup_steps": warmup, "total_steps": total, "reach_fraction": reach}
        levels = [soft_risk_level(s, **schedule) for s in steps]
        axis.plot(steps, levels, label=f"alpha={alpha}, warm-up={warmup}, reach={reach}")
    axis.set_xlabel("PPO iteration (M = 194, the paper's IMDB run)")
    axis.set_ylabel("fraction of batch kept")
    axis.set_ylim(0, 1.05)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7)
    save_figure(figure, OUTPUT)
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
