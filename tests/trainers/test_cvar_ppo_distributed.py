"""CVaR-PPO under two gloo processes (torchrun): one tail over both ranks, and DDP keeps them equal."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest


@pytest.mark.slow
def test_two_processes_share_one_tail_and_one_model(tmp_path, run_torchrun):
    worker = Path(__file__).with_name("cvar_ppo_distributed_worker.py")
    result = run_torchrun(worker, tmp_path, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    # step 0 keeps everything; step 1 (past the reach step) keeps ceil(0.5 * 6) = 3 of the 6 global episodes,
    # split between the ranks in whatever way the returns fall
    assert [sum(r["kept_counts"][0] for r in ranks), sum(r["kept_counts"][1] for r in ranks)] == [6, 3]
    assert ranks[0]["kept_fraction"] == pytest.approx([1.0, 0.5])
    assert math.isclose(ranks[0]["checksum"], ranks[1]["checksum"], rel_tol=1e-9)
