"""The tau pictures of the adaptive trainers."""


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
