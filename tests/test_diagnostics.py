"""Loss landscapes (Li et al. 2018) around fitted parameters."""

import numpy as np
import pytest
import torch

from physml import PINNRegressor
from physml.diagnostics import loss_landscape
from physml.pde import Convection, Reaction


def test_a_quadratic_bowl_gives_the_expected_landscape():
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 2))
    center = [p.detach().clone() for p in module.parameters()]

    def bowl():
        return sum((p - c).square().sum() for p, c in zip(module.parameters(), center))

    land = loss_landscape(module, loss=bowl, span=2.0, n_points=9, random_state=3)
    a = land.alphas[:, None]
    b = land.betas[None, :]
    # Filter normalization gives each direction the norm of the weights (biases excluded),
    # so along each axis the bowl is a^2 * ||W||^2; the whole grid is a quadratic form.
    weight_norm2 = sum(float(p.detach().square().sum()) for p in module.parameters() if p.dim() > 1)
    np.testing.assert_allclose(land.losses[:, 4], land.alphas ** 2 * weight_norm2, rtol=1e-5)
    np.testing.assert_allclose(land.losses[4, :], land.betas ** 2 * weight_norm2, rtol=1e-5)
    cross = (land.losses[5, 5] - land.losses[5, 4] - land.losses[4, 5]) / (a[5, 0] * b[0, 5])
    expected = (a ** 2 + b ** 2) * weight_norm2 + a * b * cross
    np.testing.assert_allclose(land.losses, expected, rtol=1e-4, atol=1e-6)
    assert land.center == 0.0 and land.losses.min() == 0.0
    # The module is left as it was.
    for p, c in zip(module.parameters(), center):
        assert torch.equal(p, c)


def test_directions_are_seeded():
    module = torch.nn.Linear(3, 3)
    target = module.weight.detach().clone() + 1.0

    def loss():
        return (module.weight - target).square().sum()

    one = loss_landscape(module, loss=loss, n_points=5, random_state=1).losses
    assert np.array_equal(one, loss_landscape(module, loss=loss, n_points=5,
                                              random_state=1).losses)
    assert not np.array_equal(one, loss_landscape(module, loss=loss, n_points=5,
                                                  random_state=2).losses)


@pytest.mark.parametrize("strategy", ["standard", "seq2seq"])
def test_pinn_landscape_is_centered_on_the_training_loss(strategy):
    pde = Convection(beta=2.0) if strategy == "standard" else Reaction(rho=2.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=strategy, dtype="float64", max_iter=30,
                        hidden_layer_sizes=(8, 8), n_collocation=100, random_state=0)
    est.fit(X0, u0)
    before = est.predict(X0)
    land = loss_landscape(est, X0, u0, span=0.5, n_points=5)
    assert land.losses[2, 2] == pytest.approx(land.center)
    if strategy == "standard":
        # The same loss the fit minimized, at the parameters it kept.
        assert land.center == pytest.approx(min(est.history_["loss"]), rel=1e-8)
    assert land.losses.max() > land.center
    np.testing.assert_array_equal(est.predict(X0), before)


def test_landscape_input_errors():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        loss_landscape(PINNRegressor(pde=Convection()), np.zeros((2, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="loss"):
        loss_landscape(torch.nn.Linear(2, 2))
    with pytest.raises(ValueError, match="n_points"):
        loss_landscape(torch.nn.Linear(2, 2), loss=lambda: torch.zeros(()), n_points=1)
