"""adaptive-dpo / adaptive-reward through the registry, the `hf-ext` CLI and the quickstart."""

import json
from pathlib import Path

from hf_ext import AdaptiveDPOConfig, AdaptiveRewardConfig
from hf_ext.cli import main
from hf_ext.registry import get_trainer

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_registry_entries():
    dpo, reward = get_trainer("adaptive-dpo"), get_trainer("adaptive-reward")
    assert dpo.config_cls is AdaptiveDPOConfig and dpo.trainer_cls.__name__ == "AdaptiveDPOTrainer"
    assert reward.config_cls is AdaptiveRewardConfig
    assert reward.option("model_kind") == "sequence-classification"


def test_cli_trains_adaptive_dpo_from_the_recipe(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)  # the recipe path as a user types it, relative to the repository
    output = tmp_path / "out"
    exit_code = main(
        ["train", "adaptive-dpo", "--config", "recipes/adaptive_dpo/tiny.yaml",
         "--max_steps", "2", "--logging_steps", "1", "--tau_max", "4.0", "--output_dir", str(output)]
    )  # fmt: skip
    assert exit_code == 0
    assert f"trained adaptive-dpo: 2 steps, world size 1; saved to {output}" in capsys.readouterr().out
    saved_args = json.loads((output / "training_args.json").read_text())
    assert saved_args["tau_max"] == 4.0 and saved_args["rho"] == 0.1
    assert (output / "model.safetensors").exists() and not (output / "training_args.bin").exists()
    assert (output / "tau_histogram.png").exists() and (output / "tau_vs_abs_z.png").exists()


def test_cli_reports_a_bad_rho_naming_the_field(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO_ROOT)
    monkeypatch.delenv("HF_EXT_DEBUG", raising=False)
    argv = ["train", "adaptive-dpo", "--config", "recipes/adaptive_dpo/tiny.yaml", "--rho", "0.8"]
    assert main([*argv, "--output_dir", str(tmp_path)]) == 2
    assert "hf-ext: error: rho must lie in (0, log 2" in capsys.readouterr().err
