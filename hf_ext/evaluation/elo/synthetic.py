"""Synthetic battle logs from known strengths, for tests, benchmarks and the quickstart.

Each battle picks two different models uniformly at random. With probability ``tie_rate`` it is a tie
(half of those ``"tie (bothbad)"``); otherwise ``model_a`` wins with the Elo probability
``1 / (1 + 10 ** ((R_b - R_a) / 400))`` of the true ratings.

Example:
    >>> from hf_ext.evaluation.elo.synthetic import synthetic_battles
    >>> frame = synthetic_battles({"strong": 1300.0, "weak": 1000.0}, n_battles=2000, seed=0)
    >>> wins = (frame["winner"] == "model_a") & (frame["model_a"] == "strong")
    >>> wins |= (frame["winner"] == "model_b") & (frame["model_b"] == "strong")
    >>> bool(0.8 < wins.mean() / (1 - frame["winner"].str.startswith("tie").mean()) < 0.9)  # expect 0.849
    True
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd


def true_strengths(n_models: int, spread: float = 400.0, seed: int = 0) -> dict[str, float]:
    """``n_models`` ratings drawn from a normal around 1000 with standard deviation ``spread / 2``."""
    rng = np.random.default_rng(seed)
    values = 1000.0 + rng.normal(0.0, spread / 2.0, size=n_models)
    width = len(str(n_models - 1))
    return {f"model-{i:0{width}d}": float(value) for i, value in enumerate(values)}


def synthetic_battles(
    strengths: Mapping[str, float], n_battles: int, seed: int = 0, tie_rate: float = 0.1, scale: float = 400.0
) -> pd.DataFrame:
    """A battle log of ``n_battles`` rows between the models of ``strengths`` (name -> true rating)."""
    if len(strengths) < 2:
        raise ValueError(f"strengths must name at least 2 models, got {len(strengths)}")
    if n_battles < 1:
        raise ValueError(f"n_battles must be >= 1, got {n_battles}")
    if not 0 <= tie_rate < 1:
        raise ValueError(f"tie_rate must be in [0, 1), got {tie_rate}")
    names = np.asarray(list(strengths), dtype=object)
    ratings = np.asarray(list(strengths.values()), dtype=np.float64)
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(names), size=n_battles)
    b = (a + rng.integers(1, len(names), size=n_battles)) % len(names)  # never equal to a
    p_a = 1.0 / (1.0 + 10.0 ** ((ratings[b] - ratings[a]) / scale))
    draw = rng.random(n_battles)
    tie = rng.random(n_battles) < tie_rate
    winner = np.where(draw < p_a, "model_a", "model_b").astype(object)
    winner[tie] = np.where(rng.random(int(tie.sum())) < 0.5, "tie", "tie (bothbad)")
    return pd.DataFrame({"model_a": names[a], "model_b": names[b], "winner": winner})
