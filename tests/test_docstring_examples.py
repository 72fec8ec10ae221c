"""Every docstring example in the package runs and prints what it says (the examples are documentation)."""

import doctest
import importlib
import importlib.util
import pkgutil
from pathlib import Path

import pytest

import hf_ext

# The lm-eval task folders are loaded by lm-eval from their paths, not imported as a package: see below.
MODULES = sorted(
    module.name
    for module in pkgutil.walk_packages(hf_ext.__path__, "hf_ext.")
    if not module.name.startswith("hf_ext.tasks")
)


def test_the_walk_finds_the_package():
    assert {"hf_ext.evaluation.elo.online", "hf_ext.trainers.safe_saving", "hf_ext.registry"} <= set(MODULES)


def assert_examples_pass(module) -> None:
    failed, _ = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert failed == 0, f"{failed} failing example(s) in {module.__file__}; doctest's report is in stdout"


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # an example that writes relative paths writes here
    assert_examples_pass(importlib.import_module(name))


TASK_UTILS = sorted(Path(hf_ext.__path__[0], "tasks").glob("*/utils.py"))


@pytest.mark.parametrize("path", TASK_UTILS, ids=lambda path: path.parent.name)
def test_task_utils_examples_run(path, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = importlib.util.spec_from_file_location(f"hfx_task_utils_{path.parent.name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # as lm-eval loads it: from its path, not as part of a package
    assert_examples_pass(module)
