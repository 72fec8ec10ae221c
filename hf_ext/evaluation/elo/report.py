"""One Elo analysis of a battle log, as ``hf-ext elo`` and the quickstart run it: ratings with intervals,
reliability across orders and K, transitivity, win rates; printed as text and written as JSON/CSV/PNG.

Example:
    >>> from hf_ext.evaluation.elo.report import analyze, format_report
    >>> from hf_ext.evaluation.elo.synthetic import synthetic_battles, true_strengths
    >>> battles = synthetic_battles(true_strengths(5), n_battles=5000)
    >>> report = analyze(battles, n_permutations=50, n_bootstrap=50)
    >>> sorted(report.tables)
    ['bt', 'elo', 'elo_bootstrap', 'reliability', 'transitivity', 'win_rates']
    >>> report.write("elo-out", plot=True)  # doctest: +SKIP
"""

from __future__ import annotations

import json
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hf_ext.evaluation.elo.battles import BattleLog, encode_battles, pair_counts, win_rates
from hf_ext.evaluation.elo.bootstrap import FALLBACK_REG, bootstrap, reliable_models
from hf_ext.evaluation.elo.bradley_terry import bradley_terry, mle_exists
from hf_ext.evaluation.elo.checks import DEFAULT_KS, check_reliability, check_transitivity
from hf_ext.evaluation.elo.online import permutation_elo
from hf_ext.evaluation.elo.rule import EloRule
from hf_ext.utils import atomic_write_text

METHODS = ("bt", "elo", "both")
RATING_TABLES = ("bt", "elo", "elo_bootstrap")


@dataclass
class EloReport:
    """The tables of one analysis (``bt``, ``elo``, ``elo_bootstrap``, ``reliability``, ``transitivity``,
    ``win_rates``; rating tables only for the methods asked) and the settings that produced them."""

    log: BattleLog
    tables: dict[str, pd.DataFrame]
    settings: dict[str, Any] = field(default_factory=dict)

    def output_names(self, plot: bool) -> list[str]:
        names = [f"{name}.csv" for name in self.tables] + ["elo_report.json"]
        if plot:
            names += [f"ratings_{name}.png" for name in RATING_TABLES if name in self.tables]
            names += ["win_rates.png", "rating_spread.png"]
        return names

    def write(self, out_dir: str | Path, plot: bool = False, overwrite: bool = False) -> list[Path]:
        """Write every table as CSV, all of them in ``elo_report.json``, and the PNGs if ``plot``.
        Existing files are never replaced unless ``overwrite``."""
        from hf_ext.evaluation.elo.plots import plot_rating_spread, plot_ratings, plot_win_rates

        out = Path(out_dir)
        targets = [out / name for name in self.output_names(plot)]
        existing = [str(path) for path in targets if path.exists()]
        if existing and not overwrite:
            raise FileExistsError(f"{existing[0]} exists; choose another --out folder or pass --overwrite")
        out.mkdir(parents=True, exist_ok=True)
        for name, table in self.tables.items():
            atomic_write_text(out / f"{name}.csv", table.to_csv())
        records = {
            name: json.loads(table.reset_index().to_json(orient="records"))
            for name, table in self.tables.items()
        }
        document = {
            "settings": self.settings,
            "n_battles": len(self.log),
            "models": list(self.log.models),
            "tables": records,
        }
        atomic_write_text(out / "elo_report.json", json.dumps(document, indent=1) + "\n")
        if plot:
            titles = {"bt": "Bradley-Terry (bootstrap CI)", "elo": "Online Elo over random orders",
                      "elo_bootstrap": "Online Elo (bootstrap CI)"}  # fmt: skip
            for name in RATING_TABLES:
                if name in self.tables:
                    plot_ratings(self.tables[name], out / f"ratings_{name}.png", title=titles[name])
            best = list(self.tables[next(n for n in RATING_TABLES if n in self.tables)].index)
            plot_win_rates(self.log, out / "win_rates.png", order=best)
            plot_rating_spread(self.tables["reliability"], out / "rating_spread.png")
        return targets


def analyze(
    battles: Any,
    method: str = "both",
    n_permutations: int = 100,
    n_bootstrap: int = 1000,
    rule: EloRule | None = None,
    seed: int = 0,
    reg: float = 0.0,
    anchor: tuple[str, float] | None = None,
    ks: tuple[float, ...] = DEFAULT_KS,
    confidence: float = 0.95,
    **rule_fields: float,
) -> EloReport:
    """Run the analysis. ``method``: ``bt``, ``elo`` or ``both``; ``n_bootstrap=0`` skips bootstrap
    intervals (BT then reports point ratings ranked by value). The Elo rule comes as ``rule=`` or as its
    fields (``k=32``); the reliability check replaces its ``k`` by each of ``ks``. ``confidence`` is the level
    of the bootstrap intervals and of the transitivity check's significance test."""
    rule = EloRule.of(rule, **rule_fields)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if n_bootstrap == 1 or n_bootstrap < 0:
        raise ValueError(f"bootstrap rounds must be 0 (off) or >= 2, got {n_bootstrap}")
    log = encode_battles(battles)
    tables: dict[str, pd.DataFrame] = {}
    if method in ("bt", "both"):
        if n_bootstrap:
            tables["bt"] = bootstrap(
                log, "bt", n_bootstrap, seed, confidence, rule=rule, anchor=anchor, reg=reg
            )
        else:
            point_reg = FALLBACK_REG if reg == 0 and not mle_exists(pair_counts(log)) else reg
            ratings = bradley_terry(log, rule, anchor=anchor, reg=point_reg)
            tables["bt"] = pd.DataFrame(
                {"rating": list(ratings.values()), "rank": np.arange(1, len(ratings) + 1)},
                index=pd.Index(list(ratings), name="model"),
            )
    if method in ("elo", "both"):
        tables["elo"] = permutation_elo(log, n_permutations, seed, rule)
        if n_bootstrap:
            tables["elo_bootstrap"] = bootstrap(log, "elo", n_bootstrap, seed, confidence, rule=rule)
    tables["reliability"] = check_reliability(
        log, ks=ks, n_permutations=max(2, min(n_permutations, 100)), seed=seed, rule=rule
    )
    if "bt" in tables:
        ratings_for_check: Any = tables["bt"]["rating"].to_dict()
    else:
        ratings_for_check = tables["elo"]["mean"].to_dict()
    tables["transitivity"] = check_transitivity(log, ratings=ratings_for_check, confidence=confidence)
    tables["win_rates"] = win_rates(log)
    unreliable = reliable_models(log)
    if unreliable:
        listed = "; ".join(f"{name} ({why})" for name, why in list(unreliable.items())[:10])
        warnings.warn(f"unreliable ratings (too few battles, or no wins or losses): {listed}", stacklevel=2)
    settings = {
        "method": method, "n_permutations": n_permutations, "n_bootstrap": n_bootstrap, **asdict(rule),
        "seed": seed, "reg": reg, "anchor": list(anchor) if anchor else None, "reliability_ks": list(ks),
        "unreliable": unreliable, "confidence": confidence,
    }  # fmt: skip
    return EloReport(log, tables, settings)


def format_report(report: EloReport, max_rows: int = 40) -> str:
    """The ranked tables and the check summaries as plain text."""
    lines = [f"{len(report.log)} battles, {report.log.n_models} models"]
    unreliable = report.settings.get("unreliable") or {}
    if unreliable:
        listed = "; ".join(f"{name} ({why})" for name, why in unreliable.items())
        lines.append(f"unreliable ratings (not used to centre the others): {listed}")
    headers = {
        "bt": "Bradley-Terry",
        "elo": "online Elo over random orders",
        "elo_bootstrap": "online Elo, bootstrap",
    }
    for name in RATING_TABLES:
        if name in report.tables:
            table = report.tables[name]
            lines += ["", f"== {headers[name]}", table.head(max_rows).round(1).to_string()]
            if len(table) > max_rows:
                lines.append(f"... {len(table) - max_rows} more models")
    reliability = report.tables["reliability"]
    lines += [
        "",
        "== reliability of online Elo across battle orders (per K)",
        reliability.round(3).to_string(),
    ]
    transitivity = report.tables["transitivity"]
    counts = transitivity["issue"].value_counts().to_dict() if len(transitivity) else {}
    near = int(transitivity["near_tie"].sum()) if len(transitivity) else 0
    lines += [
        "",
        f"== transitivity: {len(transitivity)} violating triples {counts or ''} ({near} near ties)".rstrip(),
    ]
    if len(transitivity):
        shown = transitivity[
            ["a", "b", "c", "win_rate_ab", "win_rate_bc", "win_rate_ac", "issue", "near_tie"]
        ]
        lines.append(shown.head(10).round(3).to_string(index=False))
    return "\n".join(lines)
