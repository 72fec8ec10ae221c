"""One plotting convention everywhere: build a ``matplotlib.figure.Figure``, save through
``hf_ext.utils.save_figure``, never touch pyplot's global state or the user's backend."""

import re
from pathlib import Path

import pytest

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


def test_babilong_plots_return_figures_and_leave_the_backend_alone(tmp_path):
    import matplotlib

    from hf_ext.evaluation.babilong.plots import plot_depth, plot_heatmap

    backend = matplotlib.get_backend()
    heatmap = plot_heatmap({"qa1": {0: 1.0, 4096: 0.25}, "qa2": {0: 0.5}}, tmp_path / "a" / "heat.png")
    depth = plot_depth({"qa1": {0: 0.5, 40: 1.0}})
    assert isinstance(heatmap, matplotlib.figure.Figure) and isinstance(depth, matplotlib.figure.Figure)
    assert (tmp_path / "a" / "heat.png").stat().st_size > 1000
    cells = [text.get_text() for text in heatmap.axes[0].texts]
    assert cells == ["100", "25", "50"]  # the missing cell (qa2 at 4k) stays blank
    assert matplotlib.get_backend() == backend
    with pytest.raises(ValueError, match="acc_depth"):
        plot_depth({})


def test_tau_plots_are_figures_with_the_closed_form_line(tmp_path):
    import torch
    from matplotlib.figure import Figure

    from hf_ext.trainers.tau_logging import plot_tau_histogram, plot_tau_vs_abs_z

    z, tau = torch.tensor([0.1, 1.0, 3.0]), torch.tensor([0.1, 1.0, 2.0])
    histogram = plot_tau_histogram(tau, rho=0.1, tau_min=0.1, tau_max=float("inf"))
    assert isinstance(histogram, Figure)
    assert len(histogram.axes[0].lines) == 1  # only the finite bound is marked
    scatter = plot_tau_vs_abs_z(torch.zeros(3), z, tau, tmp_path / "s.png", rho=0.1, tau_min=0.1, tau_max=5.0)
    assert [line.get_label() for line in scatter.axes[0].lines] == ["clip(|z| / c)"]
    assert (tmp_path / "s.png").exists()
