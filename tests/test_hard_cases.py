"""The fixes for PINN failure modes beyond the 2021 paper, at CI size: exact constraints
hold to rounding, causal weights behave as causal weights, residual-based sampling moves
points toward large residuals, and each is a parameter that composes."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from physml import PINNRegressor
from physml._constraints import ChebyshevSeries, _torch_callable, harmonics_for
from physml.pde import AllenCahn, Burgers, Convection, CustomPDE, Reaction
from physml.strategies import Causal, CausalWeights, Curriculum, TimeMarching

TINY = dict(hidden_layer_sizes=(12, 12), n_collocation=200, n_boundary=20, max_iter=30,
            random_state=0)


def fitted(pde, **params):
    X0, u0 = pde.initial_data(32)
    return PINNRegressor(pde=pde, constraints="exact", **{**TINY, **params}).fit(X0, u0)


@pytest.mark.parametrize("pde", [Convection(beta=30.0), Reaction(rho=5.0), AllenCahn()],
                         ids=lambda p: type(p).__name__)
def test_exact_constraints_hold_at_t0_and_across_the_periodic_boundary(pde):
    est = fitted(pde)
    (x0, x1), (t0, t1) = pde.domain
    x = np.linspace(x0, x1, 33)
    at_t0 = est.predict(np.column_stack([x, np.full_like(x, t0)]))
    np.testing.assert_allclose(at_t0, pde.initial_condition(x), atol=1e-11)
    t = np.linspace(t0, t1, 17)
    left = est.predict(np.column_stack([np.full_like(t, x0), t]))
    right = est.predict(np.column_stack([np.full_like(t, x1), t]))
    np.testing.assert_allclose(left, right, atol=1e-11)
    # and the network is not trivial: the prediction changes in time
    later = est.predict(np.column_stack([x, np.full_like(x, t1)]))
    assert np.max(np.abs(later - at_t0)) > 1e-3


def test_exact_dirichlet_ends_hold_at_every_time():
    pde = Burgers()
    est = fitted(pde)
    t = np.linspace(0, 1, 11)
    for end in (-1.0, 1.0):
        np.testing.assert_allclose(est.predict(np.column_stack([np.full_like(t, end), t])),
                                   0.0, atol=1e-12)


def _oscillator(X, y, d, c):
    return d["p_t"] - y[:, 1], d["q_t"] + y[:, 0]


def test_exact_initial_values_of_an_ode_system_hold_at_t0():
    # An equation in t alone raised a bare TypeError (float() of a method) here.
    pde = CustomPDE(_oscillator, coordinates=("t",), outputs=("p", "q"),
                    derivatives=("p_t", "q_t"), domain=((0.0, 3.0),),
                    initial_condition=(1.0, 0.5))
    est = fitted(pde, strategy="causal", max_iter=200)
    np.testing.assert_allclose(est.predict(np.array([[0.0]])), [[1.0, 0.5]], atol=1e-12)
    t = np.linspace(0.0, 3.0, 31)[:, None]
    exact = np.column_stack([np.cos(t[:, 0]) + 0.5 * np.sin(t[:, 0]),
                             0.5 * np.cos(t[:, 0]) - np.sin(t[:, 0])])
    np.testing.assert_allclose(est.predict(t), exact, atol=5e-2)
    no_initial = CustomPDE(_oscillator, coordinates=("t",), outputs=("p", "q"),
                           derivatives=("p_t", "q_t"), domain=((0.0, 3.0),))
    with pytest.raises(ValueError, match="no initial condition to build in"):
        PINNRegressor(pde=no_initial, constraints="exact", **TINY).fit(
            np.array([[0.0]]), np.array([[1.0, 0.5]]))


def _heat_2d(X, u, d, c):
    return d["u_t"] - 0.05 * (d["u_xx"] + d["u_yy"])


def _wave_2d(x):
    lib = torch if torch.is_tensor(x) else np
    return lib.sin(x[:, 0]) * lib.cos(x[:, 1])


def _waves_2d(x):
    lib = torch if torch.is_tensor(x) else np
    return lib.sin(x[:, 0]) * lib.cos(3 * x[:, 1])


def _heat_2d_solution(X):
    return _wave_2d(X[:, :2]) * np.exp(-0.1 * X[:, 2])


def _heat_2d_pde(initial_condition):
    return CustomPDE(_heat_2d, coordinates=("x", "y", "t"),
                     derivatives=("u_t", "u_xx", "u_yy"), initial_condition=initial_condition,
                     domain=((0, 2 * np.pi), (0, 2 * np.pi), (0, 1)),
                     solution=_heat_2d_solution)


def test_exact_constraints_in_two_periodic_dimensions_take_the_harmonics_u0_needs():
    # The harmonics were read from 64 points of a 2-D grid, not from lines along each
    # coordinate: sin(x) cos(y) got 8 harmonics of each, and the fit (loss 5e-5) was
    # wrong everywhere after t0 (relative error 1.1, against 1.6e-2 with soft constraints).
    waves = _heat_2d_pde(_waves_2d)
    assert (harmonics_for(waves, 0), harmonics_for(waves, 1)) == (1, 3)
    pde = _heat_2d_pde(_wave_2d)
    assert (harmonics_for(pde, 0), harmonics_for(pde, 1)) == (1, 1)
    X0, u0 = pde.initial_data(64)
    est = PINNRegressor(pde=pde, constraints="exact", random_state=0, max_iter=400,
                        n_collocation=500, hidden_layer_sizes=(20, 20)).fit(X0, u0)
    X = pde.grid(8, 10)
    error = np.linalg.norm(est.predict(X) - _heat_2d_solution(X))
    assert error / np.linalg.norm(_heat_2d_solution(X)) < 0.3


def _sine_cosine(x):
    lib = torch if torch.is_tensor(x) else np
    return lib.sin(np.pi * x[:, 0]) * lib.cos(x[:, 1])


def _shifted(x):
    return _sine_cosine(x) + 1.0


def test_exact_dirichlet_ends_with_a_second_spatial_coordinate():
    # With a second spatial coordinate the compatibility check of u0 at the Dirichlet ends
    # raised a bare broadcasting ValueError ("could not broadcast ... (2,) into (1,)").
    def heat(initial_condition):
        return CustomPDE(_heat_2d, coordinates=("x", "y", "t"),
                         derivatives=("u_t", "u_xx", "u_yy"),
                         initial_condition=initial_condition,
                         domain=((0, 1), (0, 2 * np.pi), (0, 1)),
                         boundary={"x": "dirichlet", "y": "periodic"})

    pde = heat(_sine_cosine)
    X0, u0 = pde.initial_data(64)
    est = PINNRegressor(pde=pde, constraints="exact", random_state=0, max_iter=300,
                        n_collocation=500, hidden_layer_sizes=(20, 20)).fit(X0, u0)
    rng = np.random.default_rng(0)
    y, t = rng.uniform(0, 2 * np.pi, 20), rng.uniform(0, 1, 20)
    for end in (0.0, 1.0):
        face = np.column_stack([np.full(20, end), y, t])
        np.testing.assert_allclose(est.predict(face), 0.0, atol=1e-12)
    X = pde.grid(8, 10)
    exact = _sine_cosine(X[:, :2]) * np.exp(-0.05 * (np.pi ** 2 + 1) * X[:, 2])
    assert np.linalg.norm(est.predict(X) - exact) / np.linalg.norm(exact) < 0.1
    with pytest.raises(ValueError, match="differ from its initial condition"):
        PINNRegressor(pde=heat(_shifted), constraints="exact", **TINY).fit(X0, u0)


def test_exact_constraints_say_where_they_cannot_apply():
    with pytest.raises(ValueError, match="output_transform"):
        fitted(Convection(), output_transform=_identity_transform)
    neumann = CustomPDE(_heat, derivatives=("u_t", "u_xx"), boundary="neumann",
                        initial_condition=np.cos, coefficients={"kappa": 1.0})
    with pytest.raises(ValueError, match="neumann"):
        fitted(neumann)
    with pytest.raises(ValueError, match="'constraints' parameter .* Got 'hard'"):
        PINNRegressor(pde=Convection(), constraints="hard").fit(*Convection().initial_data(8))
    with pytest.raises(ValueError, match="'sampling' parameter .* Got 'adaptive'"):
        PINNRegressor(pde=Convection(), sampling="adaptive").fit(*Convection().initial_data(8))


def _identity_transform(X, u):
    return u


def _heat(X, u, d, c):
    return d["u_t"] - c["kappa"] * d["u_xx"]


def test_a_torch_initial_condition_is_used_as_written_else_its_chebyshev_interpolant():
    x = torch.linspace(-1, 1, 101, dtype=torch.float64, requires_grad=True)
    series = ChebyshevSeries(AllenCahn().initial_condition, -1.0, 1.0, 1)
    u = series(x)[:, 0]
    u_x = torch.autograd.grad(u.sum(), x, create_graph=True)[0]
    u_xx = torch.autograd.grad(u_x.sum(), x)[0]
    xs = x.detach().numpy()
    np.testing.assert_allclose(u.detach(), xs ** 2 * np.cos(np.pi * xs), atol=1e-12)
    exact_xx = (2 * np.cos(np.pi * xs) - 4 * np.pi * xs * np.sin(np.pi * xs)
                - np.pi ** 2 * xs ** 2 * np.cos(np.pi * xs))
    np.testing.assert_allclose(u_xx, exact_xx, atol=1e-8)
    with pytest.raises(ValueError, match="not smooth enough"):
        ChebyshevSeries(np.sign, -1.0, 1.0, 1)
    # a callable written with torch functions is used as it is; one written for NumPy not
    assert _torch_callable(torch.sin, x[:4], 1) is torch.sin
    assert _torch_callable(AllenCahn().initial_condition, x[:4], 1) is None


def test_causal_weights_are_monotone_in_time_and_rise_as_training_proceeds():
    est = PINNRegressor(pde=Convection(beta=5.0), strategy=Causal(update_every=20),
                        constraints="exact", **{**TINY, "max_iter": 200})
    est.fit(*Convection(beta=5.0).initial_data(32))
    weights = est.stages_[0]["causal_weights"]
    assert weights.shape[1] == 32 and weights.shape[0] >= 5
    assert np.all(np.diff(weights, axis=1) <= 1e-15)  # non-increasing in time
    assert weights[0, 0] == 1.0
    # later times gain weight as the earlier ones are fitted (at a fixed tolerance)
    tol = est.stages_[0]["causal_tol"]
    same = [k for k in range(len(tol)) if tol[k] == tol[0]]
    assert weights[same[-1]].mean() > weights[0].mean()
    assert len(est.stages_) == 2 and "causal_weights" not in est.stages_[1]


def test_causal_weights_train_in_float32_and_finish_in_the_estimators_precision():
    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=Causal(final_iter=10), constraints="exact",
                        **{**TINY, "max_iter": 20}).fit(X0, u0)
    assert [s["dtype"] for s in est.stages_] == ["float32", "float64"]
    # both phases keep Causal's longer L-BFGS memory unless the estimator sets one
    assert [s["lbfgs_history_size"] for s in est.stages_] == [300, 300]
    own = PINNRegressor(pde=pde, strategy=Causal(final_iter=10), constraints="exact",
                        lbfgs_history_size=7, **{**TINY, "max_iter": 20}).fit(X0, u0)
    assert [s["lbfgs_history_size"] for s in own.stages_] == [7, 7]
    assert next(est.network_.parameters()).dtype == torch.float64
    one = PINNRegressor(pde=pde, strategy=Causal(final_iter=10, early_dtype=None),
                        constraints="exact", **{**TINY, "max_iter": 20}).fit(X0, u0)
    assert [s["dtype"] for s in one.stages_] == ["float64", "float64"]
    # without a final phase the fit still ends in the estimator's precision
    short = PINNRegressor(pde=pde, strategy=Causal(final_iter=0), constraints="exact",
                          **{**TINY, "max_iter": 20}).fit(X0, u0)
    assert [s["dtype"] for s in short.stages_] == ["float32"]
    assert short.predict(X0).dtype == np.float64
    assert next(short.network_.parameters()).dtype == torch.float64
    with pytest.raises(ValueError, match="early_dtype"):
        PINNRegressor(pde=pde, strategy=Causal(early_dtype="half"),
                      **TINY).fit(X0, u0)


def test_causal_tolerance_walks_up_its_schedule():
    weights = CausalWeights(4, (1.0, 10.0, 100.0), update_every=1)
    X = torch.tensor([[0.0, 0.1], [0.0, 0.4], [0.0, 0.6], [0.0, 0.9]], dtype=torch.float64)
    weights.chunks((0.0, 1.0), 1)
    weights.update(torch.tensor([1.0, 1.0, 1.0, 1.0], dtype=torch.float64), X)
    first = weights.record[-1]
    np.testing.assert_allclose(first, np.exp(-np.arange(4) / 4.0))  # relative to the total
    weights.update(torch.tensor([1e-4, 1e-4, 1e-4, 1e-4], dtype=torch.float64), X)
    assert weights.tol_record[-1] > 1.0  # every weight was above 0.99: tightened


def test_rad_sampling_moves_points_toward_large_residuals():
    est = PINNRegressor(pde=Convection(beta=1.0), sampling="rad", **TINY)
    X0, u0 = Convection().initial_data(8)
    X0, y0 = est._validated_data(X0, u0, est.pde)
    problem = est._problem(est.pde, X0, y0, est._training_settings(Causal()))
    problem.sampling = "rad"
    domain = ((0.0, 2 * np.pi), (0.0, 1.0))

    def bump(X):  # a residual peaked around t = 0.5
        return 1e3 * torch.exp(-((X[:, 1] - 0.5) / 0.05) ** 2)

    def near(X, half_width=0.1):  # the share of the points within half_width of t = 0.5
        return float(((X[:, 1] - 0.5).abs() < half_width).double().mean())

    rad = problem._resample(domain, 2000, bump)
    problem.sampling = "uniform"
    uniform = problem._resample(domain, 2000, bump)
    assert near(uniform) < 0.3 and near(rad) > 2 * near(uniform)

    # A narrow layer gets more than 4x its uniform share (the cap of a pool 4x larger,
    # too little for Allen-Cahn's early times and interfaces).
    def layer(X):
        return 1e3 * torch.exp(-((X[:, 1] - 0.5) / 0.005) ** 2)

    problem.sampling = "rad"
    assert near(problem._resample(domain, 2000, layer), 0.02) > 6 * 0.04


def test_resampling_and_causal_compose_with_the_other_strategies():
    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=TimeMarching(dt=0.5, within=Causal(final_iter=10)),
                        constraints="exact", resample_every=10, **{**TINY, "max_iter": 20})
    est.fit(X0, u0)
    assert len(est.time_blocks_) == 2
    assert sum("causal_weights" in s for s in est.stages_) == 2
    curriculum = PINNRegressor(pde=pde, strategy=Curriculum(step=5.0), sampling="rad",
                               resample_every=10, **{**TINY, "max_iter": 20}).fit(X0, u0)
    assert curriculum.stages_[0]["sampling"] == "rad"
    assert curriculum.stages_[0]["resample_every"] == 10


def test_exact_fits_are_deterministic_clone_and_pickle():
    pde = AllenCahn()
    a, b = fitted(pde, strategy="causal"), fitted(pde, strategy="causal")
    X = pde.grid(16, 5)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict(X), a.predict(X))
    assert clone(a).get_params()["constraints"] == "exact"


def test_causal_rejects_a_steady_equation_and_bad_settings():
    steady = CustomPDE(_poisson, coordinates=("x", "y"), derivatives=("u_xx", "u_yy"),
                       domain=((0, 1), (0, 1)), boundary="dirichlet", initial_condition=None)
    with pytest.raises(ValueError, match="time coordinate"):
        PINNRegressor(pde=steady, strategy="causal", **TINY).fit(np.zeros((4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="tolerances"):
        PINNRegressor(pde=Convection(), strategy=Causal(tolerances=()),
                      **TINY).fit(*Convection().initial_data(8))


def _poisson(X, u, d, c):
    return d["u_xx"] + d["u_yy"] + 1.0


def test_causal_takes_exact_constraints_where_they_apply_and_soft_where_not():
    def heat(X, u, d, c):
        return d["u_t"] - 0.1 * d["u_xx"]

    small = dict(hidden_layer_sizes=(6,), n_collocation=40, n_boundary=8, max_iter=3,
                 random_state=0)
    pde = Convection(beta=2.0)
    X0, u0 = pde.initial_data(16)
    causal = PINNRegressor(pde=pde, strategy=Causal(n_chunks=2, final_iter=1), **small)
    assert causal.fit(X0, u0).stages_[0]["constraints"] == "exact"
    np.testing.assert_allclose(causal.predict(X0), u0, atol=1e-10)  # u(x, 0) built in
    standard = PINNRegressor(pde=pde, **small).fit(X0, u0)
    assert standard.stages_[0]["constraints"] == "soft"
    # a Neumann boundary cannot be built in: the causal call trains it softly, and an
    # explicit request says why it cannot
    neumann = CustomPDE(heat, coordinates=("x", "t"), derivatives=("u_t", "u_xx"),
                        domain=((0.0, 1.0), (0.0, 0.5)), boundary="neumann",
                        initial_condition=lambda x: np.cos(np.pi * x))
    X0, u0 = neumann.initial_data(16)
    causal = PINNRegressor(pde=neumann, strategy=Causal(n_chunks=2, final_iter=1), **small)
    assert causal.fit(X0, u0).stages_[0]["constraints"] == "soft"
    with pytest.raises(ValueError, match="[Nn]eumann"):
        causal.set_params(constraints="exact").fit(X0, u0)
