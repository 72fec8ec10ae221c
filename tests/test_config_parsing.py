import os
from dataclasses import dataclass, field

import pytest

from hf_ext.config_parsing import RecipeError, parse_recipe


@dataclass
class Training:
    learning_rate: float = 1e-3
    steps: int = 10
    use_peft: bool = False
    modules: list[str] | None = field(default=None)
    kwargs: dict | None = None
    mode: str = field(default="a", metadata={"choices": ["a", "b"]})


@dataclass
class Data:
    dataset_name: str | None = None


def write(tmp_path, text):
    path = tmp_path / "recipe.yaml"
    path.write_text(text)
    return str(path)


def test_yaml_values_are_converted_and_cli_overrides_win(tmp_path):
    recipe = write(
        tmp_path,
        "learning_rate: 1e-4\nsteps: 5\nuse_peft: true\nmodules: [q_proj, v_proj]\n"
        "kwargs: {a: 1}\ndataset_name: x\nenv: {HF_EXT_TEST_ENV: yes-please}\n",
    )
    training, data = parse_recipe([Training, Data], ["--config", recipe, "--steps", "7"])
    assert training == Training(1e-4, 7, True, ["q_proj", "v_proj"], {"a": 1}, "a")
    assert data.dataset_name == "x"
    assert os.environ["HF_EXT_TEST_ENV"] == "yes-please"


def test_unknown_yaml_field_names_file_and_nearest_field(tmp_path):
    recipe = write(tmp_path, "learning_rat: 0.1\n")
    with pytest.raises(
        RecipeError, match=r"recipe.yaml: unknown field 'learning_rat' \(did you mean learning_rate\?\)"
    ):
        parse_recipe([Training], ["--config", recipe])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("steps: many\n", r"recipe.yaml: argument --steps: invalid int value: 'many'"),
        ("mode: c\n", r"recipe.yaml: argument --mode: invalid choice: 'c'"),
        ("steps: [1, 2]\n", r"recipe.yaml: field 'steps' takes one value, got a list"),
        ("- a\n- b\n", r"a recipe must be a YAML mapping"),
        ("a: [\n", r"not valid YAML"),
    ],
)
def test_wrong_types_name_the_file_and_field(tmp_path, text, message):
    with pytest.raises(RecipeError, match=message):
        parse_recipe([Training], ["--config", write(tmp_path, text)])


def test_bad_command_line_overrides():
    with pytest.raises(RecipeError, match="unknown argument --stesp"):
        parse_recipe([Training], ["--stesp", "3"])
    with pytest.raises(RecipeError, match="invalid float value"):
        parse_recipe([Training], ["--learning_rate", "fast"])
    with pytest.raises(RecipeError, match="recipe file not found"):
        parse_recipe([Training], ["--config", "/nonexistent/recipe.yaml"])
