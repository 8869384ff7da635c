"""ODENetForecaster, the convergence test and the check_continuity scorer."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from physml import ODENetForecaster
from physml.datasets import make_harmonic_oscillator, make_lotka_volterra, make_pendulum
from physml.diagnostics import convergence_test, default_steps
from physml.metrics import check_continuity
from physml.odenet import KnownVectorField


def oscillator_field(x):
    return x.flip(-1) * x.new_tensor([1.0, -1.0])


@pytest.fixture(scope="module")
def oscillator():
    X, t = make_harmonic_oscillator(n_trajectories=8, n_timepoints=41, dt=0.5, random_state=0)
    X_test, _ = make_harmonic_oscillator(n_trajectories=2, n_timepoints=21, dt=0.5,
                                         random_state=1)
    return X, X_test


@pytest.fixture(scope="module")
def trained(oscillator):
    X, _ = oscillator
    return {name: ODENetForecaster(integrator=name, dt=0.5, max_iter=1500, learning_rate=3e-3,
                                   random_state=0).fit(X)
            for name in ("euler", "rk4")}


def test_the_exact_field_with_rk4_converges_at_fourth_order(oscillator):
    _, X_test = oscillator
    result = convergence_test(KnownVectorField(oscillator_field, 2, dt=0.5), X_test)
    assert result.order == pytest.approx(4, abs=0.2)
    assert result.data_order == pytest.approx(4, abs=0.2)
    assert np.all(np.diff(result.errors) < 0)


def test_rk4_net_learns_the_field_and_euler_net_learns_a_map(oscillator, trained):
    # Queiruga et al. (2020): at equal training loss, only the RK4-trained net stays
    # accurate when integrated with finer steps than it was trained with.
    _, X_test = oscillator
    rk4 = convergence_test(trained["rk4"], X_test)
    euler = convergence_test(trained["euler"], X_test)
    at_dt = rk4.steps == 0.5
    assert np.all(rk4.errors[rk4.steps < 0.5] < 2 * rk4.errors[at_dt])
    assert euler.errors[-1] > 3 * euler.errors[euler.steps == 0.5]
    assert check_continuity(trained["rk4"], X_test) > check_continuity(trained["euler"], X_test)


def test_grid_search_over_integrator_selects_a_continuous_model(oscillator):
    X, _ = oscillator
    search = GridSearchCV(
        ODENetForecaster(dt=0.5, max_iter=600, learning_rate=3e-3, random_state=0),
        {"integrator": ["euler", "rk4"]}, scoring=check_continuity, cv=2,
    ).fit(X)
    assert search.best_params_ == {"integrator": "rk4"}


def test_forecast_predict_and_vector_field_agree(trained, oscillator):
    X, _ = oscillator
    est = trained["rk4"]
    one_step = est.forecast(X[:, 0], [0.5])[:, 0]
    np.testing.assert_allclose(one_step, est.predict(X[:, 0]), rtol=1e-12)
    # forecast with another scheme and step, and a single state
    path = est.forecast(X[0, 0], np.linspace(0, 2, 5), step=0.01, integrator="midpoint")
    assert path.shape == (5, 2) and np.allclose(path[0], X[0, 0])
    G = est.vector_field(X[0, :5])
    np.testing.assert_allclose(G, np.stack([X[0, :5, 1], -X[0, :5, 0]], 1), atol=0.2)
    assert 0.99 < est.score(X) <= 1


def test_multi_step_rollout_loss(oscillator):
    X, _ = oscillator
    est = ODENetForecaster(integrator="euler", dt=0.5, max_iter=20, rollout_steps=3,
                           random_state=0).fit(X[:, :10])
    assert set(est.history_) == {"loss", "rollout", "optimizer"}


def test_deterministic_clone_and_pickle(oscillator):
    X, _ = oscillator
    a = ODENetForecaster(dt=0.5, max_iter=30, random_state=3).fit(X)
    b = ODENetForecaster(dt=0.5, max_iter=30, random_state=3).fit(X)
    np.testing.assert_array_equal(a.predict(X[0]), b.predict(X[0]))
    assert not hasattr(clone(a), "network_")
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(a)).predict(X[0]), a.predict(X[0]))


def test_errors_name_the_problem(oscillator):
    X, _ = oscillator
    with pytest.raises(ValueError, match="'integrator' parameter .* Got 'leapfrog'"):
        ODENetForecaster(integrator="leapfrog").fit(X)
    with pytest.raises(ValueError, match="dt"):
        ODENetForecaster(dt=-1.0).fit(X)
    with pytest.raises(ValueError, match="4 dimensions"):
        ODENetForecaster().fit(X[None])
    with pytest.raises(NotFittedError):
        ODENetForecaster().predict(X[0])
    est = ODENetForecaster(max_iter=1).fit(X)
    with pytest.raises(ValueError, match="step"):
        est.forecast(X[0, 0], [1.0], step=0)
    with pytest.raises(ValueError, match="non-decreasing"):
        est.forecast(X[0, 0], [1.0, 0.5])
    with pytest.raises(ValueError, match="features"):
        est.forecast([1.0, 2.0, 3.0], [1.0])
    with pytest.raises(ValueError, match="training step"):
        check_continuity(est, X, steps=[0.3, 0.1])


def pendulum_field(x):
    return torch.stack([x[:, 1], -torch.sin(x[:, 0])], 1)


def test_datasets_are_exact():
    X, t = make_harmonic_oscillator(n_trajectories=3, n_timepoints=11, dt=0.3, random_state=0)
    energy = (X ** 2).sum(-1)
    np.testing.assert_allclose(energy, energy[:, :1].repeat(11, 1), rtol=1e-13)
    P, _ = make_pendulum(n_trajectories=3, random_state=0)
    pendulum_energy = 0.5 * P[..., 1] ** 2 - np.cos(P[..., 0])
    np.testing.assert_allclose(pendulum_energy.std(axis=1), 0, atol=1e-12)
    # The elliptic-function solution is the flow of theta'' = -sin(theta).
    path = KnownVectorField(pendulum_field, 2, dt=0.5).forecast(P[0, 0], [2.0], step=1e-3)
    np.testing.assert_allclose(path[0], P[0, 4], atol=1e-9)
    # Lotka-Volterra conserves delta x - gamma ln x + beta y - alpha ln y.
    L, _ = make_lotka_volterra(n_trajectories=2, random_state=0)
    x, y = L[..., 0], L[..., 1]
    invariant = x - np.log(x) + (4 / 3) * y - (2 / 3) * np.log(y)
    np.testing.assert_allclose(invariant.std(axis=1), 0, atol=1e-10)
    assert default_steps(0.5)[1] == 0.5
