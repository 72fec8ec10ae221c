"""A tiny setting of benchmarks/bench_streambench.py runs end to end and writes its JSON."""

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_streambench.py"


@pytest.mark.slow
def test_tiny_setting_runs_end_to_end(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_streambench", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "streambench.json"
    argv = ["--steps", "2", "--knowledge-steps", "1", "--stream-length", "3", "--seeds", "2", "--probe-size",
            "2", "--memory", "300", "--overhead-steps", "3", "--out", str(out)]  # fmt: skip
    report = module.main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    results = report["miniature"]["results"]
    assert sorted(results) == sorted(f"multihop/{a}" for a in module.AGENTS)
    assert all(len(r["mean_curve"]) == 3 and 0 <= r["accuracy_mean"] <= 1 for r in results.values())
    probes = report["miniature"]["probes"]
    assert sorted(probes) == ["A", "B", "C"] and all(0 <= v <= 1 for p in probes.values() for v in p.values())
    assert report["miniature"]["copy_training"][-1]["step"] == 2
    retrieval = report["retrieval"]
    if "faiss_first" in retrieval:
        assert retrieval["faiss_first"] == retrieval["numpy_first"]  # both exact
    assert report["agent_overhead"]["tiny_model_call_s"] > 0
