"""solve_tau and adaptive_preference_loss against brute-force minimisation, closed forms and autograd."""

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from hf_ext.objectives import adaptive_preference_loss, solve_tau
from hf_ext.objectives.adaptive_scaling import (
    critical_logit,
    tau_objective,
    tau_objective_derivatives,
)

RHOS = [0.01, 0.05, 0.1, 0.3, 0.6]
BOUNDS = [(0.1, 5.0), (0.1, 1.0), (0.5, 10.0), (0.01, 100.0), (1.0, 1.0)]
Z = torch.tensor(
    [0.0, 1e-9, -1e-6, 1e-3, -0.05, 0.1, -0.5, 1.0, -2.0, 3.0, -10.0, 30.0, -100.0, 1e3, -1e4, 1e4],
    dtype=torch.float64,
)


def brute_force_tau(z, rho, tau_min, tau_max, regularizer="linear", points=10001):
    """Minimise f over a grid on [tau_min, tau_max], then over a second grid around the best point."""
    if tau_min == tau_max:
        return torch.full_like(z, tau_min)
    grid = torch.linspace(tau_min, tau_max, points, dtype=torch.float64)
    coarse = tau_objective(z[None, :], grid[:, None], rho, regularizer).argmin(0)
    step = (tau_max - tau_min) / (points - 1)
    low = (grid[coarse] - step).clamp(tau_min, tau_max)
    high = (grid[coarse] + step).clamp(tau_min, tau_max)
    fine = low + (high - low) * torch.linspace(0, 1, points, dtype=torch.float64)[:, None]
    best = tau_objective(z.expand_as(fine), fine, rho, regularizer).argmin(0)
    return fine[best, torch.arange(z.numel())]


def assert_is_minimiser(tau, z, rho, tau_min, tau_max, regularizer="linear"):
    reference = brute_force_tau(z, rho, tau_min, tau_max, regularizer)
    f_tau = tau_objective(z, tau.double(), rho, regularizer)
    f_reference = tau_objective(z, reference, rho, regularizer)
    assert torch.all(f_tau <= f_reference + 1e-10 * (1 + f_reference.abs())), (tau, reference)
    torch.testing.assert_close(tau.double(), reference, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("regularizer", ["linear", "quadratic"])
@pytest.mark.parametrize("tau_min,tau_max", BOUNDS)
@pytest.mark.parametrize("rho", RHOS)
def test_exact_solver_matches_brute_force(rho, tau_min, tau_max, regularizer):
    tau = solve_tau(Z, rho, tau_min, tau_max, method="exact", regularizer=regularizer)
    assert tau.dtype == torch.float64 and tau.shape == Z.shape
    assert_is_minimiser(tau, Z, rho, tau_min, tau_max, regularizer)


@pytest.mark.parametrize("regularizer", ["linear", "quadratic"])
@pytest.mark.parametrize("rho", RHOS)
def test_first_derivative_vanishes_at_interior_points(rho, regularizer):
    tau_min, tau_max = 1e-3, 1e3
    tau = solve_tau(Z, rho, tau_min, tau_max, regularizer=regularizer)
    interior = (tau > tau_min * (1 + 1e-9)) & (tau < tau_max * (1 - 1e-9))
    assert interior.sum() >= 5
    first, second = tau_objective_derivatives(Z[interior], tau[interior], rho, regularizer)
    assert first.abs().max() < 1e-8
    assert torch.all(second > 0)  # strictly convex there: the stationary point is the minimiser


def test_closed_form_constant_matches_the_entropy_equation():
    for rho in RHOS:
        c = critical_logit(rho)
        p = 1 / (1 + math.exp(-c))
        entropy = -p * math.log(p) - (1 - p) * math.log(1 - p)
        assert entropy == pytest.approx(math.log(2) - rho, abs=1e-12)
    assert critical_logit(0.1) == pytest.approx(0.9434, abs=1e-4)  # the paper digest's table
    assert critical_logit(0.3) == pytest.approx(1.8696, abs=1e-4)


def test_zero_logit_gets_tau_min_and_half_the_gradient():
    z = torch.zeros(3, requires_grad=True)
    loss, tau = adaptive_preference_loss(z, rho=0.1, tau_min=0.1, tau_max=5.0)
    assert torch.equal(tau, torch.full((3,), 0.1))
    loss.sum().backward()
    torch.testing.assert_close(z.grad, torch.full((3,), -0.5))


# The paper's projected Newton (Algorithm 1) from tau = 1 converges in these settings...
NEWTON_CONVERGES = [
    (0.1, (0.1, 5.0), 5),
    (0.1, (0.1, 1.0), 5),
    (0.1, (0.5, 10.0), 5),
    (0.05, (0.1, 1.0), 5),
    (0.05, (0.1, 5.0), 20),
    (0.01, (0.1, 5.0), 20),
    (0.01, (0.5, 10.0), 20),
]


@pytest.mark.parametrize("rho,bounds,steps", NEWTON_CONVERGES)
def test_newton_matches_brute_force_where_it_converges(rho, bounds, steps):
    tau = solve_tau(Z, rho, *bounds, method="newton", newton_steps=steps)
    assert_is_minimiser(tau, Z, rho, *bounds)


@pytest.mark.parametrize("regularizer", ["linear", "quadratic"])
@pytest.mark.parametrize("tau_min,tau_max", BOUNDS)
@pytest.mark.parametrize("rho", RHOS)
def test_newton_is_never_better_than_exact_and_exact_where_stationary(rho, tau_min, tau_max, regularizer):
    newton = solve_tau(Z, rho, tau_min, tau_max, method="newton", newton_steps=50, regularizer=regularizer)
    exact = solve_tau(Z, rho, tau_min, tau_max, regularizer=regularizer)
    f_newton = tau_objective(Z, newton, rho, regularizer)
    f_exact = tau_objective(Z, exact, rho, regularizer)
    assert torch.all(f_exact <= f_newton + 1e-10 * (1 + f_newton.abs()))
    assert torch.all((newton >= tau_min) & (newton <= tau_max))
    first, _ = tau_objective_derivatives(Z, newton, rho, regularizer)
    stationary = (first.abs() < 1e-9) & (newton > tau_min) & (newton < tau_max)
    torch.testing.assert_close(newton[stationary], exact[stationary], rtol=1e-6, atol=1e-6)


def test_newton_stalls_where_the_curvature_vanishes():
    """The documented failure of Algorithm 1: rho = 0.3, |z| = 1 jumps to a bound and never comes back."""
    z = torch.tensor([1.0], dtype=torch.float64)
    exact = solve_tau(z, 0.3, 0.1, 5.0)
    assert exact.item() == pytest.approx(1 / critical_logit(0.3))
    for steps in (5, 50):
        newton = solve_tau(z, 0.3, 0.1, 5.0, method="newton", newton_steps=steps)
        assert newton.item() in (0.1, 5.0)
        assert tau_objective(z, newton, 0.3) > tau_objective(z, exact, 0.3) + 1e-3


@settings(max_examples=60, deadline=None)
@given(
    z=st.floats(-1e4, 1e4, allow_nan=False),
    rho=st.floats(1e-3, 0.69),
    tau_min=st.floats(1e-3, 10.0),
    width=st.floats(0.0, 100.0),
    probe=st.floats(0.0, 1.0),
)
def test_exact_tau_is_no_worse_than_any_feasible_tau(z, rho, tau_min, width, probe):
    tau_max = tau_min + width
    z_tensor = torch.tensor([z], dtype=torch.float64)
    tau = solve_tau(z_tensor, rho, tau_min, tau_max)
    other = torch.tensor([tau_min + probe * width], dtype=torch.float64)
    f_tau, f_other = tau_objective(z_tensor, tau, rho), tau_objective(z_tensor, other, rho)
    assert tau_min <= tau.item() <= tau_max
    assert f_tau.item() <= f_other.item() + 1e-9 * (1 + abs(f_other.item()))


@pytest.mark.parametrize("method", ["exact", "newton"])
@pytest.mark.parametrize("regularizer", ["linear", "quadratic"])
def test_gradient_identity(method, regularizer):
    z = torch.linspace(-20, 20, 41, dtype=torch.float64).requires_grad_()
    loss, tau = adaptive_preference_loss(z, 0.2, 0.1, 4.0, method=method, regularizer=regularizer)
    (gradient,) = torch.autograd.grad(loss.sum(), z)
    torch.testing.assert_close(gradient, -torch.sigmoid(-z.detach() / tau), rtol=1e-12, atol=1e-12)
    linear, quadratic = (0.2 - math.log(2)) * tau, 0.2 * tau**2 - math.log(2) * tau
    expected_regularizer = linear if regularizer == "linear" else quadratic
    expected = -tau * F.logsigmoid(z.detach() / tau) + expected_regularizer
    torch.testing.assert_close(loss.detach(), expected)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16, torch.float32])
def test_low_precision_inputs_are_computed_in_float32(dtype):
    z = (torch.linspace(-5, 5, 11) * 3).to(dtype).requires_grad_()
    loss, tau = adaptive_preference_loss(z, 0.1, 0.1, 5.0)
    assert loss.dtype == torch.float32 and tau.dtype == torch.float32
    loss.sum().backward()
    reference_z = z.detach().double()
    reference_tau = (reference_z.abs() / critical_logit(0.1)).clamp(0.1, 5.0)
    torch.testing.assert_close(tau.double(), reference_tau, rtol=1e-6, atol=1e-6)
    expected_gradient = -torch.sigmoid(-reference_z / reference_tau)
    torch.testing.assert_close(z.grad.double(), expected_gradient, rtol=1e-2, atol=1e-2)


def test_stable_for_huge_logits():
    z = torch.tensor([1e4, -1e4, 5e3, -5e3], requires_grad=True)
    loss, tau = adaptive_preference_loss(z, 0.1, 0.1, 5.0)
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(z.grad).all()
    constant = 5.0 * (0.1 - math.log(2))
    torch.testing.assert_close(loss.detach(), torch.tensor([0.0, 1e4, 0.0, 5e3]) + constant)
    torch.testing.assert_close(z.grad, torch.tensor([0.0, -1.0, 0.0, -1.0]))


@pytest.mark.parametrize(
    "kwargs,field",
    [
        ({"rho": 0.0}, "rho"),
        ({"rho": math.log(2)}, "rho"),
        ({"rho": -0.1, "regularizer": "quadratic"}, "rho"),
        ({"tau_min": 0.0}, "tau_min"),
        ({"tau_min": 2.0, "tau_max": 1.0}, "tau_max"),
        ({"method": "lbfgs"}, "tau_solver"),
        ({"regularizer": "cubic"}, "tau_regularizer"),
        ({"newton_steps": -1}, "newton_steps"),
    ],
)
def test_bad_arguments_name_the_field(kwargs, field):
    arguments = {"rho": 0.1, "tau_min": 0.1, "tau_max": 5.0, **kwargs}
    with pytest.raises(ValueError, match=field):
        solve_tau(torch.ones(2), **arguments)


def test_quadratic_without_upper_bound():
    tau = solve_tau(Z, 0.1, 0.1, math.inf, regularizer="quadratic")
    assert torch.isfinite(tau).all()
    assert_is_minimiser(tau, Z, 0.1, 0.1, math.log(2) / 0.2 + 1.0, "quadratic")
