import subprocess
import sys

import pytest

from hf_ext.registry import Registry, UnknownNameError, get_pruner, get_trainer, list_trainers


def test_builtin_trl_trainers_resolve_lazily():
    assert {"dpo", "reward", "grpo"} <= set(list_trainers())
    entry = get_trainer("reward")
    assert entry.trainer_cls.__name__ == "RewardTrainer" and entry.config_cls.__name__ == "RewardConfig"
    assert entry.option("model_kind") == "sequence-classification"


def test_unknown_names_list_the_choices_and_a_suggestion():
    with pytest.raises(
        UnknownNameError, match=r"unknown trainer 'dpoo' \(did you mean 'dpo'\?\); available: .*\bdpo, grpo"
    ):
        get_trainer("dpoo")
    with pytest.raises(UnknownNameError, match="unknown pruner 'nope'"):
        get_pruner("nope")


def test_third_party_registration_with_classes_and_strings():
    local = Registry("widget", provider="hf_ext.registry")
    local.register("my-widget", dict, "collections:OrderedDict", description="demo")
    entry = local.get("my-widget")
    assert entry.cls is dict and entry.config_cls.__name__ == "OrderedDict"
    with pytest.raises(ValueError, match="already registered"):
        local.register("my-widget", list, list)
    local.register("my-widget", list, list, overwrite=True)
    assert local.get("my-widget").cls is list
    with pytest.raises(ValueError, match="lower-case"):
        local.register("My Widget", list, list)


def test_import_hf_ext_loads_neither_torch_nor_lm_eval():
    code = "import sys, hf_ext; print(sorted(m for m in ('torch', 'lm_eval', 'trl') if m in sys.modules))"
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "[]"
