"""The cvar-ppo / cvar-grpo recipes through the registry, the CLI and the quickstart step."""

from __future__ import annotations

import pytest

from hf_ext.errors import HFExtError
from hf_ext.recipes import recipe_path
from hf_ext.registry import get_trainer
from hf_ext.trainers.launch import build_from_recipe

pytestmark = pytest.mark.usefixtures("one_torch_thread")


TINY = ["--model_name_or_path", "hf-ext-testing:tiny-llama", "--max_steps", "1", "--disable_tqdm", "true"]


def test_registry_entries_name_the_classes():
    assert get_trainer("cvar-ppo").trainer_cls.__name__ == "CVaRPPOTrainer"
    assert get_trainer("cvar-ppo").config_cls.__name__ == "CVaRPPOConfig"
    assert get_trainer("cvar-grpo").trainer_cls.__name__ == "CVaRGRPOTrainer"
    import hf_ext

    assert hf_ext.CVaRPPOConfig is get_trainer("cvar-ppo").config_cls


@pytest.mark.parametrize("name", ["cvar-ppo", "cvar-grpo"])
def test_recipe_builds_and_trains_one_step(tmp_path, name):
    recipe = recipe_path(f"{name.replace('-', '_')}/tiny.yaml")
    trainer = build_from_recipe(name, ["--config", str(recipe), "--output_dir", str(tmp_path), *TINY])
    assert trainer.args.alpha == 0.4 and trainer.args.risk_warmup_steps == 2
    assert trainer.train().global_step == 1


def test_recipe_errors_name_the_problem(tmp_path):
    recipe = str(recipe_path("cvar_ppo/tiny.yaml"))
    with pytest.raises(ValueError, match="alpha"):
        build_from_recipe("cvar-ppo", ["--config", recipe, "--alpha", "1.5", "--output_dir", str(tmp_path)])
    with pytest.raises(HFExtError, match="has no attribute 'no_such_reward'"):
        build_from_recipe(
            "cvar-ppo",
            [
                "--config",
                recipe,
                "--reward_funcs",
                "hf_ext.rewards:no_such_reward",
                "--output_dir",
                str(tmp_path),
                *TINY,
            ],
        )


def test_cli_trains_and_saves_without_pickle(tmp_path, run_hf_ext):
    recipe = ["--config", "recipes/cvar_ppo/tiny.yaml"]
    result = run_hf_ext("train", "cvar-ppo", *recipe, "--output_dir", tmp_path / "out", *TINY)
    assert result.returncode == 0, result.stderr[-3000:]
    saved = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"model.safetensors", "value_model.safetensors", "training_args.json"} <= saved
    assert not any(name.endswith((".bin", ".pt", ".pth")) for name in saved)
