from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_benchmark_runs_end_to_end_in_its_tiny_setting(tmp_path):
    out = tmp_path / "lean.json"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench_lean_pipeline.py"), "--tiny", "--out", str(out)],
        check=True,
        env=env,
        capture_output=True,
        timeout=600,
    )
    results = json.loads(out.read_text())
    assert results["pipeline"]["funnel"] == {
        "collected": 20,
        "formalized": 20,
        "compiled": 20,
        "back_translated": 20,
        "passed_nli": 20,
    }
    assert [row["workers"] for row in results["pool"]["rows"]] == [1, 2]
    assert all(row["all_ok"] for row in results["pool"]["rows"])
