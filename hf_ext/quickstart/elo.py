"""The Elo step of ``hf-ext quickstart``: ratings from a generated battle log with known strengths.

Example:
    >>> from pathlib import Path
    >>> from hf_ext.quickstart.elo import step
    >>> lines = step(Path("quickstart-out"))  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from scipy.stats import spearmanr

from hf_ext.evaluation.elo.report import analyze, format_report
from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths


def step(workdir: Path) -> list[str]:
    """20 models of known strength, 50,000 battles: permutation Elo, BT and bootstrap, written to workdir."""
    strengths = true_strengths(20, spread=300.0, seed=0)
    battles = synthetic_battles(strengths, n_battles=50_000, seed=0)
    out_dir = workdir / "elo"
    battles.to_json(workdir / "elo_battles.jsonl", orient="records", lines=True)
    report = analyze(battles, n_permutations=200, n_bootstrap=200)
    report.write(out_dir, plot=True, overwrite=True)
    print(format_report(report, max_rows=20))
    truth = [strengths[name] for name in report.log.models]
    bt = report.tables["bt"].loc[list(report.log.models), "rating"]
    elo = report.tables["elo"].loc[list(report.log.models), "mean"]
    distinct_ranks = report.tables["bt"]["rank"].nunique()
    return [
        f"elo: {len(battles)} generated battles, {len(strengths)} models -> {workdir / 'elo_battles.jsonl'}",
        f"elo: Spearman with the true strengths: Bradley-Terry {spearmanr(truth, bt)[0]:.3f}, "
        f"permutation Elo (200 orders) {spearmanr(truth, elo)[0]:.3f}; {distinct_ranks} distinct BT ranks "
        "after bootstrap intervals",
        f"elo: tables and plots in {out_dir} (ratings_bt.png, win_rates.png, rating_spread.png)",
    ]
