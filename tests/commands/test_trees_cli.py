"""``hf-ext trees stats|pairs``: counts, the files written in both formats, and the output-folder policy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from datasets import load_dataset

from hf_ext.cli import main
from hf_ext.data.tool_trees import load_tool_preference, tree_preference_dataset
from hf_ext.testing.tool_trees import write_tool_trees

FIXTURES = Path(__file__).resolve().parents[2] / ".." / "shared" / "fixtures" / "toolbench" / "answer"


def test_stats_on_the_real_samples(capsys):
    if not FIXTURES.is_dir():
        pytest.skip("../shared/fixtures/toolbench is absent")
    assert main(["trees", "stats", str(FIXTURES), "--json"]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert (stats["files"], stats["parsed"], stats["wins"], stats["pairs"]) == (15, 15, 9, 6)
    assert stats["observation_codes"]["3"] == 9 and stats["chosen_thought_only"] == 5
    assert main(["trees", "stats", str(FIXTURES)]) == 0
    text = capsys.readouterr().out
    assert "step-wise pairs              6" in text and "5 of 6 (83%" in text


def test_stats_lists_skipped_files_with_reasons(tmp_path, capsys):
    write_tool_trees(tmp_path, count=3, seed=0)
    (tmp_path / "bad.json").write_text('{"win": 1}')
    assert main(["trees", "stats", str(tmp_path)]) == 0
    text = capsys.readouterr().out
    assert "files                        4" in text and "skipped                      1" in text
    assert "bad.json: $.win: expected bool, got int" in text


def test_pairs_in_both_formats(tmp_path, capsys):
    trees = tmp_path / "trees"
    write_tool_trees(trees, count=10, seed=1)
    expected = tree_preference_dataset(trees)
    assert main(["trees", "pairs", str(trees), "--out", str(tmp_path / "trl")]) == 0
    written = load_dataset("json", data_files=str(tmp_path / "trl" / "pairs.jsonl"), split="train")
    assert written["chosen"] == expected["chosen"] and written["prompt"] == expected["prompt"]
    assert json.loads((tmp_path / "trl" / "stats.json").read_text())["pairs_written"] == len(expected)
    args = ["trees", "pairs", str(trees), "--out", str(tmp_path / "tp"), "--format", "toolpreference"]
    assert main([*args, "--mode", "path"]) == 0
    loaded = load_tool_preference(tmp_path / "tp" / "dpo_preferencepairs_train.json")
    assert len(loaded) == len(tree_preference_dataset(trees, mode="path"))
    assert "pairs" in capsys.readouterr().out


def test_pairs_refuses_existing_or_overlapping_output(tmp_path, capsys):
    trees = tmp_path / "trees"
    write_tool_trees(trees, count=2, seed=2)
    assert main(["trees", "pairs", str(trees), "--out", str(trees / "pairs")]) == 2
    assert "overlaps the input" in capsys.readouterr().err
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    assert main(["trees", "pairs", str(trees), "--out", str(tmp_path / "out")]) == 2
    assert "pass --overwrite" in capsys.readouterr().err and (tmp_path / "out" / "keep.txt").exists()
    (trees / "9_bad.json").write_text("[1]")
    assert main(["trees", "pairs", str(trees), "--out", str(tmp_path / "new")]) == 2
    assert "9_bad.json: $: expected an answer-file object" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    assert main(["trees", "pairs", str(trees), "--out", str(tmp_path / "new"), "--skip-bad-files"]) == 0
