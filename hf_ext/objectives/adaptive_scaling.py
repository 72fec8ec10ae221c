"""Adaptive preference scaling (Hong et al., NeurIPS 2024, arXiv 2406.02764): a per-pair scale tau.

Every preference pair with logit ``z`` (a reward gap, or ``beta * h`` in DPO) gets its own scale

    tau* = argmin_{tau in [tau_min, tau_max]}  f(tau),   f(tau) = -tau * log sigmoid(z / tau) + R(tau)

with the linear regulariser ``R(tau) = (rho - log 2) * tau`` (the paper's main method) or the quadratic one
``R(tau) = rho * tau**2 - tau * log 2`` (Ada-Pref-Quad). ``f`` is convex in ``tau``; with ``u = z / tau``,

    f'(tau) = H(sigmoid(u)) + R'(tau),   H = binary entropy in nats,

so for the linear regulariser ``f'`` vanishes where ``H(sigmoid(|z| / tau)) = log 2 - rho``, i.e. at
``|z| / tau = c`` with ``c = logit(p)``, ``H(p) = log 2 - rho``: the exact minimiser is
``clip(|z| / c, tau_min, tau_max)``. The quadratic regulariser has no closed form; its ``f'`` is strictly
increasing, so a safeguarded Newton iteration (bisection whenever Newton leaves the bracket) solves it.
``method="newton"`` reproduces the paper's Algorithm 1 instead: ``newton_steps`` projected Newton steps from
``tau = 1`` with ``f''`` floored at 1e-6 (it may stop short of the minimiser; see :func:`solve_tau`).

The loss treats ``tau*`` as a constant (envelope theorem), so ``d loss / dz = -sigmoid(-z / tau*)``.

Example:
    >>> import torch
    >>> from hf_ext.objectives import adaptive_preference_loss, solve_tau
    >>> z = torch.tensor([0.0, 0.5, 3.0, 100.0])
    >>> solve_tau(z, rho=0.1, tau_min=0.1, tau_max=5.0)
    tensor([0.1000, 0.5300, 3.1798, 5.0000])
    >>> loss, tau = adaptive_preference_loss(z, rho=0.1, tau_min=0.1, tau_max=5.0)
    >>> loss.shape == tau.shape == z.shape
    True
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
import torch.nn.functional as F

LOG2 = math.log(2.0)
SOLVERS = ("exact", "newton")
REGULARIZERS = ("linear", "quadratic")
NEWTON_CURVATURE_FLOOR = 1e-6  # the official code's floor on f'' in its Newton step
QUADRATIC_TOLERANCE = 1e-8  # |f'(tau*)| reached by the quadratic "exact" solver at interior points


def validate_tau_arguments(
    rho: float, tau_min: float, tau_max: float, method: str = "exact", regularizer: str = "linear"
) -> None:
    """Raise ``ValueError`` naming the field when rho, the bounds, the solver or the regulariser is invalid.

    Shared by :func:`solve_tau` and the trainer configs, so both report the same ranges."""
    if regularizer not in REGULARIZERS:
        raise ValueError(f"tau_regularizer must be one of {list(REGULARIZERS)}, got {regularizer!r}")
    if method not in SOLVERS:
        raise ValueError(f"tau_solver must be one of {list(SOLVERS)}, got {method!r}")
    if regularizer == "linear" and not 0.0 < rho < LOG2:
        raise ValueError(f"rho must lie in (0, log 2 = {LOG2:.6f}) for the linear regulariser, got {rho}")
    if regularizer == "quadratic" and not rho > 0.0:
        raise ValueError(f"rho must be > 0 for the quadratic regulariser, got {rho}")
    if not tau_min > 0.0:
        raise ValueError(f"tau_min must be > 0, got {tau_min}")
    if not tau_max >= tau_min:
        raise ValueError(f"tau_max must be >= tau_min ({tau_min}), got {tau_max}")


def binary_entropy_of_logit(u: torch.Tensor) -> torch.Tensor:
    """H(sigmoid(u)) in nats, stable for any ``u`` (written with ``|u|``: H is even in ``u``)."""
    a = u.abs()
    return F.softplus(-a) + a * torch.sigmoid(-a)


@lru_cache(maxsize=64)
def critical_logit(rho: float) -> float:
    """``c = logit(p)`` where ``p`` in (1/2, 1) solves ``H(p) = log 2 - rho`` (bisection in float64).

    >>> round(critical_logit(0.1), 4)
    0.9434
    """
    validate_tau_arguments(rho, 1.0, 1.0)
    target = LOG2 - rho
    low, high = 0.0, 1.0
    while binary_entropy_of_logit(torch.tensor(high, dtype=torch.float64)).item() > target:
        high *= 2.0  # H decreases in |u|; find a logit whose entropy is below the target
    for _ in range(200):
        middle = 0.5 * (low + high)
        if binary_entropy_of_logit(torch.tensor(middle, dtype=torch.float64)).item() > target:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def tau_objective(
    z: torch.Tensor, tau: torch.Tensor, rho: float, regularizer: str = "linear"
) -> torch.Tensor:
    """f(tau) = -tau * log sigmoid(z / tau) + R(tau), elementwise (R as in the module docstring)."""
    fit = -tau * F.logsigmoid(z / tau)
    if regularizer == "quadratic":
        return fit + rho * tau * tau - LOG2 * tau
    return fit + (rho - LOG2) * tau


def tau_objective_derivatives(
    z: torch.Tensor, tau: torch.Tensor, rho: float, regularizer: str = "linear"
) -> tuple[torch.Tensor, torch.Tensor]:
    """(f', f'') elementwise: ``f' = H(s) + R'``, ``f'' = z^2/tau^3 s(1-s) + R''`` with s = sigmoid(z/tau)."""
    u = z / tau
    s = torch.sigmoid(u)
    first = binary_entropy_of_logit(u) - LOG2
    second = u * u / tau * s * (1.0 - s)
    if regularizer == "quadratic":
        return first + 2.0 * rho * tau, second + 2.0 * rho
    return first + rho, second


def _working_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.promote_types(dtype, torch.float32) if dtype.is_floating_point else torch.float32


def _projected_newton(z, rho, tau_min, tau_max, steps, regularizer):
    tau = torch.full_like(z, min(max(1.0, tau_min), tau_max))
    for _ in range(steps):
        first, second = tau_objective_derivatives(z, tau, rho, regularizer)
        tau = (tau - first / second.clamp_min(NEWTON_CURVATURE_FLOOR)).clamp(tau_min, tau_max)
    return tau


def _safeguarded_newton(z, rho, tau_min, tau_max, regularizer, max_iterations=200):
    """Minimiser of the convex f on [tau_min, tau_max]: a bound when f' has one sign there, else the root
    of the increasing f', found by Newton steps kept inside a shrinking bracket (bisection otherwise)."""
    low, high = torch.full_like(z, tau_min), torch.full_like(z, tau_max)
    if regularizer == "quadratic":  # f' >= -log 2 + 2 rho tau, so the root lies below log 2 / (2 rho)
        high = high.clamp_max(max(tau_min, LOG2 / (2.0 * rho)))
    at_min = tau_objective_derivatives(z, low, rho, regularizer)[0] >= 0
    at_max = tau_objective_derivatives(z, high, rho, regularizer)[0] <= 0
    tau = torch.where(at_min, low, torch.where(at_max, high, 0.5 * (low + high)))
    done = at_min | at_max
    for _ in range(max_iterations):
        first, second = tau_objective_derivatives(z, tau, rho, regularizer)
        done = done | (first.abs() <= QUADRATIC_TOLERANCE) | (high - low <= 1e-15 * high)
        if bool(done.all()):
            break
        low = torch.where(first < 0, tau, low)
        high = torch.where(first > 0, tau, high)
        newton = tau - first / second.clamp_min(1e-300)
        inside = (newton > low) & (newton < high)
        tau = torch.where(done, tau, torch.where(inside, newton, 0.5 * (low + high)))
    return tau


@torch.no_grad()
def solve_tau(
    z: torch.Tensor,
    rho: float,
    tau_min: float,
    tau_max: float,
    method: str = "exact",
    newton_steps: int = 5,
    regularizer: str = "linear",
) -> torch.Tensor:
    """The per-pair scale minimising f(tau) on [tau_min, tau_max]; ``z`` is detached.

    Args:
        z: preference logits (any shape): ``r_chosen - r_rejected`` or DPO's ``beta * h``.
        rho: the paper's KL budget rho0; in (0, log 2) for ``regularizer="linear"``, > 0 for ``"quadratic"``.
        tau_min, tau_max: bounds, ``0 < tau_min <= tau_max`` (``tau_max`` may be ``inf`` for quadratic).
        method: ``"exact"`` (closed form for linear; safeguarded Newton to |f'| <= 1e-8 for quadratic) or
            ``"newton"`` (the paper's Algorithm 1: ``newton_steps`` projected Newton steps from tau = 1).
        newton_steps: number of steps for ``method="newton"``.
        regularizer: ``"linear"`` (Ada-Pref) or ``"quadratic"`` (Ada-Pref-Quad).

    Returns:
        tau with ``z``'s shape, in ``z``'s dtype promoted to at least float32.

    The projected Newton iteration can stop short of the minimiser: where ``f''`` is nearly zero it jumps
    to a bound and may stay there or oscillate (e.g. rho = 0.3, |z| near 1). ``"exact"`` has no such case.

    >>> solve_tau(torch.tensor([0.0, 2.0]), rho=0.1, tau_min=0.1, tau_max=5.0, method="newton")
    tensor([0.1000, 2.1199])
    """
    validate_tau_arguments(rho, tau_min, tau_max, method, regularizer)
    if newton_steps < 0:
        raise ValueError(f"newton_steps must be >= 0, got {newton_steps}")
    z = z.detach().to(_working_dtype(z.dtype))
    if method == "newton":
        return _projected_newton(z, rho, tau_min, tau_max, newton_steps, regularizer)
    if regularizer == "linear":
        return (z.abs() / critical_logit(rho)).clamp(tau_min, tau_max)
    return _safeguarded_newton(z.double(), rho, tau_min, tau_max, regularizer).to(z.dtype)


def adaptive_preference_loss(
    z: torch.Tensor,
    rho: float,
    tau_min: float,
    tau_max: float,
    method: str = "exact",
    newton_steps: int = 5,
    regularizer: str = "linear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-pair adaptive loss f(tau*) and tau*, with tau* held constant for the gradient.

    ``loss = -tau * log sigmoid(z / tau) + R(tau)``, so ``d loss / dz = -sigmoid(-z / tau)``. Computed in
    float32 or wider whatever ``z``'s dtype; stable for |z| up to 1e4 and beyond. Arguments as in
    :func:`solve_tau`.

    >>> z = torch.tensor([1.0, -1.0], requires_grad=True)
    >>> loss, tau = adaptive_preference_loss(z, rho=0.1, tau_min=1.0, tau_max=1.0)
    >>> torch.allclose(loss, -F.logsigmoid(z) + 0.1 - math.log(2))
    True
    """
    tau = solve_tau(z, rho, tau_min, tau_max, method, newton_steps, regularizer)
    z = z.to(tau.dtype)
    return tau_objective(z, tau, rho, regularizer), tau
