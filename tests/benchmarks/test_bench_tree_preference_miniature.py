"""The tiny setting of benchmarks/bench_tree_preference_miniature.py runs end to end."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_tree_preference_miniature.py"


@pytest.mark.slow
def test_tiny_setting_runs_end_to_end(tmp_path):
    spec = importlib.util.spec_from_file_location("bench_tree_preference_miniature", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    out = tmp_path / "result.json"
    result = bench.run(bench.Setting.tiny(), out=out, workdir=tmp_path / "work")
    assert json.loads(out.read_text())["summary"] == result["summary"]
    [run] = result["runs"]
    # one SFT example per assistant step of the expert's three success paths
    from hf_ext.data.tool_trees import tree_sft_dataset

    paths = tree_sft_dataset(tmp_path / "work" / "seed0" / "expert-trees")
    steps = sum(m["role"] == "assistant" for row in paths for m in row["messages"])
    assert run["info"]["expert_train_pass_rate"] == 1.0 and len(paths) == 3
    assert run["info"]["sft_examples"] == steps > 3
    sft, dpo = run["variants"]["sft"], run["variants"]["sft+step-dpo"]
    assert 0.0 <= sft["pass_rate"] <= 1.0 and set(sft["groups"]) == {"G1"}
    assert dpo["pairs"] > 0 and 0.0 <= dpo["pass_rate"] <= 1.0
    # every policy call leaves one step in the tree: the step outcomes add up to the calls of the one query
    from hf_ext.data.tool_trees import OBSERVATION_CODES

    for variant in (sft, dpo):
        assert set(variant["step_codes"]) <= set(OBSERVATION_CODES.values())
        assert sum(variant["step_codes"].values()) == variant["mean_steps"] >= 1
    assert "| sft+step-dpo | 1 |" in result["table"]
    assert len(list((tmp_path / "work" / "seed0" / "test-sft").glob("*.json"))) == 1
