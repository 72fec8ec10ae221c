"""One plotting convention everywhere: build a ``matplotlib.figure.Figure``, save through
``hf_ext.utils.save_figure``, never touch pyplot's global state or the user's backend."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GLOBAL_STATE = re.compile(
    r"matplotlib\.use\s*\(|import matplotlib\.pyplot|from matplotlib import pyplot|\bplt\."
)


def python_files():
    for folder in ("hf_ext", "benchmarks"):
        yield from sorted((ROOT / folder).rglob("*.py"))


def test_no_plotting_code_switches_the_backend_or_uses_pyplot():
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in python_files()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if GLOBAL_STATE.search(line)
    ]
    assert not found, "use matplotlib.figure.Figure and hf_ext.utils.save_figure instead:\n" + "\n".join(
        found
    )


def test_the_pattern_catches_what_it_looks_for():
    for line in ('matplotlib.use("Agg")', "import matplotlib.pyplot as plt", "figure, axis = plt.subplots()"):
        assert GLOBAL_STATE.search(line)
    assert not GLOBAL_STATE.search("from matplotlib.figure import Figure")
