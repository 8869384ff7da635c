"""Exact constraints: a model whose periodic boundary, initial condition and Dirichlet
values hold by construction (``PINNRegressor(constraints="exact")``).

:class:`ExactModel` wraps the network ``N``:

* every periodic coordinate enters ``N`` through the Fourier embedding of its period,
  ``cos(k w x), sin(k w x)`` (``w = 2 pi / period``, ``k = 1..n_harmonics``): any function
  of these is periodic, with all its derivatives;
* the other coordinates are mapped onto ``[-1, 1]``; time also enters through
  ``cos(pi k s), sin(pi k s)``, ``s`` the time scaled to ``[0, 1]``, ``k = 1..time_features``
  (a Fourier basis in time: the network need not build fast oscillations in time out of
  tanh units, which it learns slowly; convection at beta = 50 oscillates eight times);
* the initial condition holds through ``u = u0(x) + b(s) D(x) (N - u0(x))``, ``s = (t -
  t0) / (t1 - t0)``, ``b(s) = 1 - exp(-s / w)`` with ``w = INITIAL_WIDTH`` (0.05): after
  a few widths the network's output is the solution itself. The plainer ``u = u0 + s N``
  asks ``N`` for the divided difference ``(u - u0) / s``, as large as the solution's speed
  near ``t0`` (50 for convection at beta = 50). ``D`` is 1, or, for Dirichlet
  ends ``a, b`` of the one spatial coordinate with values constant in time and equal to
  ``u0`` there, ``(x - a)(b - x)`` scaled to peak at 1, so that ``u = u0 = g`` on the ends
  at every time;
* a steady problem with Dirichlet ends in one coordinate: ``u = g_lin(x) + D(x) N``, the
  linear interpolation of the two end values plus the distance factor;
* a steady problem on a :mod:`physml.geometry` domain whose pieces all hold Dirichlet
  values (:class:`DistanceModel`): ``u = g~(x) + phi(x) N(x)``, ``phi`` the approximate
  distance function to the pieces (R-equivalence of each part's own, Sukumar &
  Srivastava 2022) and ``g~`` the transfinite interpolation of the pieces' values,
  ``sum_i w_i g_i`` with ``w_i`` proportional to ``1 / phi_i`` (``phi_i`` the distance to
  piece ``i``), which is ``g_i`` on piece ``i``.

``u0`` is the equation's initial condition in torch: the callable itself where it accepts
and returns torch tensors, else its Chebyshev interpolant on the spatial interval
(converged to 1e-12 of its scale, checked at random points), differentiated exactly.
Where none of this applies (a spatial domain in more dimensions with an initial condition
written for NumPy, Dirichlet values that vary in time, a mixed boundary) the estimator
raises a ValueError naming the reason.
"""

import math

import numpy as np
import torch
from numpy.polynomial import chebyshev

from ._problem import autograd_derivatives
from .pde._base import _as_outputs


class _ChebyshevDerivative(torch.autograd.Function):
    """``p^(order)(x)`` of a Chebyshev series on ``[low, high]``; differentiable to any
    order (its backward is the next derivative)."""

    @staticmethod
    def forward(ctx, x, series, order):
        ctx.save_for_backward(x)
        ctx.series, ctx.order = series, order
        return series.evaluate(x, order)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        slope = _ChebyshevDerivative.apply(x, ctx.series, ctx.order + 1)
        return (grad * slope).sum(1), None, None


class ChebyshevSeries:
    """A function of one variable as its Chebyshev interpolant on ``[low, high]``, per
    output column; evaluated (with its derivatives) in torch."""

    def __init__(self, function, low, high, n_outputs, owner="pde.initial_condition"):
        self.low, self.high = float(low), float(high)
        check = np.random.default_rng(0).uniform(low, high, 512)
        exact = self._values(function, check, n_outputs, owner)
        scale = max(float(np.max(np.abs(exact))), 1e-300)
        for degree in (32, 64, 128, 256, 512):
            nodes = np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
            values = self._values(function, self._x(nodes), n_outputs, owner)
            coefficients = chebyshev.chebfit(nodes, values, degree)
            approx = chebyshev.chebval(self._s(check), coefficients).T.reshape(exact.shape)
            if np.max(np.abs(approx - exact)) <= 1e-12 * scale:
                break
        else:
            off = np.max(np.abs(approx - exact))
            raise ValueError(
                f"constraints='exact': {owner} is not smooth enough to hold exactly (its "
                f"Chebyshev interpolant of degree 512 is off by {off:.1e}); write it with "
                "torch functions or use constraints='soft'")
        self.coefficients = coefficients.reshape(degree + 1, n_outputs)
        self._torch, self._memo = {}, {}

    @staticmethod
    def _values(function, x, n_outputs, owner):
        return _as_outputs(function(x), x.shape[0], n_outputs, owner)

    def _s(self, x):
        return (2 * x - (self.low + self.high)) / (self.high - self.low)

    def _x(self, s):
        return 0.5 * (self.low + self.high) + 0.5 * (self.high - self.low) * s

    def evaluate(self, x, order=0):
        """The ``order``-th derivative at the points ``x`` (1-D tensor): ``(n, n_outputs)``.

        The last few values are kept with the points they were computed at: a fit
        evaluates ``u0`` at the same collocation points (a few slices of them) until they
        are redrawn, and Clenshaw's recurrence is a loop over the degree."""
        key = (order, x.shape, x.dtype, x.device, x.data_ptr(), x.stride(), x._version)
        memo = self._memo.get(key)
        if memo is not None:  # memo[0] holds the storage: its address is not reused
            return memo[1].clone()  # a fresh output for each autograd node
        values = self._evaluate(x, order)
        if len(self._memo) >= 8:  # a loss evaluates a few slices of the same points
            self._memo.pop(next(iter(self._memo)))
        self._memo[key] = (x.detach(), values)
        return values

    def _evaluate(self, x, order):
        key = (order, x.dtype, x.device)
        if key not in self._torch:
            c = self.coefficients
            for _ in range(order):
                c = chebyshev.chebder(c, axis=0) if c.shape[0] > 1 else np.zeros_like(c[:1])
            c = c * (2.0 / (self.high - self.low)) ** order
            self._torch[key] = torch.as_tensor(c, dtype=x.dtype, device=x.device)
        c = self._torch[key]
        with torch.no_grad():
            s = ((2 * x - (self.low + self.high)) / (self.high - self.low))[:, None]
            # Clenshaw's recurrence
            b1 = torch.zeros((x.shape[0], c.shape[1]), dtype=x.dtype, device=x.device)
            b2 = torch.zeros_like(b1)
            for k in range(c.shape[0] - 1, 0, -1):
                b1, b2 = 2 * s * b1 - b2 + c[k], b1
            return s * b1 - b2 + c[0]

    def _traced(self, x):
        """The series at ``x`` under torch.func (the Gauss-Newton rows): the recurrence
        itself, which those transforms differentiate as they go, in two operations a step
        and without the trailing coefficients below rounding (the series holds to 1e-12),
        as every operation costs at each level of the transforms. The tensor of
        coefficients is made at each call: one made under a transform and kept would stay
        wrapped in it."""
        c = self.coefficients
        keep = np.abs(c).max(1) > 1e-14 * np.abs(c).max()
        c = torch.as_tensor(c[:int(np.nonzero(keep)[0].max()) + 1], dtype=x.dtype,
                            device=x.device)
        s = ((2 * x - (self.low + self.high)) / (self.high - self.low))[:, None]
        if c.shape[0] == 1:
            return c[0] + 0 * s
        two_s, b1, b2 = 2 * s, c[-1].expand(s.shape[0], -1), 0.0
        for k in range(c.shape[0] - 2, 0, -1):
            b1, b2 = torch.addcmul(c[k] - b2, two_s, b1), b1
        return torch.addcmul(c[0] - b2, s, b1)

    def __call__(self, x):
        if torch._C._are_functorch_transforms_active():
            return self._traced(x)
        return _ChebyshevDerivative.apply(x, self, 0)

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_torch"], state["_memo"] = {}, {}
        return state


def _torch_callable(function, x_example, n_outputs):
    """``function`` itself if it maps a torch tensor to a differentiable torch tensor of
    the right size, else None."""
    x = x_example.detach().clone().requires_grad_(True)
    try:
        out = function(x)
    except Exception:  # written for NumPy (np.asarray on a tensor that requires grad)
        return None
    if not torch.is_tensor(out) or not out.requires_grad or out.shape[0] != x.shape[0]:
        return None
    if out.numel() not in (x.shape[0], x.shape[0] * n_outputs):
        return None
    return function


class ExactModel(torch.nn.Module):
    """``u(X)`` with the equation's periodic boundary, initial condition and compatible
    Dirichlet values built in; see the module docstring.

    Parameters
    ----------
    network : torch.nn.Module
        Maps the embedded inputs (:meth:`n_features`) to the outputs.
    plan : dict
        What :func:`exact_plan` found.
    """

    #: The boundary conditions hold by construction: no boundary loss term (a periodic
    #: slope term would even penalize what cannot change, ``u0``'s own slope mismatch
    #: across the boundary near ``t0``, as Allen-Cahn's ``x^2 cos(pi x)`` has).
    builds_in_boundary = True

    def __init__(self, network, plan):
        super().__init__()
        self.network = network
        self.plan = plan

    @staticmethod
    def n_features(plan):
        n = 0
        for kind, _ in plan["columns"]:
            n += {"periodic": 2 * plan["n_harmonics"], "time": 1 + 2 * plan["time_features"],
                  "scaled": 1}[kind]
        return n

    def _blocks(self, X, n_d=0, order=0):
        """Per coordinate, its feature columns: values (all rows) and, on the first
        ``n_d`` rows, their first and second derivatives along that coordinate."""
        plan, blocks = self.plan, []
        for index, (kind, (low, high)) in enumerate(plan["columns"]):
            x = X[:, index:index + 1]
            if kind == "periodic" or (kind == "time" and plan["time_features"]):
                count = plan["n_harmonics"] if kind == "periodic" else plan["time_features"]
                omega = (2 if kind == "periodic" else 1) * math.pi / (high - low)
                k = omega * torch.arange(1, count + 1, dtype=X.dtype, device=X.device)
                phase = (x - low) * k
                cos, sin = torch.cos(phase), torch.sin(phase)
                values = [torch.cat([cos, sin], 1)]
                if order:
                    slopes = [torch.cat([-sin[:n_d] * k, cos[:n_d] * k], 1)]
                    curves = [torch.cat([-cos[:n_d] * k * k, -sin[:n_d] * k * k], 1)]
                else:  # values only (forward, predict)
                    slopes, curves = [], []
            else:
                values, slopes, curves = [], [], []
            if kind != "periodic":
                width = 2.0 / (high - low)
                values.insert(0, (x - 0.5 * (low + high)) * width)
                if order:
                    slopes.insert(0, torch.full((n_d, 1), width, dtype=X.dtype,
                                                device=X.device))
                    curves.insert(0, torch.zeros((n_d, 1), dtype=X.dtype, device=X.device))
            blocks.append((torch.cat(values, 1),
                           torch.cat(slopes, 1) if order else None,
                           torch.cat(curves, 1) if order > 1 else None))
        return blocks

    def features(self, X):
        return torch.cat([values for values, _, _ in self._blocks(X)], 1)

    def forward(self, X):
        return self.combine(X, self.network(self.features(X)))

    def jet(self, X, n_derivative_rows, first, second=()):
        """The network's value and derivatives along the coordinates (not the features)
        on the first ``n_derivative_rows`` rows; :meth:`combine` then gives ``u``
        (``PINNProblem`` applies the chain rule through it)."""
        n_d = int(n_derivative_rows)
        blocks = self._blocks(X, n_d, 2 if second else 1)
        widths = [values.shape[1] for values, _, _ in blocks]
        offsets = np.concatenate([[0], np.cumsum(widths)])
        F = int(offsets[-1])

        def tangent(column, which):
            T = X.new_zeros((n_d, F))
            T[:, offsets[column]:offsets[column + 1]] = blocks[column][which]
            return T

        T1 = torch.stack([tangent(c, 1) for c in first]) if first else X.new_zeros((0, n_d, F))
        T2 = torch.stack([tangent(c, 2) for c in second]) if second else None
        features = torch.cat([values for values, _, _ in blocks], 1)
        return self.network.jet(features, n_d, tuple(first), tuple(second),
                                tangents=(T1, T2 if T2 is not None else T1[:0]))

    def combine(self, X, N):
        """``u`` from the network's output ``N`` (``(n,)`` or ``(n, k)``, as given)."""
        plan = self.plan
        shape = N.shape
        N = N.reshape(X.shape[0], -1)
        factor, base = None, None
        if plan["distance"] is not None:
            column, (a, b) = plan["distance"]
            x = X[:, column:column + 1]
            factor = (x - a) * (b - x) * (4.0 / (b - a) ** 2)
        if plan["time"] is not None:
            column, (t0, t1) = plan["time"]
            s = (X[:, column:column + 1] - t0) / (t1 - t0)
            width = plan.get("initial_width")
            base = self._initial(X)
            if width:
                # u = u0 + (1 - exp(-s / width)) (N - u0): N is u itself after the first
                # few widths, not the divided difference (u - u0) / s, whose size grows
                # with the speed of the solution near t0.
                s = -torch.expm1(-s / width)
                N = N - base
            factor = s if factor is None else s * factor
        elif plan["ends"] is not None:  # steady, Dirichlet ends: linear interpolation
            column, (a, b), (g_a, g_b) = plan["ends"]
            x = X[:, column:column + 1]
            g_a = torch.as_tensor(g_a, dtype=X.dtype, device=X.device)
            g_b = torch.as_tensor(g_b, dtype=X.dtype, device=X.device)
            base = g_a + (x - a) / (b - a) * (g_b - g_a)
        u = N if factor is None else factor * N
        u = u if base is None else base + u
        return u.reshape(shape)

    def _initial(self, X):
        """``u0`` at the spatial coordinates of ``X``: ``(n, n_outputs)``."""
        plan = self.plan
        u0 = plan["initial"]
        if u0 is None:  # an ODE: constant initial values
            values = torch.as_tensor(plan["initial_values"], dtype=X.dtype, device=X.device)
            return values.expand(X.shape[0], -1)
        spatial = plan["spatial"]
        x = X[:, spatial[0]] if len(spatial) == 1 else X[:, list(spatial)]
        out = u0(x)
        return out.reshape(X.shape[0], -1)


def harmonics_for(pde, column, tol=1e-6, most=8):
    """How many harmonics of ``column``'s period the embedding needs: the fewest whose
    trigonometric projection holds the initial condition along that coordinate to ``tol``
    (relative, at 64 points of a line along it; four lines with more spatial
    coordinates), at least 1 and at most ``most``; ``most`` when the equation
    has no initial condition along it. ``sin(x)`` needs 1; the Gaussian bump of the
    reaction, 8; Allen-Cahn's ``x^2 cos(pi x)``, whose slope jumps across the boundary,
    more than 8."""
    if pde.time_index is None or pde.initial_condition is None:
        return most
    spatial = list(pde.spatial_indices)
    others = [i for i in spatial if i != column]
    low, high = (float(v) for v in pde.bounds[column])
    start, needed = pde.initial_points(1), 1
    # Lines along the coordinate at t_min; with more spatial coordinates, several lines at
    # fixed, asymmetric fractions of the others' ranges (one line may miss a mode: cos y
    # vanishes at y = pi / 2), taking what the most demanding line needs.
    for fraction in ((0.13, 0.37, 0.61, 0.89) if others else (0.0,)):
        points = np.repeat(start, 64, axis=0)
        points[:, column] = np.linspace(low, high, 64, endpoint=False)
        for other in others:
            a, b = (float(v) for v in pde.bounds[other])
            points[:, other] = a + fraction * (b - a)
        x = points[:, spatial[0]] if len(spatial) == 1 else points[:, spatial]
        values = np.asarray(pde.initial_condition(x), dtype=float).reshape(64, -1)
        spectrum = np.abs(np.fft.rfft(values, axis=0))  # (33, outputs)
        total = np.sqrt((spectrum ** 2).sum(0)).max() or 1.0
        k = next((k for k in range(1, most + 1)
                  if np.sqrt((spectrum[k + 1:] ** 2).sum(0)).max() <= tol * total), most)
        needed = max(needed, k)
    return needed


#: The initial condition's blend width, a share of the time span (see :class:`ExactModel`).
INITIAL_WIDTH = 0.05


def exact_plan(pde, n_outputs, time_features, n_harmonics=1, initial_width=INITIAL_WIDTH):
    """What :class:`ExactModel` builds in for ``pde``, or a ValueError saying why it cannot
    apply."""
    if pde.geometries:
        return distance_plan(pde, n_outputs)
    kinds = pde.boundary_kinds()
    time = pde.time_index
    domain = [tuple(map(float, r)) for r in pde.bounds]
    columns = []
    for index in range(len(pde.coordinates)):
        kind = kinds.get(index)
        if index == time:
            columns.append(("time", domain[index]))
        elif kind == "periodic":
            columns.append(("periodic", domain[index]))
        else:
            columns.append(("scaled", domain[index]))
    dirichlet = [i for i, kind in kinds.items() if kind == "dirichlet"]
    other = [i for i, kind in kinds.items() if kind not in ("dirichlet", "periodic")]
    name = type(pde).__name__
    if other:
        raise ValueError(
            f"constraints='exact' cannot build in the {kinds[other[0]]} boundary of {name} "
            f"(coordinate {pde.coordinates[other[0]]!r}); use constraints='soft'")
    if len(dirichlet) > 1:
        raise ValueError(
            f"constraints='exact' builds in Dirichlet values on one coordinate; {name} has "
            f"them on {[pde.coordinates[i] for i in dirichlet]}: use constraints='soft'")
    spatial = tuple(pde.spatial_indices)
    if n_harmonics == "auto":
        periodic = [i for i, (kind, _) in enumerate(columns) if kind == "periodic"]
        n_harmonics = max([harmonics_for(pde, i) for i in periodic], default=1)
    plan = {"columns": columns, "n_harmonics": int(n_harmonics),
            "time_features": int(time_features), "distance": None, "time": None,
            "ends": None, "initial": None, "initial_values": None, "spatial": spatial,
            "initial_width": initial_width}
    ends = None
    if dirichlet:
        column = dirichlet[0]
        a, b = domain[column]
        ends = _dirichlet_ends(pde, column, n_outputs)
        plan["distance"] = (column, (a, b))
    if time is None:
        if ends is not None:
            plan["ends"] = (dirichlet[0], domain[dirichlet[0]], ends)
        return plan
    plan["time"] = (time, domain[time])
    if pde.initial_condition is None:
        raise ValueError(f"constraints='exact': {name} has no initial condition to build in")
    if not spatial:
        # an equation in t alone: one value per output at t_min
        values = pde.initial_values(pde.initial_points(1))
        plan["initial_values"] = np.asarray(values, dtype=float).reshape(-1)
        return plan
    probe = torch.as_tensor(pde.initial_points(4)[:, list(spatial)], dtype=torch.float64)
    probe = probe[:, 0] if len(spatial) == 1 else probe
    u0 = _torch_callable(pde.initial_condition, probe, n_outputs)
    if u0 is None:
        if len(spatial) != 1:
            raise ValueError(
                f"constraints='exact': {name}.initial_condition is written for NumPy, and a "
                "closed form in torch is needed in more than one spatial dimension; write it "
                "with torch functions (it receives a tensor of shape (n, d)) or use "
                "constraints='soft'")
        low, high = domain[spatial[0]]
        u0 = ChebyshevSeries(pde.initial_condition, low, high, n_outputs,
                             owner=f"{name}.initial_condition")
    plan["initial"] = u0
    if ends is not None:
        column = dirichlet[0]
        a, b = domain[column]
        start = torch.as_tensor([a, b], dtype=torch.float64)
        values = u0(start if len(spatial) == 1 else _at_ends(pde, column, a, b))
        values = values.detach().reshape(2, -1, n_outputs).numpy()  # (end, point, output)
        worst = np.abs(values - np.stack(ends)[:, None, :]).max(1)  # per end and output
        if not np.allclose(worst, 0.0, atol=1e-9):
            raise ValueError(
                f"constraints='exact': {name}'s Dirichlet values at the ends "
                f"{np.stack(ends).tolist()} differ from its initial condition there (by "
                f"up to {worst.tolist()}); use constraints='soft'")
    return plan


def _at_ends(pde, column, a, b, n=16):
    """Points of the two end faces of ``column`` at ``t_min``, the other spatial coordinates
    spread over their ranges: ``n`` rows at ``a``, then ``n`` at ``b``."""
    spatial = list(pde.spatial_indices)
    unit = (np.arange(n) + 0.5) / n
    points = np.empty((2 * n, len(spatial)))
    for position, index in enumerate(spatial):
        low, high = (float(v) for v in pde.bounds[index])
        # each other coordinate visits the range in its own order, so that the rows do not
        # all lie on one diagonal
        points[:, position] = np.tile(low + np.roll(unit, 5 * position) * (high - low), 2)
    points[:, spatial.index(column)] = np.repeat([a, b], n)
    return torch.as_tensor(points, dtype=torch.float64)


def _dirichlet_ends(pde, column, n_outputs):
    """The Dirichlet values at the two ends of ``column`` (constant along the face and in
    time, or a ValueError)."""
    faces = {side: X for c, side, _, X in pde.boundary_faces(16, pde.bounds) if c == column}
    values = []
    for side in (0, 1):
        X = faces[side]
        g = _as_outputs(pde.boundary_condition(X), X.shape[0], n_outputs, "boundary_condition")
        if not np.allclose(g, g[:1], atol=1e-12, rtol=1e-10):
            raise ValueError(
                f"constraints='exact' builds in Dirichlet values that are constant along each "
                f"end; {type(pde).__name__}'s vary (along the face or in time): use "
                "constraints='soft'")
        values.append(g[0])
    return values


# Exact Dirichlet conditions on a geometry ---------------------------------------------------

def distance_plan(pde, n_outputs):
    """What :class:`DistanceModel` builds in for ``pde`` on a geometry: its geometry and
    columns, and each Dirichlet piece's values (a torch callable, or a constant); a
    ValueError naming why where it cannot apply."""
    name = type(pde).__name__
    if pde.time_index is not None:
        raise ValueError(f"constraints='exact' on a geometry builds in steady Dirichlet "
                         f"values, and {name} has a time coordinate: use "
                         "constraints='soft'")
    if len(pde.geometries) != 1 or len(pde.geometries[0][0]) != len(pde.coordinates):
        raise ValueError(f"constraints='exact' on a geometry needs one geometry over every "
                         f"coordinate of {name}; its domain is {pde.domain!r}")
    columns, geometry = pde.geometries[0]
    kinds = pde.piece_kinds()
    other = sorted({kind for kind in kinds.values() if kind != "dirichlet"})
    if other or not kinds:
        raise ValueError(f"constraints='exact' on a geometry builds in Dirichlet values; "
                         f"{name}'s pieces have {kinds or 'no conditions'}: use "
                         "constraints='soft'")
    geometry.adf(torch.zeros((1, geometry.dim), dtype=torch.float64))  # one, or a ValueError
    pieces = [piece for piece in geometry.pieces if piece in kinds]
    values = [(piece, _piece_values(pde, geometry, piece, n_outputs)) for piece in pieces]
    return {"geometry": geometry, "columns": columns, "values": values,
            "free": [piece for piece in geometry.pieces if piece not in kinds]}


def _piece_values(pde, geometry, piece, n_outputs):
    """A piece's Dirichlet values for torch rows: the condition itself where it takes and
    returns torch tensors, else its constant value (checked on the piece)."""
    function = getattr(pde, "boundary_condition_function", None)
    if isinstance(function, dict):
        function = function.get(piece)
    sample = geometry.sample_boundary(256, np.random.default_rng(0))
    X = sample.points[sample.pieces == piece]
    values = pde.boundary_values(X, piece)
    if not np.all(np.isfinite(values)):
        raise ValueError(f"constraints='exact' holds every output on a Dirichlet piece, "
                         f"and {type(pde).__name__}'s condition leaves one free (NaN) on "
                         f"{piece!r}: use constraints='soft'")
    if function is not None:
        usable = _torch_callable(function, torch.as_tensor(X[:8]), n_outputs)
        if usable is not None:
            return usable
    if np.ptp(values, axis=0).max() <= 1e-12 * max(np.abs(values).max(), 1.0):
        return values[0].copy()
    raise ValueError(
        f"constraints='exact' on a geometry evaluates the boundary values inside the "
        f"domain, in torch: write {type(pde).__name__}'s boundary_condition for piece "
        f"{piece!r} with torch operations (torch.sin, not np.sin), or make it constant "
        "there, or use constraints='soft'")


class DistanceModel(torch.nn.Module):
    """``u = g~(x) + phi(x) N(x)`` on a geometry (see the module docstring).

    ``g~`` and ``phi`` depend on the points alone: :meth:`jet` computes them and their
    derivatives once per set of collocation points (autograd through the distance
    functions, kept for the next call with the same points) and combines them with the
    network's hand-written jet by the product rule, so a fit with exact constraints
    costs about what a fit without them costs.
    """

    builds_in_boundary = True

    #: How many point sets' fields :meth:`jet` keeps (the collocation points, and the
    #: few other sets a loss evaluates at once).
    CACHED = 4

    def __init__(self, network, plan):
        super().__init__()
        self.network = network
        self.plan = plan
        self._fields_cache = []

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_fields_cache"] = []
        return state

    def _extension(self, X):
        """``(g~, phi)`` at ``X``: ``(n, n_outputs)`` and ``(n, 1)``."""
        plan = self.plan
        geometry = plan["geometry"]
        inner = X[:, list(plan["columns"])]
        tiny = torch.finfo(X.dtype).eps ** 2  # on a piece, its weight is 1 to rounding
        inverse = [1.0 / geometry.adf(inner, piece).clamp(min=tiny)
                   for piece, _ in plan["values"]]
        total = sum(inverse)
        extension = 0.0
        for w, (_, value) in zip(inverse, plan["values"]):
            g = value(X) if callable(value) else torch.as_tensor(value, dtype=X.dtype,
                                                                 device=X.device)
            g = g.reshape(X.shape[0], -1) if callable(value) else g
            extension = extension + (w / total)[:, None] * g
        return extension.expand(X.shape[0], -1), (1.0 / total)[:, None]

    def forward(self, X):
        extension, phi = self._extension(X)
        return extension + phi * self.network(X)

    def _fields(self, X, n_d, first, second):
        """``(g~, phi)`` on every row of ``X`` and their derivatives along ``first`` and
        ``second`` on the first ``n_d``, stacked as the jet's ``D`` is; cached."""
        key = (X._version, X.dtype, n_d, first, second)
        for entry in self._fields_cache:
            if entry[0] is X and entry[1] == key:
                return entry[2]

        def fields_of(Z):
            return torch.cat(self._extension(Z), 1)

        if first:
            with torch.no_grad():
                width = fields_of(X[:1]).shape[1]  # the outputs' values, then phi
            indices = [(c,) for c in first] + [(c, c) for c in second]
            names = {(index, k): (k, index) for index in indices for k in range(width)}
            with torch.enable_grad():
                values, d = autograd_derivatives(fields_of, X, n_d, names, graph=False)
            D = torch.stack([torch.stack([d[index, k] for k in range(width)], 1)
                             for index in indices]).detach()
            fields = (values.detach(), D)
        else:
            with torch.no_grad():
                fields = (fields_of(X), None)
        self._fields_cache = [(X, key, fields)] + self._fields_cache[:self.CACHED - 1]
        return fields

    def jet(self, X, n_derivative_rows, first, second=()):
        """``u`` on every row of ``X`` and its derivatives along ``first`` (first order)
        and ``second`` (pure second order) on the first ``n_derivative_rows``, from the
        network's jet by the product rule: ``u_i = g_i + phi_i N + phi N_i``, ``u_ii =
        g_ii + phi_ii N + 2 phi_i N_i + phi N_ii``."""
        n_d, first, second = int(n_derivative_rows), tuple(first), tuple(second)
        N, DN = self.network.jet(X, n_d, first, second)
        values, DF = self._fields(X, n_d, first, second)
        values = values.to(N.dtype)
        g, phi = values[:, :-1], values[:, -1:]
        u = g + phi * N
        if not first:
            return u, DN
        DF = DF.to(N.dtype)
        N_d, phi_d = N[:n_d], phi[:n_d]
        rows = []
        for i in range(len(first)):
            rows.append(DF[i, :, :-1] + DF[i, :, -1:] * N_d + phi_d * DN[i])
        for j, c in enumerate(second):
            i, r = first.index(c), len(first) + j
            rows.append(DF[r, :, :-1] + DF[r, :, -1:] * N_d + 2 * DF[i, :, -1:] * DN[i]
                        + phi_d * DN[r])
        return u, torch.stack(rows)
