"""One loss definition, two evaluators: the rows Levenberg-Marquardt solves with square to
the value the first-order optimizers minimize, on every kind of term; the Jacobian is
their derivative; a term written once reaches both; Levenberg-Marquardt's steps lower
the loss, it stops cleanly, and the strategies pick it (and its network) where it pays."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone

from physml import PINNRegressor
from physml._constraints import ChebyshevSeries
from physml._loss import Term
from physml._mlp import _CAPTURE
from physml._optimizers import levenberg_marquardt
from physml.pde import Burgers, Convection, CustomPDE
from physml.strategies import LM_MAX_WEIGHTS, Causal, CausalWeights, Standard

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


def _predator_prey(X, u, d, c):
    return (d["y1_t"] - c["a"] * u[:, 0] + u[:, 0] * u[:, 1],
            d["y2_t"] + u[:, 1] - u[:, 0] * u[:, 1])


def lotka_volterra():
    """A system of two ODEs with a learned coefficient: two equations, two outputs."""
    return CustomPDE(_predator_prey, coordinates=("t",), outputs=("y1", "y2"),
                     derivatives=("y1_t", "y2_t"), domain=((0.0, 2.0),),
                     initial_condition=lambda t: np.array([1.0, 0.5]),
                     coefficients={"a": 0.8})


def problem_and_loss(pde, y_nan=False, causal=False, **params):
    """A fitted estimator's problem and its loss on fixed points (float64)."""
    X0, u0 = pde.initial_data(24)
    if y_nan:
        u0 = u0.astype(float).copy()
        u0[::3] = np.nan
    est = PINNRegressor(pde=pde, **{**TINY, **params})
    est.fit(X0, u0)
    settings = est._training_settings(Standard())
    problem = est._problem(pde, X0, u0, settings)
    problem.use_dtype(torch.float64)
    problem.sampling = "uniform"
    weights = CausalWeights(4, (1.0,), update_every=1) if causal else None
    loss = problem.loss(pde, tuple(pde.domain), problem.X_obs, problem.y_obs, 64,
                        causal=weights)
    return problem, loss


def _params(problem):
    return tuple(p.detach() for p in problem.parameters())


@pytest.mark.parametrize("pde, params", [
    (Convection(beta=3.0), {}),                      # periodic faces
    (Burgers(), {}),                                 # Dirichlet faces, second order
    (heat_neumann(), {}),                            # Neumann faces
    (Convection(beta=3.0), {"constraints": "exact"}),  # no faces, u0 built in
    (Burgers(), {"constraints": "exact", "y_nan": True}),  # observations with gaps
    (Convection(beta=3.0), {"causal": True}),        # the residual weighted in time
    (lotka_volterra(), {"learn_coefficients": ("a",)}),  # a system, a learned coefficient
    (Burgers(), {"residual_weight": 0.3}),           # a weighted residual
], ids=["periodic", "dirichlet", "neumann", "exact", "exact-nan", "causal", "system",
        "weighted"])
def test_rows_square_to_the_loss_the_other_optimizers_minimize(pde, params):
    problem, loss = problem_and_loss(pde, **params)
    terms = loss()
    rows, row_terms = loss.rows(_params(problem))
    assert set(row_terms) == set(terms)
    for name, value in terms.items():
        assert row_terms[name] == pytest.approx(float(value.detach()), rel=1e-9, abs=1e-14), name
    total = sum(float(v.detach()) for v in terms.values())
    assert float(rows.square().sum()) == pytest.approx(total, rel=1e-9)


@pytest.mark.parametrize("pde, params", [(Burgers(), {}), (Convection(beta=3.0),
                                                          {"causal": True}),
                                         (lotka_volterra(), {"learn_coefficients": ("a",)})],
                         ids=["dirichlet", "causal", "system"])
def test_the_jacobian_is_the_derivative_of_the_rows(pde, params):
    problem, loss = problem_and_loss(pde, **params)
    params_ = _params(problem)
    rows, J, _ = loss.jacobian(params_)
    torch.manual_seed(0)
    v = torch.randn(J.shape[1], dtype=torch.float64)
    sizes = [p.numel() for p in params_]
    step = [part.reshape(p.shape) for part, p in zip(torch.split(v, sizes), params_)]
    eps = 1e-6
    plus, _ = loss.rows(tuple(p + eps * s for p, s in zip(params_, step)))
    minus, _ = loss.rows(tuple(p - eps * s for p, s in zip(params_, step)))
    np.testing.assert_allclose((J @ v).numpy(), ((plus - minus) / (2 * eps)).numpy(),
                               rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(rows.numpy(), loss.rows(params_)[0].numpy(), rtol=1e-12,
                               atol=1e-15)
    # the matrix-free products agree with the formed Jacobian
    flat = torch.cat([p.reshape(-1) for p in params_])
    rows_of = loss.row_function()

    def of_flat(w):
        return rows_of(tuple(part.reshape(p.shape) for part, p in
                             zip(torch.split(w, sizes), params_)))

    _, Jv = torch.func.jvp(of_flat, (flat,), (v,))
    np.testing.assert_allclose(Jv.numpy(), (J @ v).numpy(), rtol=1e-9, atol=1e-12)


KINDS = [
    (Convection(beta=3.0), {}, True),
    (Burgers(), {}, True),
    (heat_neumann(), {}, True),
    (Convection(beta=3.0), {"constraints": "exact"}, True),  # the inputs' tangents
    (Burgers(), {"constraints": "exact", "y_nan": True}, True),
    (Convection(beta=3.0), {"causal": True}, True),
    (lotka_volterra(), {}, True),  # two equations per point, two outputs
    (lotka_volterra(), {"learn_coefficients": ("a",)}, False),  # a weight outside the MLP
    (Burgers(), {"architecture": "modified"}, False),  # no hand-written jets
]


@pytest.mark.parametrize("pde, params, through_jets", KINDS,
                         ids=["periodic", "dirichlet", "neumann", "exact", "exact-nan",
                              "causal", "system", "learned", "modified"])
def test_the_jacobian_through_the_jets_is_the_per_point_one(pde, params, through_jets):
    """Where an MLP's jets give the derivatives and hold every weight, the Jacobian comes
    from one adjoint pass per term part (JetCapture); it equals the per-point
    vmap(jacrev) one, rows and all, and fills a buffer handed to it."""
    problem, loss = problem_and_loss(pde, **params)
    params_ = _params(problem)
    assert (loss.jets is not None) == through_jets
    rows, J, terms = loss.jacobian(params_)
    jets, loss.jets = loss.jets, None
    rows_, J_, terms_ = loss.jacobian(params_)
    loss.jets = jets
    scale = float(J_.abs().max())
    np.testing.assert_allclose(J.numpy(), J_.numpy(), rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(rows.numpy(), rows_.numpy(), rtol=1e-12, atol=1e-15)
    assert terms == pytest.approx(terms_, rel=1e-12)
    buffer = torch.full_like(J, np.nan)
    again = loss.jacobian(params_, out=buffer)[1]
    assert torch.equal(again, J)
    assert (again.data_ptr() == buffer.data_ptr()) == through_jets


def test_a_term_written_once_reaches_both_evaluators():
    """A new term (here the mean of u_x squared at the collocation points: a smoothness
    penalty) added to the loss changes the batched value and the rows alike."""
    problem, loss = problem_and_loss(Burgers())
    residual = loss.terms[0]
    before = float(sum(loss().values()).detach())

    def slope(fields, extras, coefficients):
        return fields[0].d["u_x"]

    loss.terms.append(Term("smoothness", residual.points, slope, derivatives=("u_x",),
                           weight=0.5))
    loss._stacked = None
    terms = loss()
    rows, row_terms = loss.rows(_params(problem))
    X = residual.points[0].detach().requires_grad_(True)
    u = problem.outputs(X)
    u_x = torch.autograd.grad(u.sum(), X)[0][:, 0]
    expected = 0.5 * float(u_x.square().mean())
    assert float(terms["smoothness"]) == pytest.approx(expected, rel=1e-10)
    assert row_terms["smoothness"] == pytest.approx(expected, rel=1e-9)
    assert float(sum(terms.values())) == pytest.approx(before + expected, rel=1e-10)
    assert float(rows.square().sum()) == pytest.approx(before + expected, rel=1e-9)


@pytest.mark.parametrize("dense", [True, False], ids=["dense", "matrix-free"])
def test_each_step_lowers_the_loss_on_its_points_and_is_recorded(dense):
    problem, loss = problem_and_loss(Convection(beta=3.0), constraints="exact")
    loss.resample = None  # on fixed points
    before = float(loss.rows(_params(problem))[0].square().sum())
    history = {}
    report = levenberg_marquardt(loss, problem.parameters(), max_iter=5, history=history,
                                 dense_max_weights=None if dense else 0)
    after = float(loss.rows(_params(problem))[0].square().sum())
    assert report["n_iter"] == 5 and report["stopped"] is None
    assert after < 0.5 * before  # Gauss-Newton on fixed points: a large drop in 5 steps
    assert np.all(np.diff(history["loss"]) < 0)
    assert history["optimizer"] == ["lm"] * 5
    assert len(history["residual"]) == len(history["loss"])


def test_interrupt_and_divergence_keep_the_last_step_taken():
    problem, loss = problem_and_loss(Convection(beta=3.0), constraints="exact")
    loss.resample = None
    start = [p.detach().clone() for p in problem.parameters()]
    calls = {"n": 0, "stop": None}
    derivatives = loss._derivatives  # the batched evaluator: each trial step's loss

    def counted(*args):
        if _CAPTURE.get() is None:  # (not the Jacobian's pass through the jets)
            calls["n"] += 1
        if calls["n"] == calls["stop"]:
            raise KeyboardInterrupt
        return derivatives(*args)

    loss._derivatives = counted
    levenberg_marquardt(loss, problem.parameters(), max_iter=1)
    one_step = [p.detach().clone() for p in problem.parameters()]
    # again from the start, interrupted in the second step's first trial (while the
    # network holds the trial): the weights of the first step remain
    calls["stop"], calls["n"] = calls["n"] + 1, 0
    with torch.no_grad():
        for p, q in zip(problem.parameters(), start):
            p.copy_(q)
    with pytest.warns(RuntimeWarning, match="KeyboardInterrupt"):
        report = levenberg_marquardt(loss, problem.parameters(), max_iter=5)
    assert report["stopped"] == "interrupted"
    assert all(torch.equal(a, b) for a, b in zip(one_step, problem.parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(start, problem.parameters()))
    loss._derivatives = derivatives
    saved = [p.detach().clone() for p in problem.parameters()]
    jacobian = loss.jacobian
    loss.jacobian = lambda params, out=None: tuple(
        x * float("nan") if i == 0 else x for i, x in enumerate(jacobian(params, out)))
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        report = levenberg_marquardt(loss, problem.parameters(), max_iter=5)
    assert report["stopped"] == "diverged"
    assert all(torch.equal(a, b) for a, b in zip(saved, problem.parameters()))


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


def test_architecture_auto_is_the_strategys_choice():
    pde = Convection(beta=2.0)
    X0, u0 = pde.initial_data(16)
    small = dict(max_iter=4, n_collocation=32, random_state=0)

    def network(est):
        return type(est.network_.network).__name__  # inside the exact-constraint model

    causal = PINNRegressor(pde=pde, strategy=Causal(final_iter=1), **small).fit(X0, u0)
    assert causal.stages_[0]["architecture"] == "modified" and network(causal) == "ModifiedMLP"
    standard = PINNRegressor(pde=pde, constraints="exact", **small).fit(X0, u0)
    assert standard.stages_[0]["architecture"] == "mlp" and network(standard) == "MLP"
    # hidden layers of two widths cannot be gated: "auto" takes the MLP, an explicit
    # "modified" says why it cannot
    uneven = PINNRegressor(pde=pde, strategy=Causal(final_iter=1), hidden_layer_sizes=(8, 4),
                           **small).fit(X0, u0)
    assert uneven.stages_[0]["architecture"] == "mlp" and network(uneven) == "MLP"
    with pytest.raises(ValueError, match="hidden_layer_sizes must have one width"):
        uneven.set_params(architecture="modified").fit(X0, u0)
    mine = PINNRegressor(pde=pde, strategy=Causal(final_iter=1), architecture="mlp", **small)
    assert mine.fit(X0, u0).stages_[0]["architecture"] == "mlp"


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
