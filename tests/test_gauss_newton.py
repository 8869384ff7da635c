"""Levenberg-Marquardt, Causal's final phase: its rows are the loss the other optimizers
minimize, its Jacobian is their derivative, its steps lower the loss, it stops cleanly,
and the strategy picks it (and its network) only where it pays."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from physml import PINNRegressor
from physml._constraints import ChebyshevSeries
from physml._gauss_newton import GaussNewtonLoss, RowModel, levenberg_marquardt
from physml.pde import Burgers, Convection, CustomPDE
from physml.strategies import LM_MAX_WEIGHTS, Causal, Standard

TINY = dict(hidden_layer_sizes=(10, 10), n_collocation=120, n_boundary=16, max_iter=40,
            random_state=0)


def _heat(X, u, d, c):
    return d["u_t"] - c["k"] * d["u_xx"]


def heat_neumann():
    """u_t = k u_xx on [0, 1] with u_x = 0 at both ends: a Neumann face on each side."""
    return CustomPDE(_heat, coordinates=("x", "t"), derivatives=("u_t", "u_xx"),
                     domain=((0.0, 1.0), (0.0, 0.5)),
                     boundary="neumann",
                     initial_condition=lambda x: np.cos(np.pi * x), coefficients={"k": 0.1})


def problem_and_loss(pde, y_nan=False, **params):
    """A fitted estimator's problem, its loss terms on fixed points, and the Gauss-Newton
    rows on the same points."""
    X0, u0 = pde.initial_data(24)
    if y_nan:
        u0 = u0.astype(float).copy()
        u0[::3] = np.nan
    est = PINNRegressor(pde=pde, **{**TINY, **params})
    est.fit(X0, u0)
    strategy = Standard()
    settings = est._training_settings(strategy)
    problem = est._problem(pde, X0, u0, settings)
    problem.use_dtype(torch.float64)
    domain = tuple(pde.domain)
    X_obs, y_obs = problem.X_obs, problem.y_obs
    terms = problem.loss_terms(pde, domain, X_obs, y_obs, 64)()
    faces = problem.boundary_faces(pde, domain)
    names, slopes = problem._derivative_names(pde, faces)
    model = RowModel(problem, pde, names, slopes)
    loss = GaussNewtonLoss(model, problem.config.residual_weight,
                           [(c, s, k, X.double(), None if g is None else g.double())
                            for c, s, k, X, g in faces], X_obs, y_obs)
    loss.collocation = problem.collocation_points(domain, 64)
    return problem, model, loss, terms


@pytest.mark.parametrize("pde, params", [
    (Convection(beta=3.0), {}),                      # periodic faces
    (Burgers(), {}),                                 # Dirichlet faces, second order
    (heat_neumann(), {}),                            # Neumann faces
    (Convection(beta=3.0), {"constraints": "exact"}),  # no faces, u0 built in
    (Burgers(), {"constraints": "exact", "y_nan": True}),  # observations with gaps
], ids=["periodic", "dirichlet", "neumann", "exact", "exact-nan"])
def test_rows_square_to_the_loss_the_other_optimizers_minimize(pde, params):
    _, model, loss, terms = problem_and_loss(pde, **params)
    params_ = tuple(p.detach() for p in model.parameters())
    rows, row_terms = loss.rows(params_)
    for name, value in terms.items():
        assert row_terms[name] == pytest.approx(float(value.detach()), rel=1e-9, abs=1e-14), name
    total = sum(float(v.detach()) for v in terms.values())
    assert float(rows.square().sum()) == pytest.approx(total, rel=1e-9)


def test_the_jacobian_is_the_derivative_of_the_rows():
    _, model, loss, _ = problem_and_loss(Burgers())
    params = tuple(p.detach() for p in model.parameters())
    rows, J, _ = loss.jacobian(params)
    torch.manual_seed(0)
    v = torch.randn(J.shape[1], dtype=torch.float64)
    sizes = [p.numel() for p in params]
    step = [part.reshape(p.shape) for part, p in zip(torch.split(v, sizes), params)]
    eps = 1e-6
    plus, _ = loss.rows(tuple(p + eps * s for p, s in zip(params, step)))
    minus, _ = loss.rows(tuple(p - eps * s for p, s in zip(params, step)))
    np.testing.assert_allclose((J @ v).numpy(), ((plus - minus) / (2 * eps)).numpy(),
                               rtol=1e-5, atol=1e-7)
    assert torch.equal(rows, loss.rows(params)[0])


def test_each_step_lowers_the_loss_on_its_points_and_is_recorded():
    problem, model, loss, _ = problem_and_loss(Convection(beta=3.0), constraints="exact")
    points = problem.collocation_points(tuple(Convection(beta=3.0).domain), 64)
    before = float(loss.rows(tuple(p.detach() for p in model.parameters()))[0].square().sum())
    history = {}
    report = levenberg_marquardt(loss, model.parameters(), lambda: points, max_iter=5,
                                 history=history)
    after = float(loss.rows(tuple(p.detach() for p in model.parameters()))[0].square().sum())
    assert report["n_iter"] == 5 and report["stopped"] is None
    assert after < 0.5 * before  # Gauss-Newton on fixed points: a large drop in 5 steps
    assert np.all(np.diff(history["loss"]) < 0)
    assert history["optimizer"] == ["lm"] * 5
    assert len(history["residual"]) == len(history["loss"])


def test_interrupt_and_divergence_keep_the_last_step_taken():
    problem, model, loss, _ = problem_and_loss(Convection(beta=3.0), constraints="exact")
    points = problem.collocation_points(tuple(Convection(beta=3.0).domain), 64)
    calls = {"n": 0}
    rows = loss.rows

    def interrupted(params):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return rows(params)

    loss.rows = interrupted
    with pytest.warns(RuntimeWarning, match="KeyboardInterrupt"):
        report = levenberg_marquardt(loss, model.parameters(), lambda: points, max_iter=5)
    assert report["stopped"] == "interrupted"
    assert all(torch.isfinite(p).all() for p in model.parameters())
    saved = [p.detach().clone() for p in model.parameters()]
    jacobian = loss.jacobian
    loss.rows = rows
    loss.jacobian = lambda params: tuple(
        x * float("nan") if i == 0 else x for i, x in enumerate(jacobian(params)))
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        report = levenberg_marquardt(loss, model.parameters(), lambda: points, max_iter=5)
    assert report["stopped"] == "diverged"
    assert all(torch.equal(a, b) for a, b in zip(saved, model.parameters()))


def test_causal_finishes_with_levenberg_marquardt_on_a_small_network():
    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(32)
    # max_iter a tenth of the strategy's 2000: one final step of the ten asked for
    est = PINNRegressor(pde=pde, strategy=Causal(final_iter=10), constraints="exact",
                        n_collocation=150, max_iter=200, random_state=0).fit(X0, u0)
    final = est.stages_[-1]
    assert final["optimizer"] == "lm" and final["n_iter"] == 1
    assert est.stages_[0]["hidden_layer_sizes"] == (30, 30, 30)  # the strategy's network
    assert est.history_["optimizer"][-1] == "lm"
    # the same seed gives the same bits; the fitted estimator pickles
    again = clone(est).fit(X0, u0)
    X = pde.grid(16, 8)
    np.testing.assert_array_equal(est.predict(X), again.predict(X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(est)).predict(X), est.predict(X))


def test_final_optimizer_auto_takes_lbfgs_for_large_networks():
    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(16)
    width = int(np.sqrt(LM_MAX_WEIGHTS)) + 10  # two hidden layers: more weights than that
    est = PINNRegressor(pde=pde, strategy=Causal(final_iter=2, n_chunks=4),
                        hidden_layer_sizes=(width, width), n_collocation=64, max_iter=10,
                        constraints="exact", random_state=0).fit(X0, u0)
    assert est.stages_[-1]["optimizer"] == "lbfgs"
    est = PINNRegressor(pde=pde, strategy=Causal(final_iter=200, final_optimizer="lbfgs"),
                        n_collocation=64, max_iter=10, constraints="exact",
                        random_state=0).fit(X0, u0)
    assert est.stages_[-1]["optimizer"] == "lbfgs"


def test_hidden_layer_sizes_auto_is_the_strategys_and_an_explicit_value_wins():
    pde = Convection(beta=2.0)
    X0, u0 = pde.initial_data(16)
    small = dict(max_iter=4, n_collocation=32, random_state=0)
    standard = PINNRegressor(pde=pde, **small).fit(X0, u0)
    assert [m.out_features for m in standard.network_.modules()
            if isinstance(m, torch.nn.Linear)][:-1] == [50, 50, 50, 50]
    causal = PINNRegressor(pde=pde, strategy="causal", **small).fit(X0, u0)
    assert causal.stages_[-1]["hidden_layer_sizes"] == (30, 30, 30)
    mine = PINNRegressor(pde=pde, strategy="causal", hidden_layer_sizes=(7,), **small)
    assert mine.fit(X0, u0).stages_[0]["hidden_layer_sizes"] == (7,)
    with pytest.raises(ValueError, match="hidden_layer_sizes"):
        PINNRegressor(pde=pde, hidden_layer_sizes="big", **small).fit(X0, u0)


def test_chebyshev_initial_condition_differentiates_under_torch_func():
    series = ChebyshevSeries(lambda x: np.exp(-(x - np.pi) ** 2), 0.0, 2 * np.pi, 1)
    x = torch.linspace(0.0, 2 * np.pi, 9, dtype=torch.float64)

    def f(z):
        return series(z[None])[0, 0]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        for order, transform in enumerate([f, torch.func.jacfwd(f),
                                           torch.func.jacfwd(torch.func.jacfwd(f))]):
            np.testing.assert_allclose(torch.func.vmap(transform)(x).numpy(),
                                       series.evaluate(x, order)[:, 0].numpy(),
                                       rtol=1e-8, atol=1e-9)
