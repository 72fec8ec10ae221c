"""The import direction of the whole package, read from the source with ``ast`` (deferred imports included).

Layers, lowest first; a module may import its own part and any part of a lower layer, never a part of its
own layer or above. docs/usage.md ("Layers") states the same rules in prose.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "hf_ext"

LAYERS: list[set[str]] = [
    {"utils", "errors"},  # helpers with no hf-ext imports
    {"names"},  # prefixed names (hf-ext-testing:...) resolved by pluggable providers
    # plumbing every part may use: output folders, input checks, task files, registries, recipe parsing, data
    {"outputs", "inputs", "task_files", "registry", "config_parsing", "rewards", "data"},
    # the math and the benchmarks' Python: know nothing of trainers, pruners or the CLI
    {"objectives", "evaluation"},
    # the methods
    {"multimodal"},  # model classes and document data that trainers (hvfa-sft) build on
    {"trainers", "pruning", "agents", "formal"},
    # lm-eval task folders (use evaluation/), the offline kit (a leaf only tests and the tour import), recipes
    {"tasks", "testing", "recipes"},
    {"quickstart"},  # the offline tour, one module per part
    {"commands"},  # one module per sub-command
    {"cli", "__init__"},  # the `hf-ext` entry point and the lazy public API
]
# evaluation.perplexity / evaluation.logprobs are measuring tools, not benchmarks: these parts may use them.
MEASURING_MODULES = {"hf_ext.evaluation.perplexity", "hf_ext.evaluation.logprobs"}
MEASURING_USERS = {"evaluation", "pruning", "trainers", "testing", "quickstart"}
NOT_PRODUCTION = {"testing", "quickstart"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def part(module: str) -> str:
    pieces = module.split(".")
    return pieces[1] if len(pieces) > 1 else "__init__"


def layer(module: str) -> int:
    for index, parts in enumerate(LAYERS):
        if part(module) in parts:
            return index
    raise AssertionError(f"{module}: part {part(module)!r} has no layer; add it to LAYERS in {__file__}")


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(module: str) -> set[str]:
    """hf_ext modules that ``module`` imports anywhere (top level, functions, TYPE_CHECKING blocks)."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:  # `from pkg import submodule` imports the submodule
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {name for name in found if name == "hf_ext" or name.startswith("hf_ext.")}


GRAPH = {module: imports_of(module) for module in MODULES}


def test_every_import_points_down_the_layers():
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if part(target) != part(module) and layer(target) >= layer(module)
    ]
    assert not wrong, "imports against the layer order:\n" + "\n".join(sorted(wrong))


def test_no_production_module_imports_the_offline_kit():
    production = [module for module in GRAPH if part(module) not in NOT_PRODUCTION]
    wrong = [module for module in production if any(part(t) == "testing" for t in GRAPH[module])]
    assert not wrong, f"production modules importing hf_ext.testing: {wrong}"
    # the only way production code reaches it is the name-prefix provider string in hf_ext.names
    mentions = []
    for module in production:
        tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
            and isinstance(node.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            is_string = isinstance(node, ast.Constant) and isinstance(node.value, str)
            if is_string and id(node) not in docstrings and node.value.startswith("hf_ext.testing"):
                mentions.append(f"{module}: {node.value!r}")
    assert mentions == ["hf_ext.names: 'hf_ext.testing.names:PROVIDER'"]


def test_measuring_modules_are_used_only_by_the_parts_allowed_to():
    wrong = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets & MEASURING_MODULES
        if part(module) not in MEASURING_USERS
    ]
    assert not wrong, "\n".join(wrong)


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_no_import_cycles_even_through_deferred_imports():
    cycle = find_cycle(GRAPH)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_checks_catch_what_they_look_for():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
    assert layer("hf_ext.trainers.launch") > layer("hf_ext.objectives.risk") > layer("hf_ext.names")
    with pytest.raises(AssertionError, match="no layer"):
        layer("hf_ext.somewhere_new.module")
    # the parser sees deferred and relative imports
    assert "hf_ext.names" in GRAPH["hf_ext.pruning.slimgpt.pruner"]
    assert "hf_ext.evaluation.elo._kernels" in GRAPH["hf_ext.evaluation.elo.online"]
