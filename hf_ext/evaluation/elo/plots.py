"""Pictures: ratings with intervals, the pairwise win-rate heatmap, rating spread across orders versus K.

Each function returns a matplotlib ``Figure`` (no pyplot, so it works headless) and writes a PNG when
given ``path``.

Example:
    >>> from hf_ext.evaluation.elo import bootstrap, plot_ratings
    >>> from hf_ext.evaluation.elo.synthetic import synthetic_battles
    >>> table = bootstrap(synthetic_battles({"a": 1100.0, "b": 1000.0}, n_battles=500), n_rounds=50)
    >>> figure = plot_ratings(table, "ratings.png")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from hf_ext.evaluation.elo.battles import win_rates
from hf_ext.utils import save_figure


def plot_ratings(table: pd.DataFrame, path: str | Path | None = None, title: str = "Ratings") -> Figure:
    """Point ratings with their intervals, best at the top (a :func:`bootstrap` or
    :func:`permutation_elo` table)."""
    point = "rating" if "rating" in table.columns else "mean"
    ordered = table.sort_values(point)
    height = 1.0 + 0.28 * len(ordered)
    figure = Figure(figsize=(6.5, min(height, 30.0)))
    axes = figure.add_subplot()
    y = np.arange(len(ordered))
    errors = np.vstack([ordered[point] - ordered["ci_low"], ordered["ci_high"] - ordered[point]]).clip(min=0)
    axes.errorbar(ordered[point], y, xerr=errors, fmt="o", color="tab:blue", ecolor="tab:gray", capsize=3)
    labels = [f"{name} (#{rank})" for name, rank in zip(ordered.index, ordered["rank"])]
    axes.set_yticks(y, labels, fontsize=8 if len(ordered) > 30 else 10)
    axes.set_xlabel("rating (interval: ci_low to ci_high)")
    axes.set_title(title)
    axes.grid(axis="x", alpha=0.3)
    return save_figure(figure, path)


def plot_win_rates(battles: Any, path: str | Path | None = None, order: list[str] | None = None) -> Figure:
    """Heatmap of the empirical win rate of the row model against the column model (blank: never met)."""
    rates = win_rates(battles)
    if order is not None:
        rates = rates.loc[order, order]
    size = min(2.0 + 0.35 * len(rates), 30.0)
    figure = Figure(figsize=(size + 1.0, size))
    axes = figure.add_subplot()
    image = axes.imshow(rates.to_numpy(), cmap="RdBu", vmin=0.0, vmax=1.0)
    ticks = np.arange(len(rates))
    axes.set_xticks(ticks, rates.columns, rotation=90, fontsize=8)
    axes.set_yticks(ticks, rates.index, fontsize=8)
    if len(rates) <= 15:
        for (i, j), value in np.ndenumerate(rates.to_numpy()):
            if not np.isnan(value):
                axes.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
    axes.set_xlabel("opponent")
    axes.set_ylabel("model")
    figure.colorbar(image, ax=axes, label="win rate (ties = 1/2)")
    return save_figure(figure, path)


def plot_rating_spread(reliability: pd.DataFrame, path: str | Path | None = None) -> Figure:
    """Rating spread across battle orders versus K (a :func:`check_reliability` table)."""
    figure = Figure(figsize=(6.0, 4.0))
    axes = figure.add_subplot()
    ks = reliability.index.to_numpy(dtype=float)
    axes.plot(ks, reliability["mean_std"], "o-", label="mean std over models")
    axes.plot(ks, reliability["max_std"], "s--", label="max std over models")
    axes.set_xscale("log", base=2)
    axes.set_xlabel("K")
    axes.set_ylabel("rating std across orders")
    twin = axes.twinx()
    twin.plot(ks, reliability["pair_flip_rate"], "^:", color="tab:red", label="pair flip rate")
    twin.set_ylabel("fraction of model pairs flipped", color="tab:red")
    handles = axes.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    axes.legend(handles=handles, loc="upper left")
    axes.set_title("Order sensitivity of online Elo")
    return save_figure(figure, path)
