"""CVaR risk for RLHF (RA-RLHF, Chaudhary et al. 2024): the soft-risk schedule and the tail mask.

Risk-averse RLHF trains only on the episodes whose return lies in the lower ``level`` fraction of the
batch. ``level`` starts at 1 (plain RLHF), and after ``warmup_steps`` falls linearly to ``alpha``, which it
reaches at step ``ceil(reach_fraction * total_steps)``.

Example:
    >>> import torch
    >>> from hf_ext.objectives import cvar_mask, soft_risk_level
    >>> from hf_ext.objectives.risk import tail_kl
    >>> soft_risk_level(100, alpha=0.4, warmup_steps=30, total_steps=194)   # 1 - 0.6 * 70 / 155
    0.7290322580645161
    >>> cvar_mask(torch.tensor([3.0, -1.0, 2.0, -1.0]), 0.5).tolist()
    [False, True, False, True]
    >>> cvar_mask(torch.tensor([3.0, -1.0, -1.0, -1.0]), 0.5).tolist()   # exactly ceil(0.5 * 4) kept
    [False, True, True, False]
    >>> cvar_mask(torch.tensor([3.0, -1.0, -1.0, -1.0]), 0.5, ties="quantile").tolist()   # official code
    [False, True, True, True]
    >>> tail_kl(6.0, kept=2, batch_size=4), tail_kl(6.0, kept=2, batch_size=4, estimate="official")
    (3.0, 1.5)
"""

from __future__ import annotations

import math

import torch

# Products such as 0.3 * 10 come out as 3.0000000000000004 in floating point; ceil() must not round those up.
_CEIL_TOLERANCE = 1e-9


TAIL_TIES = ("exact_count", "quantile")
KL_ESTIMATES = ("kept_mean", "official")


def _ceil(value: float) -> int:
    return math.ceil(value - _CEIL_TOLERANCE)


def validate_risk_arguments(alpha: float, reach_fraction: float) -> None:
    """Raise ``ValueError`` naming the argument when ``alpha`` or ``reach_fraction`` is outside (0, 1]."""
    for name, value in (("alpha", alpha), ("reach_fraction", reach_fraction)):
        if not isinstance(value, int | float) or math.isnan(value) or not 0.0 < value <= 1.0:
            raise ValueError(f"{name} must be in (0, 1], got {value!r}")


def soft_risk_level(
    step: int, *, alpha: float, warmup_steps: int, total_steps: int | None, reach_fraction: float = 0.95
) -> float:
    """The fraction of the batch to keep at ``step`` (0-based count of completed training iterations).

    1 while ``step <= warmup_steps``; ``alpha`` from ``step >= ceil(reach_fraction * total_steps)``; in
    between ``max(alpha, 1 - (1 - alpha) * (step - warmup_steps) / (ceil(reach_fraction * total_steps) -
    warmup_steps))``. ``alpha = 1`` gives 1 at every step (risk-neutral training).
    """
    validate_risk_arguments(alpha, reach_fraction)
    if total_steps is None or total_steps < 1:
        raise ValueError(
            f"total_steps must be a positive number of training steps, got {total_steps!r} "
            "(set max_steps, or give the trainer a dataset with a known length)"
        )
    if warmup_steps < 0:
        raise ValueError(f"warmup_steps must be >= 0, got {warmup_steps!r}")
    if step < 0:
        raise ValueError(f"step must be >= 0, got {step!r}")
    if step <= warmup_steps:
        return 1.0
    reach_step = _ceil(reach_fraction * total_steps)
    if step >= reach_step:
        return float(alpha)
    return max(float(alpha), 1.0 - (1.0 - alpha) * (step - warmup_steps) / (reach_step - warmup_steps))


def tail_size(level: float, batch_size: int) -> int:
    """How many episodes :func:`cvar_mask` keeps: ``max(1, ceil(level * batch_size))``."""
    if not 0.0 < level <= 1.0:
        raise ValueError(f"level must be in (0, 1], got {level!r}")
    if batch_size < 1:
        raise ValueError(f"the batch must hold at least one episode, got {batch_size}")
    return min(batch_size, max(1, _ceil(level * batch_size)))


def _gather_from_all_processes(returns: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(returns of every process concatenated in rank order, offset of this process's slice)."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return returns, 0
    world_size, rank = dist.get_world_size(), dist.get_rank()
    sizes = [torch.zeros(1, dtype=torch.long, device=returns.device) for _ in range(world_size)]
    dist.all_gather(sizes, torch.tensor([returns.numel()], device=returns.device))
    sizes_list = [int(size.item()) for size in sizes]
    padded = torch.zeros(max(sizes_list), dtype=returns.dtype, device=returns.device)
    padded[: returns.numel()] = returns
    gathered = [torch.empty_like(padded) for _ in range(world_size)]
    dist.all_gather(gathered, padded)
    everything = torch.cat([chunk[:size] for chunk, size in zip(gathered, sizes_list)])
    return everything, sum(sizes_list[:rank])


def cvar_mask(
    returns: torch.Tensor, level: float, *, gather: bool = True, ties: str = "exact_count"
) -> torch.Tensor:
    """Boolean mask of the episodes in the lower ``level`` tail of ``returns``.

    ``returns`` has shape ``[B]`` (this process's episodes). Under ``torch.distributed`` the returns of all
    processes are gathered first, the tail is chosen over the whole gathered batch, and this process's slice
    of the mask is returned (``gather=False`` treats ``returns`` as the whole batch). ``k = max(1, ceil(level
    * B))`` (:func:`tail_size`). With ``ties="exact_count"`` (hf-ext's default) exactly ``k`` episodes are
    kept: among equal returns at the threshold the earlier episode (lower rank, then lower position) wins, so
    ties never enlarge the tail. With ``ties="quantile"`` (the official RA-RLHF code) every episode whose
    return is ``<=`` the ``k``-th smallest return is kept, so ties at the threshold can keep more than ``k``.
    NaN returns are rejected.
    """
    if ties not in TAIL_TIES:
        raise ValueError(f"ties must be one of {TAIL_TIES}, got {ties!r}")
    if returns.dim() != 1:
        raise ValueError(f"returns must have shape [batch], got {tuple(returns.shape)}")
    if torch.isnan(returns).any():
        raise ValueError("returns contain NaN; check the reward function")
    everything, offset = _gather_from_all_processes(returns.detach()) if gather else (returns.detach(), 0)
    keep_count = tail_size(level, everything.numel())
    ranked = torch.sort(everything.float(), stable=True)
    if ties == "quantile":
        mask = everything.float() <= ranked.values[keep_count - 1]
    else:
        mask = torch.zeros(everything.numel(), dtype=torch.bool, device=everything.device)
        mask[ranked.indices[:keep_count]] = True
    return mask[offset : offset + returns.numel()]


def value_at_risk(returns: torch.Tensor, mask: torch.Tensor) -> float:
    """The VaR threshold of a tail mask: the largest kept return."""
    return float(returns[mask].max()) if mask.any() else float("nan")


def tail_kl(kl_sum: float, *, kept: float, batch_size: float, estimate: str = "kept_mean") -> float:
    """The sequence KL fed to the adaptive KL controller, from the kept episodes' summed KL ``kl_sum``.

    ``"kept_mean"`` (hf-ext's default): ``kl_sum / kept``, the mean KL of the episodes trained on.
    ``"official"`` (the RA-RLHF code): ``kl_sum / batch_size``, dropped episodes counted as zero KL, which
    dilutes the estimate by the kept fraction and lets the controller lower beta while the tail drifts.
    """
    if estimate not in KL_ESTIMATES:
        raise ValueError(f"kl_estimate must be one of {KL_ESTIMATES}, got {estimate!r}")
    return kl_sum / max(kept if estimate == "kept_mean" else batch_size, 1.0)
