"""The soft-risk schedule and the CVaR tail mask against brute-force references."""

from __future__ import annotations

import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_ext.objectives import cvar_mask, soft_risk_level
from hf_ext.objectives.risk import tail_kl, tail_size, value_at_risk


def test_schedule_matches_the_papers_worked_example():
    # B 128, alpha 0.4, n 30, M 194, rho 0.95 -> ceil(rho M) = 185; at m = 100, alpha' = 94 episodes
    level = soft_risk_level(100, alpha=0.4, warmup_steps=30, total_steps=194, reach_fraction=0.95)
    assert level == pytest.approx(1 - 0.6 * 70 / 155)
    assert tail_size(level, 128) == 94


def test_schedule_pieces():
    kwargs = {"alpha": 0.2, "warmup_steps": 10, "total_steps": 100, "reach_fraction": 0.5}
    assert [soft_risk_level(s, **kwargs) for s in (0, 5, 10)] == [1.0, 1.0, 1.0]
    assert soft_risk_level(30, **kwargs) == pytest.approx(1 - 0.8 * 20 / 40)
    assert soft_risk_level(50, **kwargs) == 0.2 and soft_risk_level(99, **kwargs) == 0.2
    assert soft_risk_level(49, **kwargs) > 0.2
    assert all(soft_risk_level(s, **{**kwargs, "alpha": 1.0}) == 1.0 for s in range(100))


@given(
    step=st.integers(0, 300),
    alpha=st.floats(0.01, 1.0),
    warmup=st.integers(0, 100),
    total=st.integers(1, 300),
    reach=st.floats(0.01, 1.0),
)
@settings(max_examples=200, deadline=None)
def test_schedule_is_bounded_and_monotone(step, alpha, warmup, total, reach):
    kwargs = {"alpha": alpha, "warmup_steps": warmup, "total_steps": total, "reach_fraction": reach}
    level = soft_risk_level(step, **kwargs)
    assert alpha - 1e-12 <= level <= 1.0
    assert soft_risk_level(step + 1, **kwargs) <= level + 1e-12


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"alpha": 0.0}, "alpha"),
        ({"alpha": 1.5}, "alpha"),
        ({"alpha": float("nan")}, "alpha"),
        ({"reach_fraction": 0.0}, "reach_fraction"),
        ({"reach_fraction": 1.01}, "reach_fraction"),
        ({"total_steps": None}, "total_steps"),
        ({"total_steps": 0}, "total_steps"),
        ({"warmup_steps": -1}, "warmup_steps"),
    ],
)
def test_schedule_rejects_bad_arguments(kwargs, field):
    full = {"alpha": 0.4, "warmup_steps": 2, "total_steps": 10, "reach_fraction": 0.9, **kwargs}
    with pytest.raises(ValueError, match=field):
        soft_risk_level(3, **full)


def brute_force_mask(returns: list[float], level: float) -> list[bool]:
    keep = max(1, math.ceil(round(level * len(returns), 9)))
    ranked = sorted(range(len(returns)), key=lambda i: (returns[i], i))
    chosen = set(ranked[:keep])
    return [i in chosen for i in range(len(returns))]


@given(
    returns=st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=40),
    level=st.floats(0.001, 1.0),
)
@settings(max_examples=300, deadline=None)
def test_mask_matches_brute_force_with_ties(returns, level):
    mask = cvar_mask(torch.tensor(returns), level)
    assert mask.tolist() == brute_force_mask(returns, level)


def test_mask_edge_cases():
    assert cvar_mask(torch.tensor([5.0]), 0.1).tolist() == [True]  # B = 1
    assert cvar_mask(torch.tensor([3.0, 1.0, 2.0]), 0.1).tolist() == [False, True, False]  # level * B < 1
    assert cvar_mask(torch.tensor([1.0, 1.0, 1.0, 0.0]), 0.5).tolist() == [True, False, False, True]  # ties
    assert cvar_mask(torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0]), 0.3).sum() == 3
    assert cvar_mask(torch.tensor([2.0, 1.0]), 1.0).all()
    mask = cvar_mask(torch.tensor([4.0, -2.0, 0.5]), 0.6)
    assert value_at_risk(torch.tensor([4.0, -2.0, 0.5]), mask) == 0.5


def test_quantile_ties_keep_every_episode_at_the_threshold():
    returns = torch.tensor([1.0, 1.0, 1.0, 0.0, 2.0])
    # k = ceil(0.4 * 5) = 2; the 2nd smallest return is 1.0, shared by three episodes
    assert cvar_mask(returns, 0.4).tolist() == [True, False, False, True, False]
    assert cvar_mask(returns, 0.4, ties="quantile").tolist() == [True, True, True, True, False]
    assert value_at_risk(returns, cvar_mask(returns, 0.4, ties="quantile")) == 1.0
    distinct = torch.tensor([4.0, -2.0, 0.5, 3.0])  # no ties: both rules agree
    assert cvar_mask(distinct, 0.5, ties="quantile").tolist() == cvar_mask(distinct, 0.5).tolist()
    with pytest.raises(ValueError, match="ties"):
        cvar_mask(returns, 0.4, ties="all")


@given(
    returns=st.lists(st.integers(-3, 3).map(float), min_size=1, max_size=40),
    level=st.floats(0.001, 1.0),
)
@settings(max_examples=200, deadline=None)
def test_quantile_ties_match_brute_force(returns, level):
    keep = max(1, math.ceil(round(level * len(returns), 9)))
    threshold = sorted(returns)[keep - 1]
    assert cvar_mask(torch.tensor(returns), level, ties="quantile").tolist() == [
        r <= threshold for r in returns
    ]


def test_tail_kl_estimates_by_hand():
    # kept episodes' summed KL 9 over 3 kept of a batch of 12
    assert tail_kl(9.0, kept=3, batch_size=12) == 3.0
    assert tail_kl(9.0, kept=3, batch_size=12, estimate="official") == 0.75
    assert tail_kl(0.0, kept=0, batch_size=12) == 0.0
    with pytest.raises(ValueError, match="kl_estimate"):
        tail_kl(1.0, kept=1, batch_size=1, estimate="mean")


def test_mask_rejects_bad_input():
    with pytest.raises(ValueError, match="NaN"):
        cvar_mask(torch.tensor([1.0, float("nan")]), 0.5)
    with pytest.raises(ValueError, match="level"):
        cvar_mask(torch.tensor([1.0, 2.0]), 0.0)
    with pytest.raises(ValueError, match="shape"):
        cvar_mask(torch.zeros(2, 2), 0.5)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world_size: int, port: int, all_returns: list[list[float]], level: float, out) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world_size)
    try:
        out[rank] = cvar_mask(torch.tensor(all_returns[rank]), level).tolist()
    finally:
        dist.destroy_process_group()


def test_mask_is_computed_over_all_processes():
    # rank 0 holds the high returns, rank 1 the low ones (sizes differ): a per-process tail would keep some
    # of rank 0's episodes, the global tail keeps none of them
    all_returns = [[5.0, 6.0, 7.0, 8.0], [0.0, 1.0, 1.0]]
    with mp.Manager() as manager:
        out = manager.dict()
        mp.spawn(_worker, args=(2, _free_port(), all_returns, 3 / 7, out), nprocs=2, join=True)
        masks = [out[0], out[1]]
    assert masks == [[False] * 4, [True, True, True]]
    assert masks[0] + masks[1] == brute_force_mask(all_returns[0] + all_returns[1], 3 / 7)
