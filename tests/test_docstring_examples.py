"""Every docstring example in the package runs and prints what it says (the examples are documentation)."""

import doctest
import importlib
import pkgutil

import pytest

import hf_ext

# The lm-eval task folders are loaded by lm-eval from their paths, not imported as a package.
MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(hf_ext.__path__, "hf_ext.")
    if not module.name.startswith("hf_ext.tasks")
)


def test_the_walk_finds_the_package():
    assert {"hf_ext.evaluation.elo.online", "hf_ext.trainers.safe_saving", "hf_ext.registry"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes relative paths writes here
    module = importlib.import_module(name)
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} failing example(s) in {name}; doctest's report is in the captured stdout"
