import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from hf_ext.cli import main
from hf_ext.testing import resolve_model_name

REPO = Path(__file__).resolve().parents[2]
RECIPE = str(REPO / "recipes" / "dpo" / "tiny.yaml")


def test_unknown_trainer_is_a_one_line_error(capsys):
    assert main(["train", "dpx", "--config", RECIPE]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "unknown trainer 'dpx'" in error and "dpo" in error


def test_bad_recipe_field_is_a_one_line_error(tmp_path, capsys):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(Path(RECIPE).read_text() + "learning_rte: 0.1\n")
    assert main(["train", "dpo", "--config", str(recipe)]) == 2
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "bad.yaml: unknown field 'learning_rte'" in error
    assert main(["train", "dpo", "--config", RECIPE, "--max_steps", "two"]) == 2
    assert "invalid int value: 'two'" in capsys.readouterr().err


def test_train_from_yaml_with_override_changes_the_saved_model(tmp_path, capsys):
    initial = load_file(Path(resolve_model_name("hf-ext-testing:tiny-llama")) / "model.safetensors")
    frozen, trained = tmp_path / "frozen", tmp_path / "trained"
    common = ["--config", RECIPE, "--max_steps", "3"]
    assert main(["train", "dpo", *common, "--output_dir", str(frozen), "--learning_rate", "0.0"]) == 0
    assert main(["train", "dpo", *common, "--output_dir", str(trained)]) == 0
    assert "trained dpo: 3 steps, world size 1" in capsys.readouterr().out
    frozen_weights = load_file(frozen / "model.safetensors")
    trained_weights = load_file(trained / "model.safetensors")
    assert all(torch.equal(initial[name], frozen_weights[name]) for name in initial)
    assert not all(torch.equal(initial[name], trained_weights[name]) for name in initial)
    assert not (trained / "training_args.bin").exists()  # no pickle in the final folder
    assert json.loads((trained / "training_args.json").read_text())["learning_rate"] == 1e-3


def test_recipe_checkpoints_hold_no_pickle_and_resume(tmp_path, capsys):
    out = tmp_path / "out"
    common = ["--config", RECIPE, "--output_dir", str(out), "--save_strategy", "steps", "--save_steps", "2"]
    assert main(["train", "dpo", *common, "--max_steps", "2"]) == 0
    checkpoint = out / "checkpoint-2"
    saved = {path.name for path in checkpoint.iterdir()}
    assert {"optimizer.safetensors", "optimizer.json", "scheduler.json", "rng_state.safetensors"} <= saved
    assert not [name for name in saved if name.endswith((".bin", ".pt", ".pth", ".pkl"))]
    resume = ["--max_steps", "3", "--resume_from_checkpoint", str(checkpoint)]
    assert main(["train", "dpo", *common, *resume]) == 0
    assert "trained dpo: 3 steps" in capsys.readouterr().out


@pytest.mark.slow
def test_two_process_run_under_torchrun(tmp_path, run_torchrun):
    """NOTES.md: accelerate's --cpu multi-process mode starts one process here; torchrun starts two (gloo)."""
    training = ["train", "dpo", "--config", RECIPE, "--max_steps", "2", "--output_dir", tmp_path / "out"]
    result = run_torchrun("-m", "hf_ext.cli", *training)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "world size 2" in result.stdout
    assert (tmp_path / "out" / "model.safetensors").exists()
