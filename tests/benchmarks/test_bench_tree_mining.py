"""A tiny setting of benchmarks/bench_tree_mining.py runs end to end: both methods mine the same pairs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_tree_mining.py"


def test_tiny_tree_mining_benchmark(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_tree_mining", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = tmp_path / "tree_mining.json"
    argv = ["--sizes", "6", "--observation-chars", "200", "--workdir", str(tmp_path)]
    argv += ["--results", str(results), "--in-process"]
    bench.main(argv)
    written = json.loads(results.read_text())
    stream, baseline = written["rows"]
    assert (stream["method"], baseline["method"]) == ("stream", "baseline")
    assert stream["files"] == baseline["files"] == 6 and stream["pairs"] == baseline["pairs"] > 0
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("hf-ext-tree-corpus-")]  # corpus deleted
