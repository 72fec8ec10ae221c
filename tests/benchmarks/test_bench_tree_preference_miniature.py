"""The tiny setting of benchmarks/bench_tree_preference_miniature.py runs end to end."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_tree_preference_miniature.py"


def _load():
    spec = importlib.util.spec_from_file_location("bench_tree_preference_miniature", SCRIPT)
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up there
    spec.loader.exec_module(bench)
    return bench


@pytest.mark.slow
def test_tiny_setting_runs_end_to_end(tmp_path):
    bench = _load()
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


def test_world_tokenizer_and_compact_prompt(tmp_path):
    """The world tokenizer gives a value the same token in the query and in the call's JSON, and the
    compact system prompt lists each function as ``name(required arguments)``."""
    bench = _load()
    from hf_ext.agents.dfsdt import run_dfsdt
    from hf_ext.agents.scripted import ScriptedWorldPolicy
    from hf_ext.agents.tools import OfflineToolWorld
    from hf_ext.data.tool_trees import tree_sft_dataset

    world = OfflineToolWorld()
    queries = world.generate_queries(12, "G1", seed=0, split="train", distractors=0)
    run_dfsdt(ScriptedWorldPolicy(queries), world, queries, out_dir=tmp_path / "trees", progress=False)
    tokenizer = bench.world_tokenizer(tmp_path / "trees", 2048, 1024)
    query = next(q for q in queries if "city" in q["solution"][0]["arguments"])
    city = query["solution"][0]["arguments"]["city"]
    value = tokenizer(city, add_special_tokens=False)["input_ids"]
    for text in (query["query"], json.dumps(query["solution"][0]["arguments"])):  # same tokens in both
        ids = tokenizer(text)["input_ids"]
        assert any(ids[i : i + len(value)] == value for i in range(len(ids))), (city, text)
    name = query["solution"][0]["name"]  # a function name of the training text is one token
    assert tokenizer.convert_ids_to_tokens(tokenizer(name)["input_ids"])[1:] == [name]
    messages = tree_sft_dataset(tmp_path / "trees")[0]["messages"]
    tokenizer.chat_template = bench.COMPACT_TEMPLATE
    compact = tokenizer.apply_chat_template(messages, tokenize=False)
    tokenizer.chat_template = bench.MARKED_TEMPLATE
    full = tokenizer.apply_chat_template(messages, tokenize=False)
    system, rest = compact.split("</s>\n", 1)
    assert rest == full.split("</s>\n", 1)[1] and len(compact) < len(full) / 2
    assert system.endswith(" Finish(return_type)") and system.count("(") >= 2
    with pytest.raises(ValueError, match="system_prompt"):
        bench.Setting(system_prompt="tiny")
