"""Each Runge-Kutta tableau converges at its order; steps are differentiable."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from physml.integrators import (
    INTEGRATORS,
    ButcherTableau,
    euler_maruyama_step,
    integrate,
    resolve_integrator,
    rk_step,
)

SCHEMES = ["euler", "midpoint", "heun", "rk4", "rk4_38", "ssprk3"]


def observed_order(tableau, f, x0, exact, T, h0):
    errors = []
    for h in (h0, h0 / 2, h0 / 4):
        n = int(round(T / h))
        x = integrate(f, x0, T / n, n, tableau)
        errors.append(float((x - exact).abs().max()))
    return np.log2(errors[0] / errors[1]), np.log2(errors[1] / errors[2])


# Two families whose leading error term cannot vanish: x' = a x (the stability function
# differs from exp(z) by a term of fixed sign), and the quadrature x' = cos(w t) (the error is
# a multiple of a derivative difference of cos that is nonzero for w in (0, pi)).
@pytest.mark.parametrize("name", SCHEMES)
@given(a=st.floats(-1.5, -0.2), x0=st.floats(0.5, 2.0))
@settings(max_examples=10, deadline=None)
def test_observed_order_on_linear_growth_matches_the_tableau(name, a, x0):
    tableau = resolve_integrator(name)
    exact = torch.tensor([x0 * np.exp(a)])
    h0 = 0.1 if tableau.order < 4 else 0.2
    orders = observed_order(tableau, lambda t, x: a * x, torch.tensor([x0], dtype=torch.float64),
                            exact, 1.0, h0)
    assert abs(orders[-1] - tableau.order) < 0.3, orders


@pytest.mark.parametrize("name", SCHEMES)
@given(w=st.floats(0.5, 2.0))
@settings(max_examples=10, deadline=None)
def test_observed_order_on_time_dependent_fields_matches_the_tableau(name, w):
    tableau = resolve_integrator(name)

    def f(t, x):
        return torch.cos(torch.as_tensor(w * t, dtype=x.dtype)) + 0 * x

    exact = torch.tensor([np.sin(w) / w])
    h0 = 0.1 if tableau.order < 4 else 0.2
    orders = observed_order(tableau, f, torch.zeros(1, dtype=torch.float64), exact, 1.0, h0)
    # At least the order (a wrong c would lose it); for pure quadrature the weights may do
    # better: SSPRK3's (b, c) are Simpson's rule, of order 4.
    assert orders[-1] > tableau.order - 0.3, orders


@pytest.mark.parametrize("name", SCHEMES)
def test_gradcheck_through_a_step(name):
    tableau = resolve_integrator(name)
    W = torch.randn(3, 3, dtype=torch.float64, requires_grad=True)
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)

    def step(x, W):
        return rk_step(lambda t, s: torch.tanh(s @ W), x, 0.1, tableau)

    assert torch.autograd.gradcheck(step, (x, W))


def test_rk4_is_classic_and_rk4_38_is_the_three_eighths_rule():
    assert INTEGRATORS["rk4"].b == (1 / 6, 1 / 3, 1 / 3, 1 / 6)
    assert INTEGRATORS["rk4_38"].b == (1 / 8, 3 / 8, 3 / 8, 1 / 8)
    assert INTEGRATORS["rk2"] is INTEGRATORS["heun"]


def test_unknown_names_and_bad_tableaus_are_rejected():
    with pytest.raises(ValueError, match="integrator='rk5'.*euler"):
        resolve_integrator("rk5")
    with pytest.raises(ValueError, match="sum to c"):
        resolve_integrator(ButcherTableau("bad", a=((), (0.3,)), b=(0.5, 0.5), c=(0, 1), order=2))
    with pytest.raises(ValueError, match="b must sum to 1"):
        resolve_integrator(ButcherTableau("bad", a=((),), b=(0.5,), c=(0.0,), order=1))


def test_euler_maruyama_matches_the_ou_process_statistics():
    # dx = -x dt + 0.5 dB from x = 1: mean e^{-t}, variance 0.125 (1 - e^{-2t}).
    gen = torch.Generator().manual_seed(0)
    x = torch.ones(20000, dtype=torch.float64)
    h, n = 0.01, 100
    for _ in range(n):
        noise = torch.randn(x.shape, generator=gen, dtype=torch.float64)
        x = euler_maruyama_step(lambda s: -s, lambda s: 0.5 * torch.ones_like(s), x, h, noise)
    assert abs(float(x.mean()) - np.exp(-1)) < 0.01
    assert abs(float(x.var()) - 0.125 * (1 - np.exp(-2))) < 0.01
