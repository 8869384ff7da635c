"""What an equation is: coordinates, outputs, coefficients, domain, residual, conditions."""

import math
from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils._param_validation import StrOptions

from ..geometry import Geometry

#: The boundary kinds a spatial coordinate or a boundary piece may have (None: no
#: boundary condition; "periodic" for a box's coordinates only).
BOUNDARIES = ("periodic", "dirichlet", "neumann", None)

def robin_coefficient(kind):
    """``a`` of a Robin kind ``("robin", a)``, the condition ``du/dn + a u = g`` (``g`` the
    ``boundary_condition``); None for any other kind."""
    if isinstance(kind, (tuple, list)) and len(kind) == 2 and kind[0] == "robin":
        return float(kind[1])
    return None


#: Boundary rows drawn for a geometry: this many per face a box of its dimension would
#: have (``n_boundary`` per face), shared out over its pieces by their measure.
FACES_PER_DIMENSION = 2


class PieceSide:
    """Where a boundary row of a geometry lies: its piece's name and the outward unit
    normals at the rows (what a box face's side says for its coordinate)."""

    def __init__(self, piece, normals):
        self.piece, self.normals = piece, normals

#: The coordinate that is time: the initial condition holds at its minimum.
TIME = "t"


def parse_derivative(name, coordinates, outputs=("u",)):
    """``"u_xx"`` -> ``(0, (0, 0))``: the output's index and the coordinates' indices.

    A derivative is named ``<output>_<coordinates>``: ``"u_t"``, ``"v_xy"``, ``"y1_t"``,
    ``"u_xxx"``; coordinate names are matched longest first (``"u_x1x2"`` with
    coordinates ``("x1", "x2")``). A ValueError names what does not parse.
    """
    output, sep, rest = str(name).rpartition("_")
    if not sep or not output or not rest:
        raise ValueError(f"derivative {name!r} is not of the form '<output>_<coordinates>', "
                         f"e.g. '{outputs[0]}_{coordinates[0]}'")
    if output not in outputs:
        raise ValueError(f"derivative {name!r} names output {output!r}, which is not one of "
                         f"outputs={tuple(outputs)}")
    by_length = sorted(coordinates, key=len, reverse=True)
    index, position = [], 0
    while position < len(rest):
        match = next((c for c in by_length if rest.startswith(c, position)), None)
        if match is None:
            raise ValueError(f"derivative {name!r}: {rest[position:]!r} is not made of "
                             f"coordinates={tuple(coordinates)}")
        index.append(coordinates.index(match))
        position += len(match)
    return outputs.index(output), tuple(index)


def _as_outputs(values, n_rows, n_outputs, what):
    """``values`` as an array of shape ``(n_rows, n_outputs)``: accepts ``(n_rows,)`` (one
    output, or the same value for every output), ``(n_rows, n_outputs)``, and one value per
    output (a constant, e.g. an ODE's initial state). A ValueError names ``what``."""
    values = np.asarray(values, dtype=float)
    if values.ndim == 0:
        values = np.full(n_rows, float(values))
    if values.ndim == 1 and values.shape[0] == n_rows:
        return np.repeat(values[:, None], n_outputs, axis=1)
    if values.ndim == 1 and values.shape[0] == n_outputs:
        return np.tile(values, (n_rows, 1))
    if values.shape == (n_rows, n_outputs):
        return values
    raise ValueError(
        f"{what} returned shape {values.shape}; expected ({n_rows},) or ({n_rows}, "
        f"{n_outputs}) for {n_rows} points and {n_outputs} output(s), or one value per output")


class PDE(BaseEstimator):
    """Base class of an equation ``residual(X, u, derivatives) = 0`` on a box.

    A PDE is a parameter object: its coefficients are constructor arguments, so
    ``get_params``/``set_params`` work, ``clone`` copies it, and a ``PINNRegressor`` exposes
    them as nested parameters (``pde__beta``) to ``GridSearchCV``.

    What a subclass states (class attributes, or properties):

    - ``coordinates``: names of the inputs, any number (default ``("x", "t")``). ``"t"``
      is time: the initial condition holds at its minimum. Without ``"t"`` the problem is
      steady; with ``"t"`` alone it is a system of ODEs.
    - ``outputs``: names of the fields (default ``("u",)``).
    - ``derivatives``: the derivatives the residual reads, named
      ``<output>_<coordinates>``: ``"u_t"``, ``"u_xx"``, ``"v_xy"``, ``"y1_t"``.
    - ``domain``: one ``(min, max)`` per coordinate, in ``coordinates`` order; or a
      :mod:`physml.geometry` object over all of them; or a tuple mixing pairs and
      geometries, each geometry taking as many coordinates as its dimension
      (``(Disk([0, 0], 1.0), (0.0, 1.0))`` for ``("x", "y", "t")``: a disk in time).
    - ``boundary``: ``"periodic"``, ``"dirichlet"``, ``"neumann"`` (the outward normal
      derivative is given), ``("robin", a)`` (``du/dn + a u`` is given), ``None`` (no
      boundary condition), or a dict
      ``{spatial coordinate or piece name: kind}`` (a geometry's boundary pieces by the
      names its primitives were given; a piece a dict leaves out has no condition).
    - ``coefficient_names`` (and ``positive_coefficients``, those positive by their
      physics, learned through their logarithm), ``residual``, ``initial_condition``,
      ``boundary_condition`` and, where one is known, ``reference_solution``.

    Examples
    --------
    The heat equation ``u_t = kappa u_xx`` on ``[0, 2 pi)`` with a periodic boundary:

    >>> import numpy as np
    >>> from physml.pde import PDE
    >>> class Heat(PDE):
    ...     derivatives = ("u_t", "u_xx")
    ...     coefficient_names = ("kappa",)
    ...     def __init__(self, kappa=1.0):
    ...         self.kappa = kappa
    ...     def residual(self, X, u, d, coefficients):
    ...         return d["u_t"] - coefficients["kappa"] * d["u_xx"]
    ...     def initial_condition(self, x):
    ...         return np.sin(x)
    ...     def reference_solution(self, X):
    ...         return np.exp(-self.kappa * X[:, 1]) * np.sin(X[:, 0])
    >>> Heat(kappa=0.5).get_params()
    {'kappa': 0.5}
    """

    coordinates = ("x", TIME)
    outputs = ("u",)
    derivatives = ()
    coefficient_names = ()
    #: Coefficients that are positive by their physics (a viscosity, a diffusivity): when
    #: learned, they are parameterized by their logarithm so they stay positive.
    positive_coefficients = ()
    domain = ((0.0, 2 * math.pi), (0.0, 1.0))
    boundary = "periodic"

    @property
    def coefficients(self):
        """The coefficients as a dict ``{name: value}``."""
        return {name: getattr(self, name) for name in self.coefficient_names}

    def with_coefficients(self, **values):
        """A copy of the equation with the given coefficients changed (a curriculum stage,
        the fitted values of an inverse problem)."""
        return clone(self).set_params(**values)

    # The geometry ---------------------------------------------------------------------

    def domain_factors(self):
        """``[(columns, geometry), ...]``: the domain's factors in coordinate order, a
        ``(min, max)`` pair as ``((column,), None)``."""
        domain = (self.domain,) if isinstance(self.domain, Geometry) else tuple(self.domain)
        factors, column = [], 0
        for item in domain:
            width = item.dim if isinstance(item, Geometry) else 1
            factors.append((tuple(range(column, column + width)),
                            item if isinstance(item, Geometry) else None))
            column += width
        return factors

    @property
    def geometries(self):
        """``[(columns, geometry), ...]`` for the domain's geometry factors (none on a box)."""
        return [(c, g) for c, g in self.domain_factors() if g is not None]

    @property
    def bounds(self):
        """One ``(min, max)`` per coordinate: the domain itself on a box, the bounding box
        of each geometry factor otherwise."""
        if not self.geometries:
            return tuple(self.domain)
        bounds = []
        for item in ((self.domain,) if isinstance(self.domain, Geometry) else self.domain):
            if isinstance(item, Geometry):
                low, high = item.bounding_box()
                bounds.extend((float(a), float(b)) for a, b in zip(low, high))
            else:
                bounds.append(tuple(item))
        return tuple(bounds)

    def inside(self, X):
        """Whether each row of ``X`` lies in every geometry factor of the domain (all rows
        on a box; the box's own bounds are not checked)."""
        X = np.asarray(X, dtype=float)
        keep = np.ones(X.shape[0], bool)
        for columns, geometry in self.geometries:
            keep &= geometry.contains(X[:, list(columns)])
        return keep

    @property
    def boundary_pieces(self):
        """The names of the geometry factors' boundary pieces."""
        return tuple(dict.fromkeys(name for _, g in self.geometries for name in g.pieces))

    def piece_kinds(self):
        """``{piece name: kind}`` for every geometry piece with a boundary condition."""
        if isinstance(self.boundary, dict):
            kinds = {name: self.boundary.get(name) for name in self.boundary_pieces}
        else:
            kinds = dict.fromkeys(self.boundary_pieces, self.boundary)
        return {name: kind for name, kind in kinds.items() if kind is not None}

    def boundary_values(self, X, piece=None):
        """The boundary condition's values at rows ``X`` (of ``piece``, for a condition
        given per piece), ``(n, n_outputs)``; NaN where an output has no condition."""
        values = self.boundary_condition(X)
        return _as_outputs(values, np.asarray(X).shape[0], len(self.outputs),
                           "boundary_condition")

    @property
    def time_index(self):
        """The column of ``"t"``, or None for a steady problem."""
        return self.coordinates.index(TIME) if TIME in self.coordinates else None

    @property
    def spatial_indices(self):
        """The columns of the spatial coordinates (every coordinate but ``"t"``)."""
        return tuple(i for i, c in enumerate(self.coordinates) if c != TIME)

    def boundary_kinds(self):
        """``{spatial column: kind}`` for every spatial coordinate given as a ``(min, max)``
        pair with a boundary condition (a geometry's pieces: :meth:`piece_kinds`)."""
        in_geometry = {c for columns, _ in self.geometries for c in columns}
        if isinstance(self.boundary, dict):
            kinds = {self.coordinates.index(c): kind for c, kind in self.boundary.items()
                     if c in self.coordinates}
        else:
            kinds = {i: self.boundary for i in self.spatial_indices if i not in in_geometry}
        return {i: kind for i, kind in sorted(kinds.items()) if kind is not None}

    @property
    def periodic(self):
        """Whether every spatial coordinate is periodic."""
        kinds = self.boundary_kinds()
        return bool(kinds) and all(k == "periodic" for k in kinds.values()) and len(
            kinds) == len(self.spatial_indices)

    def _kind(self, column):
        return self.boundary_kinds().get(column)

    # What a subclass states ---------------------------------------------------------------

    def residual(self, X, u, d, coefficients):
        """The residual at collocation points ``X`` (a torch tensor, ``(n, n_coordinates)``).

        ``u`` has shape ``(n,)`` for one output and ``(n, n_outputs)`` for several (columns
        in ``outputs`` order); ``d`` maps each name in ``derivatives`` to a tensor of shape
        ``(n,)``; ``coefficients`` maps each coefficient name to a float or a tensor (a
        tensor when the coefficient is being learned). Returns one tensor of shape ``(n,)``
        or a tuple of them, one per equation (as many as outputs).
        """
        raise NotImplementedError

    def initial_condition(self, x):
        """The outputs at ``t_min``: ``x`` is a 1-D array when there is one spatial
        coordinate, ``(n, d)`` otherwise; returns ``(n,)`` or ``(n, n_outputs)``. For an
        equation in ``t`` alone, state it as a sequence, one value per output."""
        raise NotImplementedError(f"{type(self).__name__} states no initial condition")

    def boundary_condition(self, X):
        """Dirichlet values, or Neumann outward normal derivatives, at boundary rows ``X``
        (full coordinate rows, ``(n, n_coordinates)``): ``(n,)`` or ``(n, n_outputs)``.
        Zero by default."""
        return np.zeros(np.asarray(X).shape[0])

    def reference_solution(self, X):
        """The solution at the rows of ``X``, from an exact or converged solver."""
        raise NotImplementedError(f"{type(self).__name__} has no reference solution")

    def validate(self):
        """Raise a ValueError naming the problem when the equation is ill-specified."""
        coordinates, outputs = tuple(self.coordinates), tuple(self.outputs)
        for what, names in (("coordinates", coordinates), ("outputs", outputs)):
            if not names or len(set(names)) != len(names) or not all(
                    isinstance(n, str) and n for n in names):
                raise ValueError(f"{what}={names!r} must be distinct non-empty names")
        if any("_" in c for c in coordinates):
            raise ValueError(f"coordinates={coordinates!r}: a coordinate name cannot hold '_' "
                             "(derivatives are named '<output>_<coordinates>')")
        boundary = self.boundary
        kinds = boundary.values() if isinstance(boundary, dict) else [boundary]
        for kind in kinds:
            robin = isinstance(kind, (tuple, list)) and len(kind) == 2 and kind[0] == "robin"
            if robin and not (isinstance(kind[1], Real) and math.isfinite(kind[1])):
                raise ValueError(f"boundary kind {kind!r}: a Robin condition is ('robin', a) "
                                 "with a finite number a (du/dn + a u = g)")
            if not robin and kind not in BOUNDARIES:
                raise ValueError(f"boundary kind {kind!r} is not supported; choose one of "
                                 f"{BOUNDARIES} or ('robin', a) (or a dict "
                                 "{coordinate or piece: kind})")
        self._validate_domain()
        pieces = self.boundary_pieces
        if isinstance(boundary, dict):
            for name in boundary:
                if name in pieces:
                    continue
                if name not in coordinates or name == TIME:
                    raise ValueError(
                        f"boundary={boundary!r}: {name!r} is neither a spatial coordinate of "
                        f"{tuple(c for c in coordinates if c != TIME)} nor a boundary piece "
                        f"of the domain {pieces}")
        if "periodic" in self.piece_kinds().values():
            raise ValueError("boundary: 'periodic' holds between the opposite faces of a box; "
                             f"the geometry's pieces {pieces} take 'dirichlet', 'neumann' or "
                             "None")
        for name in self.derivatives:
            parse_derivative(name, coordinates, outputs)
        for name, value in self.coefficients.items():
            if callable(value):
                continue
            if not np.isfinite(value):
                raise ValueError(f"coefficient {name}={value!r} must be finite")
        return self

    def _validate_domain(self):
        coordinates = tuple(self.coordinates)
        domain = (self.domain,) if isinstance(self.domain, Geometry) else tuple(self.domain)
        pairs = [r for r in domain if not isinstance(r, Geometry)]
        width = sum(r.dim if isinstance(r, Geometry) else 1 for r in domain)
        if width != len(coordinates) or not all(
                len(r) == 2 and float(r[0]) < float(r[1]) for r in pairs):
            raise ValueError(f"domain={self.domain!r} must hold one (min, max) with min < max "
                             f"per coordinate of {coordinates}, or geometries taking as many "
                             "coordinates as their dimension")
        time = self.time_index
        for columns, _ in self.geometries:
            if time in columns:
                raise ValueError(f"domain: a geometry takes coordinates "
                                 f"{tuple(coordinates[c] for c in columns)}, time among them; "
                                 "give 't' its own (min, max)")

    # Points and data drawn from the equation ----------------------------------------------

    def spatial_grid(self, n_x, column=None):
        """``n_x`` points of a spatial coordinate (the first by default): ``[min, max)`` when
        it is periodic, ``[min, max]`` otherwise."""
        column = self.spatial_indices[0] if column is None else column
        lo, hi = self.bounds[column]
        return np.linspace(lo, hi, n_x, endpoint=self._kind(column) != "periodic")

    def _box_grid(self, columns, n_points, fixed, endpoints=None):
        """Rows of a grid over ``columns`` (about ``n_points`` rows, the first column
        varying fastest) with the other columns at the values in ``fixed``."""
        n_per = max(int(round(n_points ** (1.0 / len(columns)))), 1) if columns else 1
        if len(columns) == 1:
            n_per = int(n_points)
        axes = [self.spatial_grid(n_per, c) if c in self.spatial_indices and endpoints is None
                else np.linspace(*self.bounds[c], n_per) for c in columns]
        mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1] if axes else []
        n = mesh[0].size if mesh else 1
        X = np.empty((n, len(self.coordinates)))
        for c, values in zip(columns, mesh):
            X[:, c] = values.ravel()
        for c, value in fixed.items():
            X[:, c] = value
        return X

    def initial_points(self, n_points=256, t=None):
        """Rows of the initial surface (``t = t_min``, or ``t``): a grid of about
        ``n_points`` spatial points (one row for an equation in ``t`` alone)."""
        if self.time_index is None:
            raise ValueError(f"{type(self).__name__} is steady (coordinates "
                             f"{tuple(self.coordinates)} hold no 't'): it has no initial time")
        t = self.bounds[self.time_index][0] if t is None else t
        if self.geometries:
            X = self._sample_box(self.bounds, n_points, np.random.default_rng(0))
            X[:, self.time_index] = t
            return X
        return self._box_grid(self.spatial_indices, n_points, {self.time_index: t})

    def initial_values(self, X):
        """``initial_condition`` at the rows ``X`` of the initial surface, as
        ``(n, n_outputs)``; a ValueError when it is missing or of the wrong shape."""
        condition = self.initial_condition
        X = np.asarray(X, dtype=float)
        spatial = X[:, list(self.spatial_indices)]
        if len(self.spatial_indices) == 1:
            spatial = spatial[:, 0]
        if condition is None:
            raise ValueError(f"{type(self).__name__} has no initial_condition: pass the "
                             "observations that pin the solution to fit")
        try:
            values = condition(spatial) if callable(condition) else condition
        except NotImplementedError as error:
            raise ValueError(f"{error}: pass the observations that pin the solution "
                             "to fit") from None
        return _as_outputs(values, X.shape[0], len(self.outputs), "initial_condition")

    def _squeeze(self, y):
        return y[:, 0] if len(self.outputs) == 1 else y

    def initial_data(self, n_points=256):
        """Observed initial values: ``X`` (rows with ``t = t_min``) and the outputs there,
        ``(n,)`` for one output and ``(n, n_outputs)`` for several."""
        X = self.initial_points(n_points)
        return X, self._squeeze(self.initial_values(X))

    def boundary_faces(self, n_points, domain=None, kinds=None):
        """``[(column, side, kind, X), ...]``: rows on each face of the box that has a
        boundary condition (``side`` 0 at the minimum, 1 at the maximum), ``n_points`` a
        face on a grid over the face's other coordinates."""
        domain = self.bounds if domain is None else tuple(domain)
        faces = []
        for column, kind in self.boundary_kinds().items():
            if kinds is not None and kind not in kinds:
                continue
            others = [c for c in range(len(self.coordinates)) if c != column]
            for side in (0, 1):
                box = self if domain == self.bounds else _Box(self, domain)
                X = box._box_grid(others, n_points, {column: domain[column][side]},
                                  endpoints=True)
                if self.geometries:  # the face's part in the geometry factors
                    X = X[self.inside(X)]
                faces.append((column, side, kind, X))
        return faces + self._piece_faces(n_points, domain, kinds)

    def _sample_box(self, domain, n, rng):
        """``n`` rows uniform in the domain within the box ``domain``: inside each geometry
        factor (its own sampler, then kept within the box), uniform along the pairs."""
        X = np.empty((0, len(self.coordinates)))
        while X.shape[0] < n:
            rows = np.empty((n, len(self.coordinates)))
            for columns, geometry in self.domain_factors():
                if geometry is None:
                    lo, hi = domain[columns[0]]
                    rows[:, columns[0]] = lo + rng.random(n) * (hi - lo)
                else:
                    rows[:, list(columns)] = geometry.sample_interior(n, rng)
            within = np.all([(rows[:, c] >= lo) & (rows[:, c] <= hi)
                             for c, (lo, hi) in enumerate(domain)], axis=0)
            X = np.concatenate([X, rows[within]])
        return X[:n]

    def _piece_faces(self, n_points, domain, kinds=None):
        """``[(columns, PieceSide, kind, X), ...]``: rows on each geometry piece with a
        boundary condition, the other coordinates uniform in ``domain``; each geometry
        gets ``FACES_PER_DIMENSION * dim * n_points`` rows over its pieces by measure."""
        piece_kinds = self.piece_kinds()
        rng = np.random.default_rng(0)  # fixed rows, as a box's faces are a fixed grid
        faces = []
        for columns, geometry in self.geometries:
            wanted = [p for p in geometry.pieces if p in piece_kinds
                      and (kinds is None or piece_kinds[p] in kinds)]
            if not wanted:
                continue
            n = FACES_PER_DIMENSION * geometry.dim * int(n_points)
            sample = geometry.sample_boundary(n, rng)
            rows = self._sample_box(domain, n, rng)
            rows[:, list(columns)] = sample.points
            for piece in wanted:
                on = sample.pieces == piece
                faces.append((columns, PieceSide(piece, sample.normals[on]),
                              piece_kinds[piece], rows[on]))
        return faces

    def boundary_data(self, n_points=256):
        """Samples of the Dirichlet boundary values, to pass to ``fit`` with the data:
        ``X`` (about ``n_points`` rows over the Dirichlet faces) and the values,
        ``(n,)`` or ``(n, n_outputs)``."""
        faces = self.boundary_faces(1, kinds=("dirichlet",))
        if not faces:
            raise ValueError(f"{type(self).__name__} has no Dirichlet boundary "
                             f"(boundary={self.boundary!r})")
        if self.geometries:
            per_face = max(int(math.ceil(n_points / (FACES_PER_DIMENSION * len(
                self.spatial_indices)))), 1)
            faces = self.boundary_faces(per_face, kinds=("dirichlet",))
            X = np.concatenate([X for *_, X in faces])
            values = np.concatenate([
                self.boundary_values(X_, side.piece if isinstance(side, PieceSide) else None)
                for _, side, _, X_ in faces])
            return X, self._squeeze(values)
        per_face = max(int(math.ceil(n_points / len(faces))), 1)
        X = np.concatenate([X for *_, X in self.boundary_faces(
            per_face, kinds=("dirichlet",))])
        values = _as_outputs(self.boundary_condition(X), X.shape[0], len(self.outputs),
                             "boundary_condition")
        return X, self._squeeze(values)

    def grid(self, n_x=256, n_t=100):
        """The evaluation grid: ``n_x`` points along each spatial coordinate times ``n_t``
        in ``[t_min, t_max]``, the first coordinate varying fastest (for ``(x, t)``:
        shape ``(n_t * n_x, 2)``, x fastest)."""
        axes = [np.linspace(*self.bounds[c], n_t) if c == self.time_index
                else self.spatial_grid(n_x, c) for c in range(len(self.coordinates))]
        mesh = np.meshgrid(*axes[::-1], indexing="ij")[::-1]
        return np.column_stack([m.ravel() for m in mesh])


class _Box:
    """An equation's geometry on another box (a time block): what ``_box_grid`` reads."""

    def __init__(self, pde, domain):
        self.pde, self.domain, self.bounds = pde, domain, domain
        self.coordinates, self.spatial_indices = pde.coordinates, pde.spatial_indices

    def _kind(self, column):
        return self.pde._kind(column)

    spatial_grid = PDE.spatial_grid
    _box_grid = PDE._box_grid


class CustomPDE(PDE):
    """An equation from a residual callable, for equations physml does not ship.

    Parameters
    ----------
    residual : callable
        ``residual(X, u, d, coefficients) -> tensor or tuple of tensors``; see
        :meth:`PDE.residual`. Use a module-level function so that the estimator pickles.
    derivatives : tuple of str
        The derivatives ``residual`` reads, named ``<output>_<coordinates>``:
        ``("u_t", "u_xx")``, ``("y1_t", "y2_t")``.
    initial_condition : callable, sequence or None, default=None
        The outputs at ``t_min``: a callable of the spatial points (1-D array for one
        spatial coordinate, ``(n, d)`` otherwise) returning ``(n,)`` or
        ``(n, n_outputs)``; for an equation in ``t`` alone, one value per output; None
        when the observations pin the solution.
    coefficients : dict, default=None
        Coefficient names and values passed to ``residual``. Each is also a parameter of
        the equation: ``set_params(kappa=2.0)``, ``pde__kappa`` in a grid search.
    domain : tuple, default=((0, 2 pi), (0, 1))
        One ``(min, max)`` per coordinate.
    boundary : {"periodic", "dirichlet", "neumann"}, ("robin", a), dict or None, \
            default="periodic"
        See :class:`PDE`.
    solution : callable, default=None
        Exact solution at rows ``X``, used as the reference solution.
    coordinates : tuple of str, default=("x", "t")
    outputs : tuple of str, default=("u",)
    boundary_condition : callable, dict or None, default=None
        Dirichlet values or Neumann normal derivatives at boundary rows ``X``
        (``(n,)`` or ``(n, n_outputs)``; a NaN leaves that output free there, as the
        pressure on a no-slip wall), or ``{piece name: callable}`` on a geometry (a
        piece left out: zero); zero when None.
    positive_coefficients : tuple of str, default=()
        Coefficients learned through their logarithm (they stay positive).

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import CustomPDE
    >>> def heat(X, u, d, c):
    ...     return d["u_t"] - c["kappa"] * d["u_xx"]
    >>> def heat_solution(X):
    ...     return np.exp(-X[:, 1]) * np.sin(X[:, 0])
    >>> pde = CustomPDE(heat, derivatives=("u_t", "u_xx"), initial_condition=np.sin,
    ...                 coefficients={"kappa": 1.0}, solution=heat_solution)
    >>> X, u = pde.initial_data(4)
    >>> np.allclose(pde.reference_solution(X), u)
    True
    >>> pde.set_params(kappa=0.5).coefficients
    {'kappa': 0.5}
    """

    _parameter_constraints = {
        "residual": [callable, None],
        "derivatives": ["array-like"],
        "initial_condition": [callable, "array-like", Real, None],
        "coefficients": [dict, None],
        "domain": ["array-like", Geometry],
        "boundary": [StrOptions({b for b in BOUNDARIES if b}), dict, tuple, None],
        "solution": [callable, None],
        "coordinates": ["array-like"],
        "outputs": ["array-like"],
        "boundary_condition": [callable, dict, None],
        "positive_coefficients": ["array-like"],
    }

    _RENAMED = {"residual": "residual_function",
                "initial_condition": "initial_condition_function",
                "coefficients": "coefficients_dict",
                "boundary_condition": "boundary_condition_function",
                "coordinates": "_coordinates", "outputs": "_outputs",
                "positive_coefficients": "_positive"}

    def __init__(self, residual=None, derivatives=(), initial_condition=None,
                 coefficients=None, domain=((0.0, 2 * math.pi), (0.0, 1.0)),
                 boundary="periodic", solution=None, coordinates=("x", TIME),
                 outputs=("u",), boundary_condition=None, positive_coefficients=()):
        self.residual_function = residual
        self.derivatives = derivatives
        self.initial_condition_function = initial_condition
        self.coefficients_dict = coefficients
        self.domain = domain
        self.boundary = boundary
        self.solution = solution
        self._coordinates = coordinates
        self._outputs = outputs
        self.boundary_condition_function = boundary_condition
        self._positive = positive_coefficients

    coordinates = property(lambda self: tuple(self._coordinates))
    outputs = property(lambda self: tuple(self._outputs))
    positive_coefficients = property(lambda self: tuple(self._positive))

    def get_params(self, deep=True):
        params = {name: getattr(self, self._RENAMED.get(name, name)) for name in (
            "residual", "derivatives", "initial_condition", "coefficients", "domain",
            "boundary", "solution", "coordinates", "outputs", "boundary_condition",
            "positive_coefficients")}
        if deep:
            # Each coefficient is a parameter too: GridSearchCV's ``pde__kappa``.
            params.update(self.coefficients)
        return params

    def set_params(self, **params):
        constructor = self.get_params(deep=False)
        coefficients = {}
        for key, value in params.items():
            if key in constructor:
                setattr(self, self._RENAMED.get(key, key), value)
            elif key in self.coefficient_names:
                coefficients[key] = value
            else:
                raise ValueError(f"Invalid parameter {key!r} for CustomPDE; valid: "
                                 f"{sorted(constructor) + sorted(self.coefficient_names)}")
        if coefficients:
            # A new dict: the one passed to the constructor (maybe shared) is not changed.
            self.coefficients_dict = {**self.coefficients, **coefficients}
        return self

    @property
    def coefficient_names(self):
        return tuple(self.coefficients_dict or ())

    def with_coefficients(self, **values):
        unknown = sorted(set(values) - set(self.coefficient_names))
        if unknown:
            raise ValueError(f"CustomPDE has no coefficient {unknown[0]!r}; its coefficients: "
                             f"{self.coefficient_names}")
        return clone(self).set_params(**values)

    @property
    def coefficients(self):
        return dict(self.coefficients_dict or {})

    def residual(self, X, u, d, coefficients):
        if self.residual_function is None:
            raise ValueError("CustomPDE needs a `residual` callable")
        return self.residual_function(X, u, d, coefficients)

    @property
    def initial_condition(self):
        return self.initial_condition_function

    def boundary_condition(self, X):
        if self.boundary_condition_function is None:
            return super().boundary_condition(X)
        if isinstance(self.boundary_condition_function, dict):
            raise ValueError("boundary_condition is given per boundary piece: ask "
                             "boundary_values(X, piece)")
        return self.boundary_condition_function(np.asarray(X, dtype=float))

    def boundary_values(self, X, piece=None):
        function = self.boundary_condition_function
        if not isinstance(function, dict):
            return super().boundary_values(X, piece)
        X = np.asarray(X, dtype=float)
        values = function[piece](X) if piece in function else np.zeros(X.shape[0])
        return _as_outputs(values, X.shape[0], len(self.outputs),
                           f"boundary_condition[{piece!r}]")

    def validate(self):
        super().validate()
        function = self.boundary_condition_function
        if isinstance(function, dict):
            for name, value in function.items():
                if name not in self.boundary_pieces:
                    raise ValueError(f"boundary_condition: {name!r} is no boundary piece of "
                                     f"the domain {self.boundary_pieces}")
                if not callable(value):
                    raise TypeError(f"boundary_condition[{name!r}] must be callable")
        return self

    def reference_solution(self, X):
        if self.solution is None:
            raise NotImplementedError("CustomPDE was given no `solution`")
        return np.asarray(self.solution(np.asarray(X, dtype=float)), dtype=float)
