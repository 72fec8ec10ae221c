"""Incremental Pruning Ratio: how much of each decoder layer to remove; the plan that hits a target sparsity.

Layer ``i`` of ``n`` gets ratio ``r_i = r_first + (r_last − r_first) · s(i)`` where the shape ``s`` is

- ``log_increase`` (SlimGPT's default): ``s(i) = log(i + 1) / log(n)``,
- ``linear_increase``: ``s(i) = i / (n − 1)``,
- ``log_decrease`` / ``linear_decrease``: the mirror images, ``s(i) = 1 − s_increase(n − 1 − i)``,
- ``uniform``: every layer gets ``r_first``.

``log_layers`` replaces the ``n`` under the logarithm, ``log(i + 1) / log(log_layers)``: the official SlimGPT
code hard-codes ``log(32)`` (LLaMA-7B's 32 layers), so ``log_layers=32`` reproduces its plan on any depth
(identical at 32 layers; on 4 layers the last layer then gets only ``0.4`` of the way to ``r_last``).

Without explicit ``r_first``/``r_last``, the increasing schedules use ``r_last = spread · r_first`` (the
decreasing ones ``r_first = spread · r_last``; SlimGPT's 20 % example is 0.0625 → 0.25, a spread of 4), and
the scale is found by bisection so that the removed fraction of decoder parameters, counted after rounding to
whole heads (or KV groups) and channels, is as close as possible to the target.

Example:
    >>> from hf_ext.pruning.slimgpt.schedules import layer_ratios
    >>> [round(r, 4) for r in layer_ratios("log_increase", 4, 0.1, 0.4)]
    [0.1, 0.25, 0.3377, 0.4]
    >>> [round(r, 4) for r in layer_ratios("log_increase", 4, 0.1, 0.4, log_layers=32)]   # official log(32)
    [0.1, 0.16, 0.1951, 0.22]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

SCHEDULES = ("log_increase", "linear_increase", "uniform", "log_decrease", "linear_decrease")
MAX_LAYER_RATIO = 0.95


def schedule_shape(schedule: str, num_layers: int, log_layers: int | None = None) -> list[float]:
    """``s(i)`` for ``i = 0 … n−1``, from 0 (first layer) to 1 (last layer); all zeros for ``uniform``.

    ``log_layers`` (>= 2) is the ``n`` of ``log(n)`` in the log schedules (default: ``num_layers``)."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule must be one of {SCHEDULES}, got {schedule!r}")
    if log_layers is not None and log_layers < 2:
        raise ValueError(f"log_layers must be >= 2, got {log_layers!r}")
    if schedule == "uniform" or num_layers == 1:
        return [0.0] * num_layers
    n = num_layers
    if schedule.startswith("log"):
        increasing = [math.log(i + 1) / math.log(log_layers or n) for i in range(n)]
    else:
        increasing = [i / (n - 1) for i in range(n)]
    if schedule.endswith("increase"):
        return increasing
    return [1.0 - increasing[n - 1 - i] for i in range(n)]


def layer_ratios(
    schedule: str, num_layers: int, first_ratio: float, last_ratio: float, log_layers: int | None = None
) -> list[float]:
    """Per-layer pruning ratios ``r_first + (r_last − r_first) · s(i)``."""
    shape = schedule_shape(schedule, num_layers, log_layers)
    return [first_ratio + (last_ratio - first_ratio) * s for s in shape]


@dataclass(frozen=True)
class LayerShape:
    """What one decoder layer can lose: units (heads or KV groups) and FFN channels, in parameters."""

    num_units: int
    params_per_unit: int
    min_units: int
    num_channels: int
    params_per_channel: int
    total_params: int


@dataclass(frozen=True)
class LayerPlan:
    ratio: float
    units_removed: int
    channels_removed: int


def plan_layer(shape: LayerShape, ratio: float, prune_attention: bool, prune_mlp: bool) -> LayerPlan:
    """Whole units and channels that remove ``ratio`` of the layer's prunable parameters.

    Units are rounded to the nearest whole head (or KV group) and the FFN channels absorb the rounding, so the
    layer's removed fraction stays close to ``ratio`` even when a unit is a large share of the layer (GQA).
    Every layer keeps ``min_units`` units and at least one channel.
    """
    attention_params = shape.num_units * shape.params_per_unit if prune_attention else 0
    mlp_params = shape.num_channels * shape.params_per_channel if prune_mlp else 0
    budget = ratio * (attention_params + mlp_params)
    units = 0
    if prune_attention:
        units = max(0, min(round(shape.num_units * ratio), shape.num_units - shape.min_units))
    channels = 0
    if prune_mlp:
        wanted = round((budget - units * shape.params_per_unit) / shape.params_per_channel)
        channels = max(0, min(wanted, shape.num_channels - 1))
    return LayerPlan(ratio, units, channels)


def removed_fraction(shapes: list[LayerShape], plans: list[LayerPlan]) -> float:
    """Fraction of decoder-layer parameters the plans remove."""
    removed = sum(
        p.units_removed * s.params_per_unit + p.channels_removed * s.params_per_channel
        for s, p in zip(shapes, plans)
    )
    return removed / sum(s.total_params for s in shapes)


def plan_model(
    shapes: list[LayerShape],
    sparsity: float,
    schedule: str,
    *,
    first_ratio: float | None = None,
    last_ratio: float | None = None,
    spread: float = 4.0,
    prune_attention: bool = True,
    prune_mlp: bool = True,
    log_layers: int | None = None,
) -> list[LayerPlan]:
    """Per-layer plans: from explicit ratios, or scaled by bisection to remove ``sparsity`` of parameters."""
    num_layers = len(shapes)

    def plans_for(ratios: list[float]) -> list[LayerPlan]:
        return [plan_layer(s, r, prune_attention, prune_mlp) for s, r in zip(shapes, ratios)]

    if first_ratio is not None and last_ratio is not None:
        return plans_for(layer_ratios(schedule, num_layers, first_ratio, last_ratio, log_layers))

    def ratios_at(scale: float) -> list[float]:
        if schedule.endswith("increase"):
            first, last = scale, spread * scale
        elif schedule.endswith("decrease"):
            first, last = spread * scale, scale
        else:
            first = last = scale
        ratios = layer_ratios(schedule, num_layers, first, last, log_layers)
        return [min(r, MAX_LAYER_RATIO) for r in ratios]

    low, high = 0.0, 1.0
    for _ in range(50):  # smallest scale whose removed fraction reaches the target
        middle = (low + high) / 2
        if removed_fraction(shapes, plans_for(ratios_at(middle))) >= sparsity:
            high = middle
        else:
            low = middle
    below, above = plans_for(ratios_at(low)), plans_for(ratios_at(high))
    gap_below = sparsity - removed_fraction(shapes, below)
    gap_above = removed_fraction(shapes, above) - sparsity
    return below if gap_below < gap_above else above
