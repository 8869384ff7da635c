"""The equation interface: systems, ODEs, steady problems in any dimension, Neumann ends,
partial observations, hard constraints, nested coefficients, bad input (CI-sized)."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV

from physml import PINNRegressor
from physml.metrics import relative_l2_error
from physml.pde import CustomPDE
from physml.pde._base import parse_derivative
from physml.pde.reference import method_of_lines
from physml.strategies import Curriculum, Standard, TimeMarching

FAST = dict(hidden_layer_sizes=(16, 16), n_collocation=200, n_boundary=20, random_state=0)


def decay_residual(X, y, d, c):
    """y1' = -k y1, y2' = y1 - y2 (a linear ODE system with a closed form)."""
    return d["a_t"] + c["k"] * y[:, 0], d["b_t"] - y[:, 0] + y[:, 1]


def decay_solution(t, k=2.0):
    a = np.exp(-k * t)
    b = (np.exp(-k * t) - np.exp(-t)) / (1 - k)  # b(0) = 0
    return np.column_stack([a, b])


def decay_pde(k=2.0):
    return CustomPDE(decay_residual, coordinates=("t",), outputs=("a", "b"),
                     derivatives=("a_t", "b_t"), domain=((0.0, 2.0),), boundary=None,
                     initial_condition=(1.0, 0.0), coefficients={"k": k},
                     positive_coefficients=("k",))


def poisson_residual(X, u, d, c):
    source = 2 * np.pi ** 2 * torch.sin(np.pi * X[:, 0]) * torch.sin(np.pi * X[:, 1])
    return -(d["u_xx"] + d["u_yy"]) - source


def heat_residual(X, u, d, c):
    return d["u_t"] - c["kappa"] * d["u_xx"]


def cosine(x):
    return np.cos(np.pi * x)


def mixed_residual(X, u, d, c):
    return d["u_t"] + d["u_xt"] + d["u_xxx"] - d["v_x"], d["v_t"] - d["u_xx"]


def hard_initial(X, u):
    return torch.sin(X[:, 0]) + X[:, 1] * u


def test_derivative_names_parse_outputs_and_coordinates():
    assert parse_derivative("u_xx", ("x", "t")) == (0, (0, 0))
    assert parse_derivative("y2_t", ("t",), ("y1", "y2")) == (1, (0,))
    assert parse_derivative("v_xyt", ("x", "y", "t"), ("u", "v")) == (1, (0, 1, 2))
    assert parse_derivative("u_x1x2", ("x1", "x2")) == (0, (0, 1))
    with pytest.raises(ValueError, match="'w'"):
        parse_derivative("w_x", ("x", "t"), ("u", "v"))
    with pytest.raises(ValueError, match="coordinates"):
        parse_derivative("u_z", ("x", "t"))


def test_geometry_of_steady_ode_and_multi_dimensional_problems():
    ode = decay_pde()
    X0, y0 = ode.initial_data()
    assert X0.shape == (1, 1) and y0.shape == (1, 2) and np.allclose(y0, [[1.0, 0.0]])
    steady = CustomPDE(poisson_residual, coordinates=("x", "y"),
                       derivatives=("u_xx", "u_yy"), domain=((0, 1), (0, 1)),
                       boundary="dirichlet")
    assert steady.time_index is None
    with pytest.raises(ValueError, match="steady"):
        steady.initial_data()
    Xb, ub = steady.boundary_data(400)
    on_edge = np.isclose(Xb, 0) | np.isclose(Xb, 1)
    assert on_edge.any(1).all() and ub.shape == (Xb.shape[0],) and len(Xb) >= 400
    mixed = CustomPDE(heat_residual, coordinates=("x", "y", "t"), derivatives=("u_t",),
                      domain=((0, 1), (0, 2), (0, 1)),
                      boundary={"x": "periodic", "y": "neumann"},
                      initial_condition=lambda xy: xy[:, 0] + xy[:, 1])
    X0, u0 = mixed.initial_data(100)
    assert X0.shape == (100, 3) and np.all(X0[:, 2] == 0) and np.allclose(u0, X0[:, 0] + X0[:, 1])
    assert mixed.boundary_kinds() == {0: "periodic", 1: "neumann"}
    assert mixed.grid(5, 3).shape == (75, 3)


def test_an_ode_system_is_fitted_and_its_coefficient_learned():
    pde = decay_pde(k=1.0)  # the guess; the data come from k = 2
    t = np.linspace(0, 2, 15)
    est = PINNRegressor(pde=pde, learn_coefficients=("k",), max_iter=300, **FAST)
    est.fit(t[:, None], decay_solution(t))
    assert est.predict(t[:, None]).shape == (15, 2)
    assert abs(est.coefficients_["k"] - 2.0) < 0.05
    assert len(est.history_["k"]) == len(est.history_["loss"])
    assert est.score(t[:, None], decay_solution(t)) > 0.99


def test_unobserved_outputs_are_nan_and_take_no_part_in_the_data_loss():
    pde = decay_pde(k=2.0)
    t = np.linspace(0, 2, 15)
    y = decay_solution(t)
    y[1:, 1] = np.nan  # b observed at t = 0 only: the equation must carry it
    est = PINNRegressor(pde=pde, max_iter=300, **FAST).fit(t[:, None], y)
    t_test = np.linspace(0, 2, 50)
    predicted = est.predict(t_test[:, None])[:, 1]
    assert relative_l2_error(decay_solution(t_test)[:, 1], predicted) < 0.05
    with pytest.raises(ValueError, match="infinity"):
        PINNRegressor(pde=pde, max_iter=1).fit(t[:, None], np.where(np.isnan(y), np.inf, y))


def test_a_steady_2d_problem_from_boundary_data():
    pde = CustomPDE(poisson_residual, coordinates=("x", "y"), derivatives=("u_xx", "u_yy"),
                    domain=((0.0, 1.0), (0.0, 1.0)), boundary="dirichlet")
    Xb, ub = pde.boundary_data(100)
    est = PINNRegressor(pde=pde, max_iter=400, **{**FAST, "n_collocation": 400}).fit(Xb, ub)
    X = pde.grid(21)
    exact = np.sin(np.pi * X[:, 0]) * np.sin(np.pi * X[:, 1])
    assert relative_l2_error(exact, est.predict(X)) < 0.1


def test_neumann_ends_hold_the_normal_derivative():
    pde = CustomPDE(heat_residual, derivatives=("u_t", "u_xx"), domain=((0.0, 1.0), (0.0, 1.0)),
                    boundary="neumann", initial_condition=cosine, coefficients={"kappa": 0.1})
    X0, u0 = pde.initial_data(64)
    est = PINNRegressor(pde=pde, max_iter=300, **FAST).fit(X0, u0)
    X = pde.grid(21, 11)
    exact = np.exp(-0.1 * np.pi ** 2 * X[:, 1]) * np.cos(np.pi * X[:, 0])
    assert relative_l2_error(exact, est.predict(X)) < 0.05
    # with a Dirichlet zero instead, the solution is a different one
    dirichlet = PINNRegressor(pde=clone(pde).set_params(boundary="dirichlet"), max_iter=300,
                              **FAST).fit(X0, u0)
    assert relative_l2_error(exact, dirichlet.predict(X)) > 0.2


@pytest.mark.parametrize("transform", [None, hard_initial])
def test_fast_derivatives_of_systems_match_autograd(transform, monkeypatch):
    """Several outputs, first and pure second derivatives, rescaled inputs and outputs
    (and through an output transform): the jets' loss and gradient are autograd's."""
    def residual(X, u, d, c):
        return d["u_t"] - d["u_xx"] * u[:, 1], d["v_t"] + d["v_x"] - d["v_yy"]

    pde = CustomPDE(residual, coordinates=("x", "y", "t"), outputs=("u", "v"),
                    derivatives=("u_t", "u_xx", "v_t", "v_x", "v_yy"),
                    domain=((0, 1), (0, 8), (0, 1)), boundary={"x": "periodic", "y": "neumann"},
                    initial_condition=lambda xy: np.column_stack([xy[:, 0], 20 * xy[:, 1]]))
    if transform is not None:
        def transform(X, u):
            return torch.sin(X[:, :1]) + X[:, 2:3] * u

    X0, y0 = pde.initial_data(25)
    results = []
    for fast in (True, False):
        if not fast:
            monkeypatch.setattr("physml._problem.derivative_plan", lambda indices: None)
        est = PINNRegressor(pde=pde, dtype="float64", max_iter=0, warmup_iter=0,
                            output_transform=transform, strategy=Standard(early_dtype=None),
                            **FAST).fit(X0, y0)
        problem = est._problem(pde, X0, y0, est._training_settings(Standard()))
        # y reaches 8 (inputs mapped onto [-1, 1]) and the outputs 160 (rescaled)
        assert problem.network.inverse_width.tolist() == [2.0, 0.25, 2.0]
        assert problem.network.scale[1] > 10  # the spread of 20 y on [0, 8]
        terms = problem.loss(pde, pde.domain, problem.X_obs, problem.y_obs, 50)
        loss = sum(terms().values())
        loss.backward()
        grad = torch.cat([p.grad.ravel() for p in problem.network.parameters()])
        results.append((float(loss.detach()), grad))
    assert results[0][0] == pytest.approx(results[1][0], rel=1e-10)
    torch.testing.assert_close(results[0][1], results[1][1], rtol=1e-8, atol=1e-10)


def test_mixed_and_third_order_derivatives_of_systems_take_autograd():
    pde = CustomPDE(mixed_residual, outputs=("u", "v"),
                    derivatives=("u_t", "u_xt", "u_xxx", "v_x", "v_t", "u_xx"),
                    initial_condition=lambda x: np.column_stack([np.sin(x), np.cos(x)]))
    X0, y0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, max_iter=5, **FAST).fit(X0, y0)
    assert np.isfinite(est.history_["loss"]).all() and est.predict(X0).shape == (32, 2)


def advection_residual(X, u, d, c):
    return d["u_t"] + d["u_x"]


def test_output_transform_is_a_hard_constraint_and_pickles():
    pde = CustomPDE(advection_residual, derivatives=("u_t", "u_x"), initial_condition=np.sin)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, output_transform=hard_initial, max_iter=200, **FAST)
    est.fit(X0[:1], u0[:1])  # one observation: the transform holds the initial data
    np.testing.assert_allclose(est.predict(X0), u0, atol=1e-12)
    X = pde.grid(32, 8)
    assert relative_l2_error(np.sin(X[:, 0] - X[:, 1]), est.predict(X)) < 0.05
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_allclose(again.predict(X), est.predict(X))
    with pytest.raises(TypeError, match="output_transform"):
        PINNRegressor(pde=pde, output_transform="exact").fit(X0, u0)


def test_custom_coefficients_are_nested_parameters_for_a_grid_search():
    pde = decay_pde(k=1.0)
    t = np.linspace(0, 2, 10)
    est = PINNRegressor(pde=pde, max_iter=30, **FAST)
    assert est.get_params()["pde__k"] == 1.0
    search = GridSearchCV(est, {"pde__k": [0.5, 2.0]}, cv=2).fit(t[:, None], decay_solution(t))
    assert search.best_params_ == {"pde__k": 2.0}
    assert clone(est).set_params(pde__k=3.0).pde.coefficients == {"k": 3.0}
    assert pde.coefficients == {"k": 1.0}  # the original is untouched


def test_every_strategy_runs_on_a_system_or_says_why_not():
    pde = decay_pde(k=2.0)
    t = np.linspace(0, 2, 9)
    y = decay_solution(t)
    marched = PINNRegressor(pde=pde, strategy=TimeMarching(dt=1.0), max_iter=20, **FAST)
    marched.fit(t[:, None], y)
    assert marched.time_blocks_ == [(0.0, 1.0), (1.0, 2.0)]
    assert marched.predict(t[:, None]).shape == (9, 2)
    curriculum = PINNRegressor(pde=pde, strategy=Curriculum(coefficient="k", start=0.5,
                                                           step=1.0), max_iter=10, **FAST)
    curriculum.fit(t[:, None], y)
    assert [s["coefficients"]["k"] for s in curriculum.stages_] == [0.5, 1.0, 2.0]
    steady = CustomPDE(poisson_residual, coordinates=("x", "y"), derivatives=("u_xx", "u_yy"),
                       domain=((0, 1), (0, 1)), boundary="dirichlet")
    Xb, ub = steady.boundary_data(40)
    est = PINNRegressor(pde=steady, strategy="seq2seq", max_iter=5, **FAST)
    with pytest.raises(ValueError, match="steady"):
        est.fit(Xb, ub)
    assert not hasattr(est, "history_")


def test_bad_statements_raise_before_training():
    t = np.linspace(0, 2, 5)[:, None]
    y = decay_solution(t[:, 0])

    def one_equation(X, y, d, c):
        return decay_residual(X, y, d, c)[0]

    def wrong_shape(X, y, d, c):
        return tuple(r[:, None] for r in decay_residual(X, y, d, c))

    bad = [(clone(decay_pde()).set_params(residual=one_equation), y, "equation"),
           (clone(decay_pde()).set_params(residual=wrong_shape), y, "shape"),
           (clone(decay_pde()).set_params(derivatives=("c_t",)), y, "'c'"),
           (clone(decay_pde()).set_params(derivatives=("a_x",)), y, "coordinates"),
           (decay_pde(), y[:, :1], "column"),
           (clone(decay_pde()).set_params(boundary="robin"), y, "robin"),
           (clone(decay_pde()).set_params(domain=((0, 1), (0, 1))), y, "domain")]
    for pde, target, word in bad:
        est = PINNRegressor(pde=pde, max_iter=5, **FAST)
        with pytest.raises(ValueError, match=word):
            est.fit(t, target)
        assert not hasattr(est, "history_")
    with pytest.raises(ValueError, match="initial_condition"):
        clone(decay_pde()).set_params(initial_condition=(1.0, 2.0, 3.0)).initial_data()


def test_method_of_lines_converges_at_second_order():
    def reaction(u):
        rate = 0.1 * u[0] * u[1] ** 2
        return np.stack([-rate, -2 * rate])

    X = np.column_stack([np.tile(np.linspace(0, 1, 11), 2), np.repeat([2.0, 10.0], 11)])
    solve = [method_of_lines([2e-3, 2e-3], reaction,
                             lambda x: np.stack([np.exp(-20 * x)] * 2), X, x_range=(0, 1),
                             left=[1, 1], right=[0, 0], n_x=n) for n in (101, 201, 401)]
    coarse, fine = np.abs(solve[0] - solve[1]).max(), np.abs(solve[1] - solve[2]).max()
    assert 3.0 < coarse / fine < 5.0 and fine < 1e-4


def test_ctrl_c_while_an_inverse_fit_starts_from_the_data_stops_the_fit(monkeypatch):
    from physml._loss import PINNLoss

    real, calls = PINNLoss.__call__, {"n": 0}

    def interrupting(loss):
        if [term.name for term in loss.terms] == ["data"]:  # the observations' fit
            calls["n"] += 1
            if calls["n"] == 5:
                raise KeyboardInterrupt
        return real(loss)

    monkeypatch.setattr(PINNLoss, "__call__", interrupting)
    t = np.linspace(0, 2, 9)
    est = PINNRegressor(pde=decay_pde(k=1.0), learn_coefficients=("k",), max_iter=50, **FAST)
    with pytest.warns(RuntimeWarning, match="KeyboardInterrupt"):
        est.fit(t[:, None], decay_solution(t))
    assert est.stopped_ == "interrupted" and len(est.history_["loss"]) == 4
    assert est.coefficients_["k"] == 1.0  # the coefficient phase never ran
    assert all(len(v) == 4 for v in est.history_.values())
    assert np.isfinite(est.predict(t[:, None])).all()
