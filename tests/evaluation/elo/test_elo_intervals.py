"""Interval-respecting ranks."""

import numpy as np

from hf_ext.evaluation.elo.intervals import ranks_from_intervals, summarize_samples


def test_overlapping_intervals_share_a_rank():
    low, high = np.array([100.0, 95.0, 50.0, 49.0, 0.0]), np.array([120.0, 110.0, 60.0, 97.0, 10.0])
    # b overlaps a; c is below a and b; d overlaps b and c; e is below all.
    assert ranks_from_intervals(low, high).tolist() == [1, 1, 3, 2, 5]
    rng = np.random.default_rng(0)
    samples = np.column_stack([rng.normal(10, 1, 500), rng.normal(10.5, 1, 500), rng.normal(0, 1, 500)])
    table = summarize_samples(["x", "y", "z"], samples, point=samples.mean(axis=0))
    assert table.loc["x", "rank"] == table.loc["y", "rank"] == 1 and table.loc["z", "rank"] == 3
