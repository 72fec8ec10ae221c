"""Optimal Brain Surgeon (OBS) for removing input columns of a linear layer, as SlimGPT uses it.

Notation: a linear layer ``W`` (rows = outputs, columns = inputs) sees calibration inputs ``X`` (columns =
tokens); ``H = 2 X Xᵀ / N``. Removing a set ``S`` of input columns and re-fitting the others to keep ``W X``
changes the mean squared output error ``||ΔW X||² / N`` by the OBS error, which every function here reports:

    E(S) = ½ Σ_rows W[r, S] (H⁻¹[S, S])⁻¹ W[r, S]ᵀ,   compensation ΔW = −W[:, S] (H⁻¹[S, S])⁻¹ H⁻¹[S, :].

For one column this is SlimGPT's ``W[:, p]² / [H⁻¹]_pp`` (up to the constant ½). Removing the columns of ``S``
one by one with single-column OBS updates (:func:`sequential_obs_removal`, the reference) gives the same
error and weights as the joint formula (:func:`remove_columns`). :func:`group_errors` gets every head's joint
error at once from a batched Cholesky factor of the head's diagonal block of ``H⁻¹`` (SlimGPT's grouped
Cholesky decomposition); the squares of the factor's diagonal are the sequential OBS denominators.

Example:
    >>> import torch
    >>> from hf_ext.pruning.slimgpt.obs import damped_hessian, inverse_hessian, remove_columns
    >>> X = torch.randn(8, 256); W = torch.randn(4, 8)
    >>> H = damped_hessian(2 * X @ X.T / 256, damping=0.0)
    >>> W_new = remove_columns(W, inverse_hessian(H), torch.tensor([3]))
    >>> bool(W_new[:, 3].abs().max() == 0)
    True
"""

from __future__ import annotations

import torch


def damped_hessian(hessian: torch.Tensor, damping: float) -> torch.Tensor:
    """A float32 copy of ``H``: dead inputs (zero diagonal) set to 1, ``damping · mean(diag H)`` added."""
    damped = hessian.detach().to(torch.float32).clone()
    diagonal = damped.diagonal()
    dead = diagonal == 0
    diagonal[dead] = 1.0
    diagonal += damping * diagonal.mean()
    return damped


def inverse_hessian(hessian: torch.Tensor) -> torch.Tensor:
    """``H⁻¹`` through a Cholesky factor; adds growing jitter if ``H`` is not positive definite."""
    jitter = 0.0
    scale = hessian.diagonal().mean().item()
    identity = torch.eye(hessian.shape[0], dtype=hessian.dtype, device=hessian.device)
    for _ in range(8):
        factor, info = torch.linalg.cholesky_ex(hessian + jitter * identity)
        if int(info) == 0:
            return torch.cholesky_inverse(factor)
        jitter = max(jitter * 10, 1e-6 * scale)
    raise ValueError("the calibration Hessian is not positive definite even with jitter; raise `damping`")


def column_errors(weight: torch.Tensor, hessian_inverse: torch.Tensor) -> torch.Tensor:
    """OBS error of removing each input column on its own: ``½ Σ_rows W[:, p]² / [H⁻¹]_pp``."""
    return 0.5 * weight.pow(2).sum(dim=0) / hessian_inverse.diagonal()


def group_errors(weight: torch.Tensor, hessian_inverse: torch.Tensor, groups: torch.Tensor) -> torch.Tensor:
    """Joint OBS error of removing each group of columns (``groups``: ``[num_groups, group_size]`` indices).

    With ``H⁻¹[g, g] = Uᵀ U`` (batched upper Cholesky), the error is ``½ ||W[:, g] U⁻¹||²``: the sum of the
    errors of removing the group's columns one by one, each after the OBS update of the previous ones.
    """
    blocks = hessian_inverse[groups[:, :, None], groups[:, None, :]]
    upper = torch.linalg.cholesky(blocks, upper=True)
    grouped_weight = weight[:, groups].permute(1, 0, 2)  # [num_groups, rows, group_size]
    whitened = torch.linalg.solve_triangular(upper, grouped_weight, upper=True, left=False)
    return 0.5 * whitened.pow(2).sum(dim=(1, 2))


def diagonal_group_errors(
    weight: torch.Tensor, hessian_inverse: torch.Tensor, groups: torch.Tensor
) -> torch.Tensor:
    """The official SlimGPT code's head score: ``½ Σ_c Σ_rows W[:, c]² / U_cc²`` per group.

    ``U`` is the same Cholesky factor of each group's block of ``H⁻¹`` as in :func:`group_errors`, but only
    its diagonal is used: each column's weights are taken as they are, not after the OBS updates that
    removing the group's earlier columns makes to them. It is exact for a group of one column and in general
    differs from (and can rank groups differently than) the joint error.
    """
    blocks = hessian_inverse[groups[:, :, None], groups[:, None, :]]
    denominators = torch.linalg.cholesky(blocks, upper=True).diagonal(dim1=1, dim2=2).pow(2)
    return 0.5 * (weight[:, groups].pow(2).sum(dim=0) / denominators).sum(dim=1)


def remove_columns(
    weight: torch.Tensor, hessian_inverse: torch.Tensor, columns: torch.Tensor
) -> torch.Tensor:
    """``W`` with ``columns`` zeroed and the remaining columns OBS-compensated (the least-squares optimum)."""
    block = hessian_inverse[columns][:, columns]
    coefficients = torch.linalg.solve(block, hessian_inverse[columns])  # (H⁻¹[S,S])⁻¹ H⁻¹[S,:]
    updated = weight - weight[:, columns] @ coefficients
    updated[:, columns] = 0.0
    return updated


def sequential_obs_removal(
    weight: torch.Tensor, hessian_inverse: torch.Tensor, columns: torch.Tensor
) -> tuple[torch.Tensor, float]:
    """Reference: remove ``columns`` one at a time with the single-column OBS update; return ``(W, error)``.

    After each removal ``H⁻¹`` is updated to the inverse Hessian of the remaining columns
    (``H⁻¹ − H⁻¹[:, p] H⁻¹[p, :] / H⁻¹[p, p]``). This is the straightforward implementation that the grouped
    Cholesky errors and the batched greedy search replace; tests and the speed benchmark use it.
    """
    weight = weight.clone()
    inverse = hessian_inverse.clone()
    error = 0.0
    for column in columns.tolist():
        pivot = inverse[column, column]
        error += 0.5 * weight[:, column].pow(2).sum().item() / pivot.item()
        weight -= torch.outer(weight[:, column] / pivot, inverse[column])
        inverse -= torch.outer(inverse[:, column], inverse[column]) / pivot
        weight[:, column] = 0.0
    return weight, error


def isolate_columns(hessian: torch.Tensor, columns: torch.Tensor) -> None:
    """Cut removed inputs out of ``H`` in place (zero rows and columns, 1 on the diagonal)."""
    hessian[columns, :] = 0.0
    hessian[:, columns] = 0.0
    hessian[columns, columns] = 1.0
