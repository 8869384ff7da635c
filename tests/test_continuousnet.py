"""ContinuousNetClassifier: basis functions of depth, refinement, projection, integration."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError

from physml import ContinuousNetClassifier
from physml.continuousnet import basis_values, projection_matrix
from physml.metrics import check_continuity


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:500], y[:500], X[500:700], y[500:700]


def small(**kw):
    params = dict(image_shape=(1, 8, 8), n_basis=4, n_steps=2, channels=4, max_iter=2,
                  random_state=0)
    params.update(kw)
    return ContinuousNetClassifier(**params)


@pytest.mark.parametrize("basis, n", [("piecewise_constant", 3), ("piecewise_linear", 4)])
def test_basis_functions_partition_unity(basis, n):
    t = np.linspace(0, 1, 101)
    phi = basis_values(basis, n, t)
    np.testing.assert_allclose(phi.sum(1), 1.0)
    assert phi.min() >= 0


def test_hat_functions_interpolate_linearly():
    phi = basis_values("piecewise_linear", 3, [0.0, 0.25, 0.5, 1.0])
    np.testing.assert_allclose(phi, [[1, 0, 0], [0.5, 0.5, 0], [0, 1, 0], [0, 0, 1]])


@pytest.mark.parametrize("basis, n, m", [("piecewise_constant", 3, 6),
                                         ("piecewise_linear", 3, 5),
                                         ("piecewise_constant", 2, 8)])
def test_projection_onto_a_finer_space_and_back_is_exact(basis, n, m):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(n, 5))
    up = projection_matrix(basis, n, basis, m) @ theta
    t = np.linspace(0, 1, 333)
    # Refinement represents the same function of depth ...
    np.testing.assert_allclose(basis_values(basis, m, t) @ up, basis_values(basis, n, t) @ theta,
                               atol=1e-12)
    # ... and projecting back recovers the coefficients exactly.
    np.testing.assert_allclose(projection_matrix(basis, m, basis, n) @ up, theta, atol=1e-12)


def test_projection_is_the_l2_best_approximation():
    # Piecewise constant onto one piece: the mean over depth. Hat functions: the L2
    # projection of a constant function is that constant.
    P = projection_matrix("piecewise_constant", 4, "piecewise_constant", 1)
    np.testing.assert_allclose(P, [[0.25, 0.25, 0.25, 0.25]])
    P = projection_matrix("piecewise_constant", 1, "piecewise_linear", 3)
    np.testing.assert_allclose(P, [[1.0], [1.0], [1.0]], atol=1e-12)


@pytest.mark.parametrize("basis", ["piecewise_constant", "piecewise_linear"])
def test_refine_leaves_predictions_unchanged(digits, basis):
    X, y, X_test, _ = digits
    est = small(basis=basis).fit(X, y)
    before = est.predict_proba(X_test)
    n_params = est.n_parameters()
    est.refine()
    assert est.n_basis == (8 if basis == "piecewise_constant" else 7)
    np.testing.assert_allclose(est.predict_proba(X_test), before, atol=1e-5)
    assert est.n_parameters() > n_params


def test_project_back_after_refine_is_exact_and_halves_the_block(digits):
    X, y, X_test, _ = digits
    est = small(n_basis=4).fit(X, y)
    block = [p.detach().clone() for p in est.net_.module_.block.parameters()]
    before = est.predict_proba(X_test)
    est.refine().project(4)
    for p, q in zip(est.net_.module_.block.parameters(), block):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-6)
    np.testing.assert_allclose(est.predict_proba(X_test), before, atol=1e-5)
    full = sum(p.numel() for p in est.net_.module_.block.parameters())
    est.project(2)
    assert sum(p.numel() for p in est.net_.module_.block.parameters()) == full // 2
    assert est.n_basis == 2 and est.predict(X_test).shape == (200,)


def test_steps_and_integrator_change_without_retraining(digits):
    X, y, X_test, y_test = digits
    est = small(n_steps=4, integrator="rk4", max_iter=4).fit(X, y)
    p4 = est.predict_proba(X_test)
    p8 = est.set_params(n_steps=8).predict_proba(X_test)
    p_euler = est.set_params(integrator="euler").predict_proba(X_test)
    assert not np.allclose(p4, p8) and not np.allclose(p8, p_euler)
    # RK4 at 4 and 8 steps agree far better than Euler at 8 steps does with either.
    assert np.abs(p4 - p8).max() < np.abs(p_euler - p8).max()
    est.set_params(n_steps=4, integrator="rk4")
    np.testing.assert_array_equal(est.predict_proba(X_test), p4)
    with pytest.raises(ValueError, match="refine\\(\\) or project\\(\\)"):
        est.set_params(n_basis=2).predict(X_test)


def test_check_continuity_scores_a_classifier(digits):
    X, y, X_test, y_test = digits
    est = small(max_iter=3).fit(X, y)
    score = check_continuity(est, X_test, y_test)
    assert np.isfinite(score)
    assert est.n_steps == 2  # restored after the sweep
    with pytest.raises(ValueError, match="labels"):
        check_continuity(est, X_test)


def test_images_as_4d_arrays_and_any_labels(digits):
    X, y, X_test, _ = digits
    labels = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                       "eight", "nine"])
    est = small(image_shape=None).fit(X.reshape(-1, 1, 8, 8), labels[y])
    assert set(est.predict(X_test.reshape(-1, 1, 8, 8))) <= set(labels)
    assert est.net_.module_.conv
    with pytest.raises(ValueError, match="shape"):
        est.predict(X_test.reshape(-1, 1, 4, 16))


def test_pickle_clone_and_determinism(digits):
    X, y, X_test, _ = digits
    est = small().fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict_proba(X_test), est.predict_proba(X_test))
    twin = clone(est).fit(X, y)
    np.testing.assert_array_equal(twin.predict_proba(X_test), est.predict_proba(X_test))
    assert est.history_["epoch"] == [1, 2] and len(est.history_["train_loss"]) == 2


def test_bad_input_names_the_parameter(digits):
    X, y, X_test, _ = digits
    with pytest.raises(NotFittedError):
        small().predict(X_test)
    for params, match in [(dict(basis="spline"), "basis"), (dict(n_basis=0), "n_basis"),
                          (dict(basis="piecewise_linear", n_basis=1), "n_basis"),
                          (dict(integrator="rk5"), "integrator"),
                          (dict(image_shape=(1, 7, 7)), "image_shape"),
                          (dict(n_steps=0), "n_steps")]:
        with pytest.raises(ValueError, match=match):
            small(**params).fit(X, y)
    with pytest.raises(ValueError, match="NaN|infinity"):
        small().fit(np.where(X == 0, np.nan, X), y)


def test_divergence_keeps_the_best_epoch(digits):
    X, y, _, _ = digits
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        est = small(learning_rate=1e6, max_iter=5).fit(X, y)
    assert est.stopped_ == "diverged"
    # The best epoch's parameters, or the initial ones when the first epoch diverged.
    assert all(torch.isfinite(p.detach()).all() for p in est.net_.module_.parameters())


def test_early_stopping_holds_out_a_seeded_validation_split_and_stops(digits):
    X, y, _, _ = digits
    kwargs = dict(n_basis=2, n_steps=1, channels=4, max_iter=40, learning_rate=0.5,
                  early_stopping=2, validation_fraction=0.2, random_state=0)
    est = ContinuousNetClassifier(**kwargs).fit(X, y)
    assert est.n_iter_ < 40 and est.stopped_ is None
    assert len(est.history_["valid_loss"]) == est.n_iter_
    again = ContinuousNetClassifier(**kwargs).fit(X, y)
    assert again.history_["valid_loss"] == est.history_["valid_loss"]
