"""SlimGPT's two searches: Batched Greedy Pruning of heads and Dynamic Group Size pruning of FFN channels.

Both remove input columns of an output projection (``o_proj`` for heads, ``down_proj`` for channels) with
OBS compensation (:mod:`hf_ext.pruning.slimgpt.obs`) and return the new weight (removed columns zero) and the
indices removed. Heads are removed one group of columns at a time (a head, or a whole KV group for GQA
models), always the group whose joint OBS error, computed for all groups at once with the grouped Cholesky
decomposition, is smallest.
FFN channels are removed in groups of shrinking size (:func:`dynamic_group_sizes`), the cheapest single-column
errors first, with ``H⁻¹`` recomputed between groups.

Example:
    >>> import torch
    >>> from hf_ext.pruning.slimgpt.search import dynamic_group_sizes
    >>> dynamic_group_sizes(5504)[:5]   # 11008 LLaMA-7B channels at 50%
    [1024, 992, 240, 64, 64]
"""

from __future__ import annotations

import torch

from hf_ext.pruning.slimgpt.obs import (
    column_errors,
    damped_hessian,
    diagonal_group_errors,
    group_errors,
    inverse_hessian,
    isolate_columns,
    remove_columns,
)


def dynamic_group_sizes(
    num_remove: int, max_group: int = 1024, min_group: int = 64, shrink_offset: int = 512
) -> list[int]:
    """Group sizes for removing ``num_remove`` channels: large first, then down to ``min_group``.

    ``b = (num_remove − offset) // 2``; each group is ``min(remaining, max(b, min_group), max_group)``, then
    ``b ← (b − offset) // 2``.
    """
    sizes: list[int] = []
    budget, remaining = (num_remove - shrink_offset) // 2, num_remove
    while remaining > 0:
        size = min(remaining, max(budget, min_group), max_group)
        sizes.append(size)
        remaining -= size
        budget = (budget - shrink_offset) // 2
    return sizes


def greedy_group_pruning(
    weight: torch.Tensor,
    hessian: torch.Tensor,
    groups: torch.Tensor,
    num_remove: int,
    damping: float,
    head_score: str = "joint",
) -> tuple[torch.Tensor, list[int]]:
    """Remove ``num_remove`` column groups, cheapest first; ``(weight, removed groups)``.

    ``head_score="joint"`` ranks groups by their exact joint OBS error (:func:`group_errors`), ``"official"``
    by the official code's diagonal approximation (:func:`diagonal_group_errors`). Either way the chosen
    group is removed with the exact joint compensation."""
    score = {"joint": group_errors, "official": diagonal_group_errors}[head_score]
    weight = weight.detach().to(torch.float32).clone()
    hessian = damped_hessian(hessian, damping)
    removed: list[int] = []
    for _ in range(num_remove):
        hessian_inverse = inverse_hessian(hessian)
        errors = score(weight, hessian_inverse, groups)
        errors[removed] = float("inf")
        cheapest = int(errors.argmin())
        weight = remove_columns(weight, hessian_inverse, groups[cheapest])
        isolate_columns(hessian, groups[cheapest])
        removed.append(cheapest)
    return weight, sorted(removed)


def dynamic_group_pruning(
    weight: torch.Tensor, hessian: torch.Tensor, group_sizes: list[int], damping: float
) -> tuple[torch.Tensor, list[int]]:
    """Remove ``sum(group_sizes)`` columns in groups of the cheapest single-column errors, compensated."""
    weight = weight.detach().to(torch.float32).clone()
    hessian = damped_hessian(hessian, damping)
    pruned = torch.zeros(weight.shape[1], dtype=torch.bool, device=weight.device)
    for size in group_sizes:
        hessian_inverse = inverse_hessian(hessian)
        errors = column_errors(weight, hessian_inverse).masked_fill(pruned, float("inf"))
        columns = errors.topk(size, largest=False).indices
        weight = remove_columns(weight, hessian_inverse, columns)
        isolate_columns(hessian, columns)
        pruned[columns] = True
    return weight, pruned.nonzero().flatten().tolist()


class SlimGPTSelection:
    """SlimGPT's choice of columns: greedy grouped-Cholesky search (heads), Dynamic Group Size (channels)."""

    needs_hessian = True

    def prune_groups(self, weight, hessian, groups, num_remove, damping, head_score="joint"):
        return greedy_group_pruning(weight, hessian, groups, num_remove, damping, head_score)

    def prune_columns(self, weight, hessian, num_remove, config):
        sizes = dynamic_group_sizes(
            num_remove, config.dgs_max_group_size, config.dgs_min_group_size, config.dgs_shrink_offset
        )
        return dynamic_group_pruning(weight, hessian, sizes, config.damping)
