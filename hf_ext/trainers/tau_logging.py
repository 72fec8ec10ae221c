"""Making tau visible: the recent per-pair (step, z, tau) values of a run, their plots and a CSV.

The adaptive trainers keep a :class:`TauHistory` (``trainer.tau_history``) and, with ``tau_plots=True``
(the default), :class:`TauPlotCallback` writes three files to ``output_dir`` when training ends:

- ``tau_histogram.png``: how many pairs got each tau, with the bounds marked;
- ``tau_vs_abs_z.png``: tau against |z| (the pair's logit, ``beta * h`` for DPO), coloured by step, with the
  closed-form line ``|z| / c`` on which every interior point of the linear regulariser lies;
- ``tau_values.csv``: ``step,z,tau`` rows, the data behind both pictures.

Example:
    >>> import torch
    >>> from hf_ext.trainers.tau_logging import TauHistory, write_tau_report
    >>> history = TauHistory(max_pairs=100)
    >>> history.add(step=0, z=torch.tensor([0.0, 2.0]), tau=torch.tensor([0.1, 2.1]))
    >>> files = write_tau_report(history, "/tmp/hf-ext-tau-doctest", rho=0.1, tau_min=0.1, tau_max=5.0)
    >>> sorted(path.name for path in files)
    ['tau_histogram.png', 'tau_values.csv', 'tau_vs_abs_z.png']
"""

from __future__ import annotations

import csv
import math
from collections import deque
from pathlib import Path

import torch
from matplotlib.figure import Figure
from transformers import TrainerCallback

from hf_ext.objectives.adaptive_scaling import critical_logit
from hf_ext.utils import save_figure


class TauHistory:
    """The most recent (step, z, tau) triples, at least ``max_pairs`` of them once that many were added
    (whole per-step chunks are dropped, oldest first), as CPU tensors."""

    def __init__(self, max_pairs: int):
        self.max_pairs = max_pairs
        self._chunks: deque[tuple[int, torch.Tensor, torch.Tensor]] = deque()
        self._count = 0

    def add(self, step: int, z: torch.Tensor, tau: torch.Tensor) -> None:
        if self.max_pairs == 0:
            return
        z = z.detach().float().reshape(-1)[-self.max_pairs :]
        tau = tau.detach().float().reshape(-1)[-self.max_pairs :]
        self._chunks.append((step, z, tau))
        self._count += z.numel()
        while self._count - self._chunks[0][1].numel() >= self.max_pairs:  # drop chunks no longer needed
            self._count -= self._chunks.popleft()[1].numel()

    def __len__(self) -> int:
        return self._count

    def state_dict(self) -> dict:
        """Everything needed to continue the history after a resume (see :meth:`load_state_dict`)."""
        return {"max_pairs": self.max_pairs, "chunks": [[step, z, tau] for step, z, tau in self._chunks]}

    def load_state_dict(self, state: dict) -> None:
        """Replace the history with a :meth:`state_dict` (the chunks of the run before a checkpoint)."""
        self._chunks = deque((int(step), z.float(), tau.float()) for step, z, tau in state["chunks"])
        self._count = sum(z.numel() for _, z, _ in self._chunks)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(step, z, tau) as three flat tensors, oldest first."""
        if not self._chunks:
            return torch.empty(0, dtype=torch.long), torch.empty(0), torch.empty(0)
        steps = torch.cat([torch.full((z.numel(),), step, dtype=torch.long) for step, z, _ in self._chunks])
        return steps, torch.cat([z for _, z, _ in self._chunks]), torch.cat([t for _, _, t in self._chunks])


def plot_tau_histogram(
    tau: torch.Tensor, path: str | Path | None = None, *, rho: float, tau_min: float, tau_max: float
) -> Figure:
    """How many pairs got each tau, finite bounds marked (a ``Figure``; a PNG when given ``path``)."""
    figure = Figure(figsize=(5, 3.2))
    axis = figure.add_subplot()
    axis.hist(tau.numpy(), bins=40, color="tab:blue")
    for bound in (tau_min, tau_max):
        if math.isfinite(bound):
            axis.axvline(bound, color="gray", linestyle="--", linewidth=1)
    axis.set(xlabel="tau", ylabel="pairs", title=f"per-pair tau ({len(tau)} pairs, rho={rho})")
    return save_figure(figure, path)


def plot_tau_vs_abs_z(
    steps: torch.Tensor,
    z: torch.Tensor,
    tau: torch.Tensor,
    path: str | Path | None = None,
    *,
    rho: float,
    tau_min: float,
    tau_max: float,
    regularizer: str = "linear",
) -> Figure:
    """tau against |z|, coloured by step, with the closed-form line ``clip(|z| / c)`` of the linear
    regulariser (a ``Figure``; a PNG when given ``path``)."""
    figure = Figure(figsize=(5, 3.2))
    axis = figure.add_subplot()
    points = axis.scatter(z.abs().numpy(), tau.numpy(), c=steps.numpy(), s=6, cmap="viridis")
    if regularizer == "linear" and len(z):
        grid = torch.linspace(0, float(z.abs().max()), 200)
        closed_form = (grid / critical_logit(rho)).clamp(tau_min, tau_max)
        axis.plot(grid.numpy(), closed_form.numpy(), color="tab:red", linewidth=1, label="clip(|z| / c)")
        axis.legend(loc="lower right")
    figure.colorbar(points, ax=axis, label="step")
    axis.set(xlabel="|z|", ylabel="tau", title="tau against the pair's |z|")
    return save_figure(figure, path)


def write_tau_report(
    history: TauHistory,
    output_dir: str | Path,
    *,
    rho: float,
    tau_min: float,
    tau_max: float,
    regularizer: str = "linear",
) -> list[Path]:
    """Write the tau histogram, the tau-vs-|z| scatter (PNG) and ``tau_values.csv``; return their paths."""
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    steps, z, tau = history.tensors()
    csv_path = output_dir / "tau_values.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["step", "z", "tau"])
        writer.writerows(zip(steps.tolist(), z.tolist(), tau.tolist()))
    bounds = {"rho": rho, "tau_min": tau_min, "tau_max": tau_max}
    histogram_path = output_dir / "tau_histogram.png"
    plot_tau_histogram(tau, histogram_path, **bounds)
    scatter_path = output_dir / "tau_vs_abs_z.png"
    plot_tau_vs_abs_z(steps, z, tau, scatter_path, regularizer=regularizer, **bounds)
    return [histogram_path, scatter_path, csv_path]


class TauPlotCallback(TrainerCallback):
    """Writes :func:`write_tau_report` for an adaptive trainer's run into its ``output_dir`` at train end."""

    def __init__(self, trainer):
        self.trainer = trainer

    def on_train_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero and len(self.trainer.tau_history):
            write_tau_report(
                self.trainer.tau_history,
                args.output_dir,
                rho=float(args.rho),
                tau_min=float(args.tau_min),
                tau_max=float(args.tau_max),
                regularizer=args.tau_regularizer,
            )
        return control
