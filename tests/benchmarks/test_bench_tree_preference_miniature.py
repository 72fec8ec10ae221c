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


class _Vocabulary:
    """What copy_pretrain reads of a tokenizer: its length and its special ids (ids 0-3 here)."""

    all_special_ids = [0, 1, 2, 3]

    def __len__(self) -> int:
        return 260


@pytest.mark.slow
def test_copy_pretraining_teaches_a_tiny_llama_to_copy():
    """Copy pretraining lifts the greedy accuracy on the repeated spans of fresh sequences from chance
    (1/256) to well above it, and copy_batch only labels tokens that repeat an earlier span."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    bench = _load()
    ids, labels = bench.copy_batch(torch.arange(4, 68), 8, 32, torch.Generator().manual_seed(1))
    assert ((ids >= 4) & (ids < 68)).all()
    assert (labels[:, :16] == -100).all() and (labels[:, 16:] != -100).float().mean() > 0.5
    for row, label in zip(ids.tolist(), labels.tolist()):  # a labelled token and the one before it ...
        for i in range(17, 32):
            if label[i] != -100:  # ... come one after the other in the first half
                assert label[i] == row[i] and any(row[j : j + 2] == row[i - 1 : i + 1] for j in range(15))
    config = LlamaConfig(
        vocab_size=260, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=1,
        num_key_value_heads=1, max_position_embeddings=64, tie_word_embeddings=True,
    )  # fmt: skip
    torch.manual_seed(0)
    model = LlamaForCausalLM(config)
    info = bench.copy_pretrain(model, _Vocabulary(), 1500, seed=0, length=32, batch_size=32, lr=1e-3)
    assert info["copy_accuracy_before"] < 0.02
    assert info["copy_accuracy_after"] > 0.3, info  # 0.60 when written
