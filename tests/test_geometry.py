"""Geometry: what each primitive and combination answers, and equations stated on them."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone

from physml import PINNRegressor
from physml.geometry import Ball, Box, Disk, Interval, PointCloud, Polygon, Rectangle
from physml.metrics import relative_l2_error
from physml.pde import CustomPDE, NavierStokes
from physml.pde.equations import kovasznay
from physml.strategies import Standard


def plate_with_holes():
    """PINNacle's Poisson2d-C domain: a square minus four disks."""
    plate = Rectangle([-0.5, -0.5], [0.5, 0.5], name="outer")
    for cx in (-0.3, 0.3):
        for cy in (-0.3, 0.3):
            plate = plate - Disk([cx, cy], 0.1, name="holes")
    return plate


L_SHAPE = [(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2)]

GEOMETRIES = {
    "interval": lambda: Interval(-1.0, 2.0),
    "rectangle": lambda: Rectangle([0, 0], [2, 1]),
    "box": lambda: Box([0, 0, 0], [1, 2, 3]),
    "disk": lambda: Disk([1, -1], 0.5),
    "ball 5-D": lambda: Ball(np.zeros(5), 1.0),
    "L-shape": lambda: Polygon(L_SHAPE),
    "plate with holes": plate_with_holes,
    "union": lambda: Disk([0, 0], 1.0) | Rectangle([0, -0.5], [2, 0.5]),
    "intersection": lambda: Disk([0, 0], 1.0) & Disk([1, 0], 1.0),
}

# area or volume, and boundary measure, exact
MEASURES = {
    "interval": (3.0, 2.0),
    "rectangle": (2.0, 6.0),
    "box": (6.0, 22.0),
    "disk": (np.pi / 4, np.pi),
    "ball 5-D": (8 * np.pi ** 2 / 15, 8 * np.pi ** 2 / 3),
    "L-shape": (3.0, 8.0),
    "plate with holes": (1 - 4 * np.pi * 0.01, 4 + 0.8 * np.pi),
    "intersection": (2 * np.pi / 3 - np.sqrt(3) / 2, 4 * np.pi / 3),
}


@pytest.mark.parametrize("name", GEOMETRIES)
def test_interior_samples_lie_inside_and_spread_uniformly(name):
    g = GEOMETRIES[name]()
    for sampler in ("uniform", "sobol", "halton"):
        X = g.sample_interior(4000, random_state=0, sampler=sampler)
        assert X.shape == (4000, g.dim) and g.contains(X).all()
    # uniform: the share of points in the lower half of the bounding box matches the
    # share of the volume there (Monte Carlo on the bounding box)
    low, high = g.bounding_box()
    mid = 0.5 * (low[0] + high[0])
    X = g.sample_interior(20000, random_state=1)
    box = low + np.random.default_rng(2).random((200000, g.dim)) * (high - low)
    box = box[g.contains(box)]
    assert abs(np.mean(X[:, 0] < mid) - np.mean(box[:, 0] < mid)) < 0.02


@pytest.mark.parametrize("name", GEOMETRIES)
def test_boundary_samples_lie_on_the_boundary_with_outward_unit_normals(name):
    g = GEOMETRIES[name]()
    s = g.sample_boundary(3000, random_state=0)
    assert s.points.shape == s.normals.shape == (3000, g.dim) and s.pieces.shape == (3000,)
    assert np.all(np.abs(g._signed_distance(s.points)) < 1e-9)
    assert np.allclose(np.linalg.norm(s.normals, axis=1), 1.0)
    eps = 1e-4
    # a corner's normal points along one face only; away from corners both tests hold
    away = np.min([np.abs(g._signed_distance(s.points + eps * v)) for v in np.eye(g.dim)],
                  axis=0) > eps / 10
    assert not g.contains(s.points + eps * s.normals)[away].any()
    assert g.contains(s.points - eps * s.normals)[away].all()


@pytest.mark.parametrize("name", MEASURES)
def test_measures(name):
    g = GEOMETRIES[name]()
    volume, boundary = MEASURES[name]
    assert g.measure() == pytest.approx(volume, rel=2e-2)
    assert sum(g.boundary_measure().values()) == pytest.approx(boundary, rel=2e-2)


def test_pieces_keep_their_primitive_names_and_share_points_by_measure():
    g = plate_with_holes()
    assert g.pieces == ("outer", "holes")
    s = g.sample_boundary(20000, random_state=0)
    share = np.mean(s.pieces == "holes")
    assert share == pytest.approx(0.8 * np.pi / (4 + 0.8 * np.pi), abs=0.01)
    holes = s.points[s.pieces == "holes"]
    centres = np.sign(holes) * 0.3
    assert np.allclose(np.linalg.norm(holes - centres, axis=1), 0.1)
    # a hole's normal points out of the plate: into the hole
    assert np.allclose(s.normals[s.pieces == "holes"], -(holes - centres) / 0.1)


def test_distance_to_a_piece_is_zero_on_it_and_positive_inside():
    g = plate_with_holes()
    s = g.sample_boundary(500, random_state=0)
    for piece in g.pieces:
        on = s.points[s.pieces == piece]
        assert np.allclose(g.distance(on, piece), 0.0, atol=1e-12)
    inside = g.sample_interior(500, random_state=1)
    assert np.all(g.distance(inside) > 0)
    assert g.distance([[0.0, 0.0]], "outer")[0] == pytest.approx(0.5)
    assert g.distance([[0.0, 0.0]], "holes")[0] == pytest.approx(np.hypot(0.3, 0.3) - 0.1)
    with pytest.raises(ValueError, match="'lid'"):
        g.distance([[0.0, 0.0]], "lid")


def test_faces_of_a_box_can_be_named_apart():
    cavity = Rectangle([0, 0], [1, 1], name={"top": "lid"})
    assert cavity.pieces == ("boundary", "lid")
    s = cavity.sample_boundary(400, random_state=0)
    assert np.allclose(s.points[s.pieces == "lid", 1], 1.0)
    assert np.allclose(s.normals[s.pieces == "lid"], [0.0, 1.0])
    with pytest.raises(ValueError, match="'front'"):
        Rectangle([0, 0], [1, 1], name={"front": "lid"})


@pytest.mark.parametrize("build, match", [
    (lambda: Disk([0, 0], -1.0), "radius"),
    (lambda: Ball([0, 0, 0], 0), "radius"),
    (lambda: Box([0, 0], [1, 0]), "low"),
    (lambda: Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "crosses itself"),
    (lambda: Polygon([(0, 0), (1, 1)]), "three"),
    (lambda: Polygon([(0, 0), (1, 1), (2, 2)]), "no area"),
    (lambda: Disk([0, 0], 1.0) - Disk([0, 0], 2.0), "empty"),
    (lambda: Disk([0, 0], 1.0) & Disk([3, 0], 1.0), "empty"),
    (lambda: Disk([0, 0], 1.0) | Ball([0, 0, 0], 1.0), "2-D and a 3-D"),
    (lambda: Disk([0, 0, 0], 1.0), "center"),
])
def test_invalid_geometry_is_a_value_error_when_built(build, match):
    with pytest.raises(ValueError, match=match):
        build()


def test_geometries_pickle():
    g = plate_with_holes()
    again = pickle.loads(pickle.dumps(g))
    X = np.random.default_rng(0).random((100, 2)) - 0.5
    assert np.array_equal(again.contains(X), g.contains(X))


def test_point_cloud():
    rng = np.random.default_rng(0)
    inner = rng.random((300, 2))
    t = np.linspace(0, 1, 20)
    left = np.column_stack([np.zeros_like(t), t])
    right = np.column_stack([np.ones_like(t), t])
    cloud = PointCloud(inner, boundary={"left": left, "right": right},
                       normals={"left": np.tile([-1.0, 0.0], (20, 1)),
                                "right": np.tile([1.0, 0.0], (20, 1))})
    assert cloud.pieces == ("left", "right")
    X = cloud.sample_interior(300, random_state=0)
    assert sorted(map(tuple, X)) == sorted(map(tuple, inner))  # each point once
    s = cloud.sample_boundary(40, random_state=0)
    assert np.allclose(s.normals[s.pieces == "left"], [-1.0, 0.0])
    assert cloud.contains(inner).all() and not cloud.contains([[5.0, 5.0]]).any()
    with pytest.raises(ValueError, match="normals"):
        PointCloud(inner, boundary={"left": left}, normals={"left": np.ones((3, 2))})


# Equations on a geometry -------------------------------------------------------------------

def _laplace(X, u, d, c):
    return d["u_xx"] + d["u_yy"]


def _harmonic(X):
    return X[:, 0] ** 2 - X[:, 1] ** 2 + X[:, 0]


def test_domain_takes_a_geometry_and_the_boundary_data_lie_on_its_pieces():
    g = plate_with_holes()
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"), domain=g,
                    boundary="dirichlet", boundary_condition={"outer": lambda X: np.ones(
                        X.shape[0])})
    pde.validate()
    assert pde.boundary_pieces == ("outer", "holes")
    assert pde.bounds == ((-0.5, 0.5), (-0.5, 0.5))
    X, u = pde.boundary_data(400)
    assert np.all(np.abs(g._signed_distance(X)) < 1e-9)
    on_outer = np.abs(np.abs(X).max(axis=1) - 0.5) < 1e-9
    assert np.all(u[on_outer] == 1.0) and np.all(u[~on_outer] == 0.0)
    assert 0 < on_outer.mean() < 1


def test_a_geometry_in_time_and_mixed_with_pairs():
    pde = CustomPDE(lambda X, u, d, c: d["u_t"] - d["u_xx"] - d["u_yy"],
                    derivatives=("u_t", "u_xx", "u_yy"), coordinates=("x", "y", "t"),
                    domain=(Disk([0, 0], 1.0, name="rim"), (0.0, 2.0)),
                    boundary={"rim": "dirichlet"}, initial_condition=lambda x: x[:, 0])
    pde.validate()
    assert pde.bounds == ((-1.0, 1.0), (-1.0, 1.0), (0.0, 2.0))
    X0, u0 = pde.initial_data(100)
    assert np.all(X0[:, 2] == 0.0) and np.all(np.hypot(X0[:, 0], X0[:, 1]) <= 1.0)
    Xb, _ = pde.boundary_data(100)
    assert np.allclose(np.hypot(Xb[:, 0], Xb[:, 1]), 1.0)
    assert Xb[:, 2].min() >= 0.0 and Xb[:, 2].max() <= 2.0 and np.ptp(Xb[:, 2]) > 1.0


@pytest.mark.parametrize("changes, match", [
    (dict(boundary={"lid": "dirichlet"}), "'lid'"),
    (dict(boundary="periodic"), "periodic"),
    (dict(boundary_condition={"lid": np.zeros}), "'lid'"),
    (dict(domain=(Disk([0, 0], 1.0),)), None),
    (dict(domain=(Disk([0, 0], 1.0), (0.0, 1.0))), "domain"),
    (dict(coordinates=("x", "t"), domain=Disk([0, 0], 1.0)), "time"),
])
def test_bad_names_on_a_geometry_are_value_errors(changes, match):
    params = dict(residual=_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                  domain=Disk([0, 0], 1.0, name="rim"), boundary="dirichlet")
    params.update(changes)
    pde = CustomPDE(**params)
    if match is None:
        pde.validate()
        return
    with pytest.raises(ValueError, match=match):
        PINNRegressor(pde=pde, max_iter=1).fit(np.zeros((1, len(pde.coordinates))),
                                               np.zeros(1))


def _harmonic_torch(X):
    return X[:, 0] ** 2 - X[:, 1] ** 2 + X[:, 0]  # NumPy and torch alike


def test_exact_constraints_on_a_geometry_hold_on_every_piece():
    plate = plate_with_holes()
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=plate, boundary="dirichlet",
                    boundary_condition={"outer": lambda X: np.ones(len(X))})
    est = PINNRegressor(pde=pde, constraints="exact", hidden_layer_sizes=(8,), max_iter=20,
                        random_state=0).fit(*pde.boundary_data(20))
    s = plate.sample_boundary(300, random_state=3)
    assert np.allclose(est.predict(s.points), s.pieces == "outer", atol=1e-12)
    assert "boundary" not in est.history_  # built in: no boundary term
    # a condition written for torch: its own values, on an L-shaped polygon
    L = Polygon(L_SHAPE)
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=L, boundary="dirichlet", boundary_condition=_harmonic_torch,
                    solution=_harmonic_torch)
    est = PINNRegressor(pde=pde, constraints="exact", hidden_layer_sizes=(16, 16),
                        max_iter=200, random_state=0).fit(*pde.boundary_data(20))
    s = L.sample_boundary(300, random_state=3)
    assert np.allclose(est.predict(s.points), _harmonic(s.points), atol=1e-10)
    X = L.sample_interior(1000, random_state=1)
    assert relative_l2_error(_harmonic(X), est.predict(X)) < 2e-2


@pytest.mark.parametrize("changes, match", [
    (dict(), "torch"),
    (dict(domain=Disk([0, 0], 1.0) | Disk([1, 0], 1.0)), "union"),
    (dict(boundary="neumann"), "Dirichlet"),
    (dict(domain=PointCloud(np.random.default_rng(0).random((20, 2)),
                            boundary={"rim": np.zeros((3, 2))})), "PointCloud"),
])
def test_exact_constraints_on_a_geometry_say_why_they_cannot_apply(changes, match):
    def nonconstant_numpy(X):
        return np.sin(X[:, 0])
    params = dict(residual=_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                  domain=Disk([0, 0], 1.0), boundary="dirichlet",
                  boundary_condition=nonconstant_numpy)
    params.update(changes)
    pde = CustomPDE(**params)
    with pytest.raises(ValueError, match=match):
        PINNRegressor(pde=pde, constraints="exact", max_iter=1).fit(
            np.zeros((1, 2)), np.zeros(1))


def test_a_pinn_learns_laplace_on_a_disk_and_its_points_stay_inside():
    disk = Disk([0, 0], 1.0)
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=disk, boundary="dirichlet", boundary_condition=_harmonic,
                    solution=_harmonic)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(20, 20), max_iter=300,
                        random_state=0).fit(*pde.boundary_data(100))
    X = disk.sample_interior(1000, random_state=1)
    assert relative_l2_error(_harmonic(X), est.predict(X)) < 2e-2
    # every collocation point the fit drew lies in the disk
    problem = est._problem(pde, *pde.boundary_data(10), est._training_settings(Standard()))
    drawn = problem.collocation_points(pde.bounds, 500)
    assert drawn.shape == (500, 2) and disk.contains(drawn.numpy()).all()


def _helmholtz(X, u, d, c):
    return d["u_xx"] + d["u_yy"] - u


def _exp_solution(X):
    return np.exp(X[:, 0])  # u_xx + u_yy - u = 0


def test_neumann_and_nan_conditions_on_pieces_reach_the_loss():
    square = Rectangle([0, 0], [1, 1], name={"left": "wall"})

    def flux(X):  # the outward normal derivative of e^x on the other three faces
        return np.where(np.isclose(X[:, 0], 1.0), np.exp(X[:, 0]), 0.0)

    pde = CustomPDE(_helmholtz, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=square, boundary={"wall": "dirichlet", "boundary": "neumann"},
                    boundary_condition={"wall": lambda X: np.ones(X.shape[0]),
                                        "boundary": flux},
                    solution=_exp_solution)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(20, 20), max_iter=400,
                        random_state=0).fit(*pde.boundary_data(40))
    X = square.sample_interior(1000, random_state=1)
    assert relative_l2_error(_exp_solution(X), est.predict(X)) < 2e-2
    # NaN: no condition on that output there (only the first output is held)
    two = CustomPDE(lambda X, u, d, c: (d["u_xx"] + d["u_yy"], d["v_xx"] + d["v_yy"]),
                    derivatives=("u_xx", "u_yy", "v_xx", "v_yy"), coordinates=("x", "y"),
                    outputs=("u", "v"), domain=Disk([0, 0], 1.0), boundary="dirichlet",
                    boundary_condition=lambda X: np.column_stack(
                        [np.ones(X.shape[0]), np.full(X.shape[0], np.nan)]))
    Xb, yb = two.boundary_data(20)
    assert np.all(yb[:, 0] == 1.0) and np.all(np.isnan(yb[:, 1]))
    est = PINNRegressor(pde=two, hidden_layer_sizes=(8,), max_iter=5, random_state=0)
    est.fit(Xb, yb)
    assert np.all(np.isfinite(est.history_["boundary"]))


def _kovasznay_torch(X, reynolds=40.0):
    lam = reynolds / 2 - np.sqrt(reynolds ** 2 / 4 + 4 * np.pi ** 2)
    x, y = X[:, 0], X[:, 1]
    e = torch.exp(lam * x)
    return torch.stack([1 - e * torch.cos(2 * np.pi * y),
                        lam / (2 * np.pi) * e * torch.sin(2 * np.pi * y),
                        0.5 * (1 - torch.exp(2 * lam * x))], 1)


def test_navier_stokes_residual_vanishes_on_kovasznay_flow():
    pde = NavierStokes(nu=1 / 40, domain=((-0.5, 1.0), (-0.5, 1.5)),
                       solution=kovasznay(40.0))
    X = torch.rand(50, 2, dtype=torch.float64, requires_grad=True)
    w = _kovasznay_torch(X)
    assert np.allclose(w.detach().numpy(), kovasznay(40.0)(X.detach().numpy()))
    d = {}
    for k, name in enumerate(pde.outputs):
        grad = torch.autograd.grad(w[:, k].sum(), X, create_graph=True)[0]
        for c, coordinate in enumerate(("x", "y")):
            d[f"{name}_{coordinate}"] = grad[:, c]
            second = torch.autograd.grad(grad[:, c].sum(), X, create_graph=True)[0]
            d[f"{name}_{coordinate}{coordinate}"] = second[:, c]
    for part in pde.residual(X, w, d, pde.coefficients):
        assert float(part.detach().abs().max()) < 1e-10


def test_navier_stokes_walls_leave_the_pressure_free_and_fit_on_a_geometry():
    channel = Rectangle([0, 0], [2, 1], name={"left": "inlet", "right": "outlet"})
    pde = NavierStokes(domain=channel, boundary={"boundary": "dirichlet",
                                                 "inlet": "dirichlet"},
                       boundary_condition={"inlet": _inflow})
    assert pde.steady and pde.coordinates == ("x", "y") and "p_x" in pde.derivatives
    assert NavierStokes(steady=False).coordinates == ("x", "y", "t")
    X, y = pde.boundary_data(60)
    walls = np.isclose(X[:, 1], 0.0) | np.isclose(X[:, 1], 1.0)
    inlet = np.isclose(X[:, 0], 0.0) & ~walls
    assert np.all(y[walls, :2] == 0.0) and np.allclose(y[inlet, 0], _inflow(X[inlet])[:, 0])
    assert np.all(np.isnan(y[:, 2]))
    with pytest.raises(ValueError, match="shape"):
        NavierStokes(boundary_condition=lambda X: np.zeros(len(X))).boundary_data(8)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    est.fit(X, y)
    assert est.predict(X[:5]).shape == (5, 3)


def _inflow(X):
    return np.column_stack([4 * X[:, 1] * (1 - X[:, 1]), np.zeros(len(X))])


def _heat(X, u, d, c):
    return d["u_t"] - 0.1 * (d["u_xx"] + d["u_yy"])


@pytest.mark.parametrize("settings", [
    dict(strategy="seq2seq"), dict(strategy="causal"), dict(sampling="rad", resample_every=2),
    dict(strategy="curriculum"), dict(optimizer="lm")])
def test_every_strategy_and_sampling_runs_on_a_geometry_in_time(settings):
    disk = Disk([0, 0], 1.0, name="rim")
    pde = CustomPDE(_heat, derivatives=("u_t", "u_xx", "u_yy"), coordinates=("x", "y", "t"),
                    domain=(disk, (0.0, 1.0)), boundary={"rim": "dirichlet"},
                    initial_condition=lambda x: 1 - (x ** 2).sum(1),
                    coefficients={"kappa": 0.1})
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(8,), max_iter=4, n_collocation=64,
                        n_boundary=8, random_state=0, **settings).fit(*pde.initial_data(32))
    assert est.stopped_ is None and np.all(np.isfinite(est.history_["loss"]))
    problem = est._problem(pde, *pde.initial_data(8), est._training_settings(Standard()))
    drawn = problem.collocation_points(((-1.0, 1.0), (-1.0, 1.0), (0.5, 1.0)), 200).numpy()
    assert disk.contains(drawn[:, :2]).all() and drawn[:, 2].min() >= 0.5


def _harmonic_robin(X, a=2.0):
    x, y = X[:, 0], X[:, 1]
    # du/dn + a u on the unit circle (n = X) for u = x^2 - y^2 + x
    return (2 * x + 1) * x - 2 * y * y + a * _harmonic(X)


def test_a_robin_condition_on_a_piece_and_on_a_box_face():
    disk = Disk([0, 0], 1.0, name="rim")
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=disk, boundary={"rim": ("robin", 2.0)},
                    boundary_condition=_harmonic_robin)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(20, 20), max_iter=300,
                        random_state=0).fit(np.zeros((1, 2)), np.full(1, np.nan))
    X = disk.sample_interior(1000, random_state=1)
    assert relative_l2_error(_harmonic(X), est.predict(X)) < 2e-2
    # on a box: du/dn + u = g on the faces x = 0 and x = 1, u given on y = 0 and y = 1
    def box_values(X):
        outward = np.where(np.isclose(X[:, 0], 1.0), 1.0, -1.0)
        robin = outward * (2 * X[:, 0] + 1) + _harmonic(X)
        return np.where(np.isclose(X[:, 1], 0.0) | np.isclose(X[:, 1], 1.0),
                        _harmonic(X), robin)
    box = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=((0.0, 1.0), (0.0, 1.0)),
                    boundary={"x": ("robin", 1.0), "y": "dirichlet"},
                    boundary_condition=box_values)
    est = PINNRegressor(pde=box, hidden_layer_sizes=(20, 20), max_iter=300,
                        random_state=0).fit(*box.boundary_data(40))
    X = np.random.default_rng(1).random((1000, 2))
    assert relative_l2_error(_harmonic(X), est.predict(X)) < 2e-2
    with pytest.raises(ValueError, match="robin"):
        CustomPDE(_laplace, derivatives=("u_xx",), coordinates=("x", "y"),
                  domain=disk, boundary={"rim": ("robin", "a")}).validate()


def _screened(X, u, d, c):
    return d["u_xx"] + d["u_yy"] - c["k"] * u


def _screened_solution(X):
    return np.exp(X[:, 0])  # u_xx + u_yy - k u = 0 for k = 1


def test_pickle_clone_grid_search_and_inverse_coefficients_on_a_geometry():
    from sklearn.base import clone
    from sklearn.model_selection import GridSearchCV

    L = Polygon(L_SHAPE)
    pde = CustomPDE(_screened, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=L, boundary="dirichlet", boundary_condition=_screened_solution,
                    coefficients={"k": 1.0}, solution=_screened_solution)
    X, y = pde.boundary_data(40)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    est.fit(X, y)
    again = pickle.loads(pickle.dumps(est))
    assert np.array_equal(again.predict(X), est.predict(X))
    assert np.array_equal(clone(est).fit(X, y).predict(X), est.predict(X))
    search = GridSearchCV(est, {"pde__k": [0.5, 1.0]}, cv=2).fit(X, y)
    assert search.best_params_["pde__k"] in (0.5, 1.0)
    # the coefficient learned from interior observations of the solution
    inside = L.sample_interior(60, random_state=2)
    wrong = pde.with_coefficients(k=0.3)
    learner = PINNRegressor(pde=wrong, learn_coefficients=("k",), hidden_layer_sizes=(20, 20),
                            max_iter=300, random_state=0)
    learner.fit(np.concatenate([X, inside]), np.concatenate([y, _screened_solution(inside)]))
    assert abs(learner.coefficients_["k"] - 1.0) < 0.1


@pytest.mark.parametrize("sampler", ["sobol", "halton"])
def test_quasi_random_collocation_covers_the_domain_more_evenly(sampler):
    from scipy.stats import qmc

    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=((0.0, 1.0), (0.0, 1.0)), boundary="dirichlet",
                    boundary_condition=_harmonic)
    X, y = pde.boundary_data(20)
    drawn = {}
    for sampling in ("uniform", sampler):
        est = PINNRegressor(pde=pde, sampling=sampling, hidden_layer_sizes=(8,), max_iter=3,
                            random_state=0).fit(X, y)
        assert est.stages_[0]["sampling"] == sampling
        problem = est._problem(pde, X, y, est._training_settings(Standard()))
        problem.sampling = sampling
        drawn[sampling] = problem.collocation_points(pde.bounds, 512).numpy()
        again = est._problem(pde, X, y, est._training_settings(Standard()))
        again.sampling = sampling
        assert np.array_equal(again.collocation_points(pde.bounds, 512).numpy(),
                              drawn[sampling])  # seeded from random_state
    assert qmc.discrepancy(drawn[sampler]) < qmc.discrepancy(drawn["uniform"]) / 2
    # on a geometry: inside it
    disk = Disk([0, 0], 1.0)
    on_disk = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                        domain=disk, boundary="dirichlet", boundary_condition=_harmonic)
    est = PINNRegressor(pde=on_disk, sampling=sampler, hidden_layer_sizes=(8,), max_iter=3,
                        random_state=0).fit(*on_disk.boundary_data(20))
    problem = est._problem(on_disk, X, y, est._training_settings(Standard()))
    problem.sampling = sampler
    assert disk.contains(problem.collocation_points(on_disk.bounds, 300).numpy()).all()


def _wavy(X):
    sin = torch.sin if torch.is_tensor(X) else np.sin
    return sin(3 * X[:, 0]) * X[:, 1] + 1.0


def test_the_distance_model_jet_is_the_autograd_derivative_of_its_output():
    from physml._constraints import DistanceModel, distance_plan
    from physml._mlp import MLP

    plate = plate_with_holes()
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=plate, boundary="dirichlet", boundary_condition={"outer": _wavy})
    torch.manual_seed(0)
    model = DistanceModel(MLP(2, (16, 16), 1).double(), distance_plan(pde, 1))
    X = torch.tensor(plate.sample_interior(40, random_state=0))
    u, D = model.jet(X, 25, (0, 1), (0, 1))
    X_d = X[:25].clone().requires_grad_(True)
    grad, = torch.autograd.grad(model(X_d).sum(), X_d, create_graph=True)
    curves = [torch.autograd.grad(grad[:, c].sum(), X_d, retain_graph=True)[0][:, c]
              for c in (0, 1)]
    expected = torch.stack([grad[:, 0], grad[:, 1], *curves])
    assert torch.allclose(D[..., 0], expected.detach(), rtol=1e-9, atol=1e-9)
    assert torch.allclose(u, model(X).detach(), rtol=0, atol=1e-14)
    # the point-only fields are kept for the same points, computed afresh for others
    assert len(model._fields_cache) == 1
    model.jet(X, 25, (0, 1), (0, 1))
    assert len(model._fields_cache) == 1
    model.jet(X.clone(), 25, (0, 1), (0, 1))
    assert len(model._fields_cache) == 2
    assert pickle.loads(pickle.dumps(model))._fields_cache == []


def test_a_steady_problem_on_a_geometry_defaults_to_lm_and_exact_constraints():
    L = Polygon(L_SHAPE)
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=L, boundary="dirichlet", boundary_condition=_harmonic_torch,
                    solution=_harmonic_torch)
    X, y = pde.boundary_data(20)
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(16, 16), max_iter=500,
                        random_state=0).fit(X, y)
    stage = est.stages_[0]
    assert (stage["optimizer"], stage["constraints"], stage["dtype"]) == (
        "lm", "exact", "float64")
    assert len(est.stages_) == 1 and stage["n_iter"] == 500 // 25
    grid = L.sample_interior(1000, random_state=1)
    assert relative_l2_error(_harmonic(grid), est.predict(grid)) < 1e-2
    # values written for NumPy cannot be built in: soft constraints, still LM
    numpy_pde = clone(pde).set_params(
        boundary_condition=lambda X: _harmonic(np.asarray(X, dtype=float)))
    est = PINNRegressor(pde=numpy_pde, hidden_layer_sizes=(16, 16), max_iter=100,
                        random_state=0).fit(X, y)
    assert (est.stages_[0]["optimizer"], est.stages_[0]["constraints"]) == ("lm", "soft")
    # what the user sets is kept
    est = PINNRegressor(pde=pde, optimizer="adam+lbfgs", constraints="soft",
                        hidden_layer_sizes=(8,), max_iter=50, random_state=0).fit(X, y)
    assert [s["optimizer"] for s in est.stages_][0] == "adam+lbfgs"
    assert est.stages_[0]["constraints"] == "soft"
    # a box given as pairs keeps the box defaults
    assert Standard().training(pde.set_params(domain=((-1, 1), (-1, 1)))) == \
        Standard().training_defaults


def test_levenberg_marquardt_is_the_default_only_where_its_steps_are_affordable():
    flow = kovasznay(40.0)
    walls = Rectangle([-0.5, -0.5], [1.0, 1.5])
    pde = NavierStokes(nu=1 / 40, domain=walls, boundary_condition=lambda X: flow(X)[:, :2])
    X, y = pde.boundary_data(8)
    # a system: its Jacobian grows with its outputs
    est = PINNRegressor(pde=pde, hidden_layer_sizes=(8,), max_iter=10,
                        random_state=0).fit(X, y)
    assert est.stages_[0]["optimizer"] == "adam+lbfgs"
    # one output on more points than the budget allows
    pde = CustomPDE(_laplace, derivatives=("u_xx", "u_yy"), coordinates=("x", "y"),
                    domain=walls, boundary="dirichlet", boundary_condition=_harmonic)
    X, y = pde.boundary_data(8)
    est = PINNRegressor(pde=pde, n_collocation=20_000, max_iter=10,
                        random_state=0).fit(X, y)
    assert est.stages_[0]["optimizer"] == "adam+lbfgs"
    est = PINNRegressor(pde=pde, max_iter=25, random_state=0).fit(X, y)
    assert est.stages_[0]["optimizer"] == "lm"
