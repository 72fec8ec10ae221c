"""``SlimGPTConfig``: what to prune, how much, with which schedule and calibration data.

Example:
    >>> from hf_ext.pruning.slimgpt import SlimGPTConfig
    >>> SlimGPTConfig(sparsity=0.2).schedule
    'log_increase'
    >>> SlimGPTConfig(sparsity=1.0)
    Traceback (most recent call last):
    ...
    ValueError: SlimGPTConfig.sparsity must be in [0, 1), got 1.0
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from hf_ext.pruning.slimgpt.schedules import SCHEDULES

HEAD_SCORES = ("joint", "official")

CONFIG_FILE = "slimgpt_config.json"


@dataclass
class SlimGPTConfig:
    """Settings of a SlimGPT run (saved beside the pruned model as ``slimgpt_config.json``).

    Args:
        sparsity: target fraction of decoder-layer parameters removed, in [0, 1).
        schedule: per-layer ratio shape: ``"log_increase"`` (default), ``"linear_increase"``, ``"uniform"``,
            ``"log_decrease"``, ``"linear_decrease"``.
        first_ratio, last_ratio: explicit ratios of the first and last decoder layer (both or neither, each in
            [0, 1)); when given, ``sparsity`` is not used to derive them and the achieved fraction follows.
        log_schedule_layers: the ``n`` of ``log(i + 1) / log(n)`` in the log schedules (``None``: the
            model's number of decoder layers; ``32`` reproduces the official code, which hard-codes
            ``log(32)`` whatever the depth; >= 2).
        head_score: how a head's (or KV group's) removal error is scored: ``"joint"`` (default), the exact
            OBS error of removing its columns together; ``"official"``, the official code's per-column
            approximation ``Σ W[:, c]² / U_cc²`` from the Cholesky factor ``U`` of the head's block of ``H⁻¹``
            (it ignores how removing one column of the head changes the others).
        spread: ratio between the last and first layer's ratio when they are derived (> 0; 4 by default, as in
            SlimGPT's 20 % example 0.0625 → 0.25).
        prune_attention, prune_mlp: which parts to prune (at least one).
        num_calibration_samples, calibration_seq_len: calibration windows and their length in tokens (>= 1).
        calibration_batch_size: windows per forward pass (>= 1).
        damping: fraction of mean(diag H) added to H's diagonal, in [0, 1] (0.01).
        dgs_max_group_size, dgs_min_group_size, dgs_shrink_offset: Dynamic Group Size for FFN channels: groups
            start at ``(n − offset) // 2`` capped to [min, max] and shrink as ``b ← (b − offset) // 2``.
        min_heads_per_layer: query heads every layer keeps (>= 1); with GQA, whole KV groups are kept.
        seed: seed for picking calibration windows.
        allow_lower_sparsity: when ``sparsity`` cannot be reached (every layer keeps ``min_heads_per_layer``
            heads and one FFN channel, and loses at most 95 %), prune the largest reachable fraction with a
            warning instead of refusing; the target and the achieved fraction both go into
            ``slimgpt_config.json`` and the model card.
        device: where each layer is processed (``None``: CUDA if available, else CPU); the model stays where
            it was loaded, so only one layer at a time needs to fit on ``device``.
    """

    sparsity: float = 0.2
    schedule: str = "log_increase"
    first_ratio: float | None = None
    last_ratio: float | None = None
    spread: float = 4.0
    log_schedule_layers: int | None = None
    head_score: str = "joint"
    prune_attention: bool = True
    prune_mlp: bool = True
    num_calibration_samples: int = 128
    calibration_seq_len: int = 2048
    calibration_batch_size: int = 8
    damping: float = 0.01
    dgs_max_group_size: int = 1024
    dgs_min_group_size: int = 64
    dgs_shrink_offset: int = 512
    min_heads_per_layer: int = 1
    seed: int = 0
    device: str | None = None
    allow_lower_sparsity: bool = False

    def __post_init__(self) -> None:
        name = type(self).__name__
        if not 0.0 <= self.sparsity < 1.0:
            raise ValueError(f"{name}.sparsity must be in [0, 1), got {self.sparsity}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"{name}.schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        if (self.first_ratio is None) != (self.last_ratio is None):
            raise ValueError(f"{name}.first_ratio and last_ratio must be given together (or neither)")
        for field_name in ("first_ratio", "last_ratio"):
            value = getattr(self, field_name)
            if value is not None and not 0.0 <= value < 1.0:
                raise ValueError(f"{name}.{field_name} must be in [0, 1), got {value}")
        if self.log_schedule_layers is not None and self.log_schedule_layers < 2:
            raise ValueError(
                f"{name}.log_schedule_layers must be >= 2 or None, got {self.log_schedule_layers}"
            )
        if self.head_score not in HEAD_SCORES:
            raise ValueError(
                f"{name}.head_score must be one of {', '.join(HEAD_SCORES)}, got {self.head_score!r}"
            )
        if self.spread <= 0:
            raise ValueError(f"{name}.spread must be > 0, got {self.spread}")
        if not (self.prune_attention or self.prune_mlp):
            raise ValueError(f"{name}: at least one of prune_attention and prune_mlp must be true")
        for field_name in (
            "num_calibration_samples",
            "calibration_seq_len",
            "calibration_batch_size",
            "dgs_max_group_size",
            "dgs_min_group_size",
            "min_heads_per_layer",
        ):
            if getattr(self, field_name) < 1:
                raise ValueError(f"{name}.{field_name} must be >= 1, got {getattr(self, field_name)}")
        if self.dgs_min_group_size > self.dgs_max_group_size:
            raise ValueError(f"{name}.dgs_min_group_size must be <= dgs_max_group_size")
        if self.dgs_shrink_offset < 0:
            raise ValueError(f"{name}.dgs_shrink_offset must be >= 0, got {self.dgs_shrink_offset}")
        if not 0.0 <= self.damping <= 1.0:
            raise ValueError(f"{name}.damping must be in [0, 1], got {self.damping}")

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method_name(), **asdict(self)}

    @classmethod
    def method_name(cls) -> str:
        return "slimgpt"

    def save(self, directory: str | Path, extra: dict[str, Any] | None = None) -> Path:
        """Write ``slimgpt_config.json`` (this config plus ``extra``, e.g. layer sizes) into ``directory``."""
        path = Path(directory) / CONFIG_FILE
        path.write_text(json.dumps({**self.to_dict(), **(extra or {})}, indent=2) + "\n", encoding="utf-8")
        return path

    @classmethod
    def from_file(cls, path: str | Path) -> SlimGPTConfig:
        """Read the config part of a ``slimgpt_config.json``; unknown keys (the run's results) are ignored."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in data.items() if key in known})
