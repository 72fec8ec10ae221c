import subprocess
import sys
import types

import pytest

from hf_ext import names
from hf_ext.errors import HFExtError


class _Kit:
    def model_path(self, name):
        return "/models/" + name.removeprefix("my-kit:")

    def dataset(self, name):
        return {"train": [name]}


def test_a_registered_prefix_resolves_through_its_provider(monkeypatch):
    monkeypatch.setattr(names, "NAME_PROVIDERS", dict(names.NAME_PROVIDERS))
    names.register_name_prefix("my-kit:", _Kit())
    assert names.resolve_model_name("my-kit:small") == "/models/small"
    assert names.provided_dataset("my-kit:prefs") == {"train": ["my-kit:prefs"]}
    assert names.is_provided_name("my-kit:x") and not names.is_provided_name("my-kit")
    assert names.resolve_model_name("org/model") == "org/model"
    with pytest.raises(ValueError, match="already registered"):
        names.register_name_prefix("my-kit:", _Kit())
    with pytest.raises(ValueError, match="must end with ':'"):
        names.register_name_prefix("my-kit", _Kit())


def test_a_provider_named_by_string_is_imported_on_first_use(monkeypatch):
    module = types.ModuleType("hfx_fake_kit")
    module.KIT = _Kit()
    monkeypatch.setitem(sys.modules, "hfx_fake_kit", module)
    monkeypatch.setattr(names, "NAME_PROVIDERS", {"kit:": "hfx_fake_kit:KIT"})
    assert names.resolve_model_name("kit:a") == "/models/kit:a"
    assert isinstance(names.NAME_PROVIDERS["kit:"], _Kit)  # imported once, then kept


def test_unknown_prefix_is_a_one_line_user_error():
    with pytest.raises(HFExtError, match="'data/x.jsonl' has no registered name prefix"):
        names.provided_dataset("data/x.jsonl")


def test_testing_names_still_resolve_and_nothing_is_imported_for_plain_names():
    code = (
        "import sys; from hf_ext.names import resolve_model_name, is_provided_name\n"
        "assert resolve_model_name('org/model') == 'org/model'\n"
        "assert is_provided_name('hf-ext-testing:prompts')\n"
        "print('hf_ext.testing' in sys.modules)"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip() == "False"
    assert len(names.provided_dataset("hf-ext-testing:prompts")["train"]) > 0
