"""BABILong pictures: lm-eval metrics read into tables, heatmap and depth plots as Figures."""

import pytest


def test_accuracy_tables_read_per_length_and_depth_metrics():
    from hf_ext.evaluation.babilong.plots import accuracy_tables

    by_length, by_depth = accuracy_tables(
        {"hfx_babilong_qa10": {"acc_0,none": 0.5, "acc_1048576,none": 0.25, "acc_depth_40,none": 1.0}}
    )
    assert by_length == {"qa10": {0: 0.5, 2**20: 0.25}} and by_depth == {"qa10": {40: 1.0}}


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


def test_heatmap_names_lengths_in_the_chosen_convention():
    from hf_ext.evaluation.babilong.plots import plot_heatmap

    by_length = {"qa1": {0: 1.0, 4000: 0.5, 4096: 0.25}}
    for convention, names in (("model", ["0k", "4000", "4k"]), ("official", ["0k", "4k", "4096"])):
        figure = plot_heatmap(by_length, length_convention=convention)
        assert [tick.get_text() for tick in figure.axes[0].get_xticklabels()] == names
