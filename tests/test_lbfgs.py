"""physml's L-BFGS: the compact inverse-Hessian product, and the same path as torch's."""

import pytest
import torch

from physml._lbfgs import LBFGS, CompactMemory
from physml._trainer import minimize


def two_loop(pairs, gamma, q):
    """The textbook two-loop recursion (what torch.optim.LBFGS computes)."""
    q = q.clone()
    alphas = []
    for s, y in reversed(pairs):
        alpha = s.dot(q) / y.dot(s)
        q -= alpha * y
        alphas.append(alpha)
    r = gamma * q
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        beta = y.dot(r) / y.dot(s)
        r += (alpha - beta) * s
    return r


@pytest.mark.parametrize("size, n_pairs", [(5, 3), (5, 5), (5, 12)])
def test_compact_product_equals_two_loop(size, n_pairs):
    # More pairs than slots wraps the ring buffer: only the last `size` pairs count.
    g = torch.Generator().manual_seed(0)
    n = 40
    A = torch.randn(n, n, generator=g, dtype=torch.float64)
    A = A @ A.t() + n * torch.eye(n, dtype=torch.float64)   # SPD: y's > 0
    memory = CompactMemory(size, n, torch.float64, torch.device("cpu"))
    pairs = []
    for _ in range(n_pairs):
        s = torch.randn(n, generator=g, dtype=torch.float64)
        y = A @ s
        memory.push(s, y, float(y.dot(s)))
        pairs.append((s, y))
    q = torch.randn(n, generator=g, dtype=torch.float64)
    gamma = float(pairs[-1][1].dot(pairs[-1][0]) / pairs[-1][1].dot(pairs[-1][1]))
    expected = two_loop(pairs[-size:], gamma, q)
    torch.testing.assert_close(memory.apply(q), expected, rtol=1e-10, atol=1e-12)


def rosenbrock_problem():
    x = torch.tensor([-1.2, 1.0, -0.5, 0.8], dtype=torch.float64, requires_grad=True)

    def closure():
        x.grad = None
        loss = (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        loss.backward()
        return loss

    return x, closure


def test_same_path_as_torch_lbfgs():
    x_ours, closure_ours = rosenbrock_problem()
    ours = LBFGS([x_ours], closure_ours, history_size=5, tolerance_grad=0.0,
                 tolerance_change=0.0, max_ls=24)
    x_torch, closure_torch = rosenbrock_problem()
    theirs = torch.optim.LBFGS([x_torch], lr=1.0, max_iter=1, max_eval=25,
                               history_size=5,
                               tolerance_grad=0.0, tolerance_change=0.0,
                               line_search_fn="strong_wolfe")
    # (torch's step re-evaluates the loss first; its line search then gets 25 - 1 tries)
    for _ in range(25):
        ours.step()
        theirs.step(closure_torch)
        torch.testing.assert_close(x_ours.detach(), x_torch.detach(), rtol=1e-9, atol=1e-12)


def test_minimize_converges_and_stops_on_tolerance():
    x, closure = rosenbrock_problem()

    def loss_terms():
        return {"f": (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()}

    report = minimize(loss_terms, [x], optimizer="lbfgs", max_iter=500, tol=1e-12,
                      history_size=10)
    torch.testing.assert_close(x.detach(), torch.ones(4, dtype=torch.float64), atol=1e-6,
                               rtol=0)
    assert report["n_iter"] < 500  # a tolerance ended it, not the budget
    assert report["stopped"] is None


def test_starting_at_the_minimum_takes_no_iteration():
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    report = minimize(lambda: {"f": ((x - 1) ** 2).sum()}, [x], optimizer="lbfgs",
                      max_iter=10, tol=1e-7)
    assert report["n_iter"] == 0 and report["n_eval"] == 1
