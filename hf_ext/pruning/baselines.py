"""Structured baselines in the SlimGPT pipeline: ``magnitude-sp`` and ``wanda-sp`` (no weight compensation).

Both score the same units SlimGPT prunes, heads (or KV groups) through their ``o_proj`` input columns and FFN
channels through their ``down_proj`` input columns, and drop the lowest-scoring ones:

- ``magnitude-sp``: the Frobenius norm of the unit's columns, ``||W[:, g]||``;
- ``wanda-sp``: ``Σ_{rows, columns in g} |W| · ||X_column||``, with ``||X_j||² ∝ diag(H)_j`` from the same
  calibration data (inputs recomputed through the already-pruned layers).

They run through :class:`~hf_ext.pruning.slimgpt.SlimGPTPruner`'s pipeline, so the saved model, the schedules
and the parameter accounting are identical; their configs default to the ``uniform`` schedule.

Example:
    >>> import torch
    >>> from hf_ext.pruning.baselines import MagnitudeSelection
    >>> W = torch.tensor([[1.0, 0.1, 2.0, 0.2]])
    >>> _, removed = MagnitudeSelection().prune_groups(W, None, torch.arange(4).view(2, 2), 1, damping=0.0)
    >>> removed
    [0]
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from hf_ext.pruning.slimgpt.config import SlimGPTConfig
from hf_ext.pruning.slimgpt.pruner import SlimGPTPruner


class _ScoreSelection:
    """Remove the ``num_remove`` lowest-scoring column groups; the other columns are left as they are."""

    needs_hessian = True

    def group_scores(self, weight: torch.Tensor, hessian: torch.Tensor | None, groups: torch.Tensor):
        raise NotImplementedError

    def prune_groups(self, weight, hessian, groups, num_remove, damping, head_score="joint"):
        """``head_score`` is SlimGPT's option and has no effect here (the score is the baseline's own)."""
        weight = weight.detach().to(torch.float32).clone()
        removed = self.group_scores(weight, hessian, groups).topk(num_remove, largest=False).indices
        weight[:, groups[removed].flatten()] = 0.0
        return weight, sorted(removed.tolist())

    def prune_columns(self, weight, hessian, num_remove, config):
        groups = torch.arange(weight.shape[1], device=weight.device).view(-1, 1)
        weight, removed = self.prune_groups(weight, hessian, groups, num_remove, config.damping)
        return weight, removed


class MagnitudeSelection(_ScoreSelection):
    needs_hessian = False

    def group_scores(self, weight, hessian, groups):
        return weight[:, groups].pow(2).sum(dim=(0, 2)).sqrt()


class WandaSelection(_ScoreSelection):
    def group_scores(self, weight, hessian, groups):
        input_norms = hessian.diagonal().to(torch.float32).clamp_min(0).sqrt()
        return (weight.abs() * input_norms).sum(dim=0)[groups].sum(dim=1)


@dataclass
class MagnitudeSPConfig(SlimGPTConfig):
    """:class:`SlimGPTConfig` for ``magnitude-sp``; ``schedule`` defaults to ``"uniform"``."""

    schedule: str = "uniform"

    @classmethod
    def method_name(cls) -> str:
        return "magnitude-sp"


@dataclass
class WandaSPConfig(SlimGPTConfig):
    """:class:`SlimGPTConfig` for ``wanda-sp``; ``schedule`` defaults to ``"uniform"``."""

    schedule: str = "uniform"

    @classmethod
    def method_name(cls) -> str:
        return "wanda-sp"


class MagnitudeSPPruner(SlimGPTPruner):
    """Structured magnitude pruning (weight norms of heads and channels) in the SlimGPT pipeline."""

    config_class = MagnitudeSPConfig
    selection = MagnitudeSelection()


class WandaSPPruner(SlimGPTPruner):
    """Wanda-sp (``|W| · ||X||`` per head and channel) in the SlimGPT pipeline."""

    config_class = WandaSPConfig
    selection = WandaSelection()
