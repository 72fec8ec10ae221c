"""``hf-ext prune`` parsed like ``hf-ext train`` (YAML + overrides); its output and checkpoint policy."""

from __future__ import annotations

import json

import pytest

from hf_ext.cli import main
from hf_ext.recipes import recipe_path

RECIPE = ["prune", "slimgpt", "--config", str(recipe_path("slimgpt/tiny.yaml"))]


def _saved(folder):
    return json.loads((folder / "slimgpt_config.json").read_text())


@pytest.mark.slow
def test_a_pruning_recipe_works_like_a_training_recipe(tmp_path, capsys):
    texts = tmp_path / "heldout.txt"
    texts.write_text("\n".join(["the quick brown fox jumps over the lazy dog near the river bank"] * 12))
    assert main([*RECIPE, "--save-dir", str(tmp_path / "yaml"), "--eval-dataset", str(texts)]) == 0
    saved = _saved(tmp_path / "yaml")
    assert saved["sparsity"] == 0.2 and saved["num_calibration_samples"] == 8  # from the YAML
    assert saved["perplexity"]["texts"].startswith("12 texts")  # the .txt file, a text per line
    report = capsys.readouterr().out
    assert json.loads(report[: report.rindex("}") + 1])["target_sparsity"] == 0.2
    # flags win over the YAML, with underscores or dashes, as for `hf-ext train`
    flags = ["--save_dir", str(tmp_path / "flags"), "--sparsity", "0.3", "--no-prune-attention"]
    assert main([*RECIPE, *flags]) == 0
    saved = _saved(tmp_path / "flags")
    assert saved["sparsity"] == 0.3 and saved["prune_attention"] is False
    assert all(layer["num_attention_heads"] == 4 for layer in saved["layer_sizes"])


@pytest.mark.slow
def test_overwrite_replaces_the_whole_folder_and_checkpoints_are_removed_unless_kept(tmp_path):
    out, checkpoints = tmp_path / "out", tmp_path / "ckpt"
    out.mkdir()
    (out / "notes.txt").write_text("the user's file")
    (out / "config.json").write_text("{}")
    assert main([*RECIPE, "--save-dir", str(out), "--checkpoint-dir", str(checkpoints)]) == 2
    assert (out / "notes.txt").read_text() == "the user's file"  # refused, nothing touched
    assert main([*RECIPE, "--save-dir", str(out), "--checkpoint-dir", str(checkpoints), "--overwrite"]) == 0
    assert not (out / "notes.txt").exists() and _saved(out)["method"] == "slimgpt"  # no half-old folder
    assert not checkpoints.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary sibling left
    kept = ["--checkpoint-dir", str(checkpoints), "--keep-checkpoints", "--overwrite"]
    assert main([*RECIPE, "--save-dir", str(out), *kept]) == 0
    assert (checkpoints / "progress.json").exists()


def test_allow_lower_sparsity_prunes_the_largest_reachable_and_records_both_numbers(tmp_path, caplog):
    out = tmp_path / "out"
    assert main([*RECIPE, "--save-dir", str(out), "--sparsity", "0.99", "--allow-lower-sparsity"]) == 0
    saved = _saved(out)
    assert saved["sparsity"] == 0.99 and 0.5 < saved["achieved_sparsity"] < 0.95
    card = (out / "README.md").read_text()
    assert f"{saved['achieved_sparsity']:.1%} (target 99.0%)" in card
    assert "cannot be reached" in caplog.text
