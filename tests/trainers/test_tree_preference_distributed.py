"""TreePreferenceTrainer under two gloo processes (torchrun): both ranks mine the same pairs, split the
batches, log metrics gathered over both, and DDP keeps the two models equal."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from hf_ext.data.tool_trees import tree_preference_dataset
from hf_ext.testing.tool_trees import write_tool_trees

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_train_one_model_from_trees(tmp_path):
    trees = tmp_path / "trees"
    write_tool_trees(trees, count=12, seed=0)
    env = {**os.environ, "PYTHONPATH": str(REPO), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
               "--master_port", str(free_port())]  # fmt: skip
    worker = str(Path(__file__).with_name("tree_preference_distributed_worker.py"))
    result = subprocess.run(
        [*command, worker, str(trees), str(tmp_path)], cwd=REPO, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2] and all(r["distributed"] for r in ranks)
    assert ranks[0]["pairs"] == ranks[1]["pairs"] == len(tree_preference_dataset(trees))
    assert math.isclose(ranks[0]["checksum"], ranks[1]["checksum"], rel_tol=1e-9)
    # metrics are gathered over both ranks' pairs, so both ranks log the same values
    assert ranks[0]["depth_means"] == pytest.approx(ranks[1]["depth_means"])
    assert ranks[0]["tau_means"] == pytest.approx(ranks[1]["tau_means"])
