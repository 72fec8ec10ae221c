"""A tiny setting of benchmarks/bench_elo.py's single-call section runs end to end (no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_single_call_benchmark_runs_and_baselines_agree(tmp_path):
    results = tmp_path / "elo.json"
    results.write_text(json.dumps({"cases": ["kept"]}))  # another section's results survive
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_elo.py"), "--parts", "single-calls"]
    command += ["--single-sizes", "3000x6", "--jsonl-battles", "3000", "--budget-s", "0.2"]
    command += ["--results", str(results)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(results.read_text())
    assert document["cases"] == ["kept"]
    (case,) = document["single_calls"]["cases"]
    assert case["bt_max_diff_points"] < 0.05 and case["style_max_diff_points"] < 0.05
    memory = document["single_calls"]["jsonl_memory"]
    assert memory["n_battles"] == 3000 and memory["hf_ext"]["peak_mib"] > 0
    assert "| 3,000 | 6 |" in done.stdout


def test_input_repeats_give_one_sorted_ratio_per_repeat():
    sys.path.insert(0, str(ROOT))
    from benchmarks._elo_single_calls import input_frame_ratio_repeats

    row = input_frame_ratio_repeats(3000, 6, repeats=3)
    assert (row["n_battles"], row["n_models"]) == (3000, 6)
    assert len(row["ratios"]) == 3 and row["ratios"] == sorted(row["ratios"]) and min(row["ratios"]) > 0
    assert row["median_ratio"] == row["ratios"][1]
