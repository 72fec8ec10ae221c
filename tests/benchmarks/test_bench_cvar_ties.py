"""The tie-rule benchmark: kept fractions by hand."""

import pytest
import torch
from hfx_benchmark_loading import load_benchmark


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("bench_cvar_ties")


def test_kept_fractions_by_hand(bench):
    # two batches of 4: all zeros (the quantile rule keeps everything), and distinct values (both keep ceil)
    rewards = torch.tensor([0.0, 0.0, 0.0, 0.0, 4.0, 1.0, 3.0, 2.0])
    fractions = bench.kept_fractions(rewards, 4)
    assert fractions["0.2"] == {"exact_count": 0.25, "quantile": pytest.approx((1.0 + 0.25) / 2)}
    assert fractions["0.4"] == {"exact_count": 0.5, "quantile": pytest.approx((1.0 + 0.5) / 2)}
