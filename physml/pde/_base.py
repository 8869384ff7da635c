"""What an equation is: coefficients, domain, residual, initial and boundary data."""

import math
import re

import numpy as np
from sklearn.base import BaseEstimator

_DERIVATIVE = re.compile(r"^u_([a-z]+)$")

BOUNDARIES = ("periodic", "dirichlet")


def parse_derivative(name, coordinates):
    """``"u_xx"`` -> ``(0, 0)`` for coordinates ``("x", "t")``; a ValueError otherwise."""
    match = _DERIVATIVE.match(name)
    if not match or any(c not in coordinates for c in match.group(1)):
        raise ValueError(
            f"derivative {name!r} is not of the form 'u_' + coordinates from {coordinates}"
        )
    return tuple(coordinates.index(c) for c in match.group(1))


class PDE(BaseEstimator):
    """Base class of a time-dependent PDE ``residual(u, derivatives) = 0`` in ``(x, t)``.

    A PDE is a parameter object: its coefficients are constructor arguments, so
    ``get_params``/``set_params`` work, ``clone`` copies it, and a ``PINNRegressor`` exposes
    them as nested parameters (``pde__beta``) to ``GridSearchCV``.

    Subclasses define ``derivatives`` (the names the residual reads, e.g. ``("u_t", "u_x")``),
    ``coefficient_names``, ``residual``, ``initial_condition`` and, where one is known,
    ``reference_solution``. ``domain`` is ``((x_min, x_max), (t_min, t_max))``; ``boundary``
    is ``"periodic"`` (``u(x_min, t) = u(x_max, t)``, and the same for ``u_x`` when the
    equation is second order in x) or ``"dirichlet"`` (``u = boundary_condition`` on both
    ends).

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

    coordinates = ("x", "t")
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
        from sklearn.base import clone

        return clone(self).set_params(**values)

    @property
    def periodic(self):
        return self.boundary == "periodic"

    def residual(self, X, u, d, coefficients):
        """The PDE residual at collocation points ``X`` (a torch tensor, shape ``(n, 2)``).

        ``u`` has shape ``(n,)``; ``d`` maps each name in ``derivatives`` to a tensor of shape
        ``(n,)``; ``coefficients`` maps each coefficient name to a float or a tensor (a tensor
        when the coefficient is being learned).
        """
        raise NotImplementedError

    def initial_condition(self, x):
        """``u(x, t_min)`` for an array of x."""
        raise NotImplementedError

    def boundary_condition(self, x, t):
        """Dirichlet boundary values ``u(x, t)`` on ``x`` in ``{x_min, x_max}`` (default 0)."""
        return np.zeros_like(np.asarray(t, dtype=float))

    def reference_solution(self, X):
        """The solution at the rows ``(x, t)`` of ``X``, from an exact or converged solver."""
        raise NotImplementedError(f"{type(self).__name__} has no reference solution")

    def validate(self):
        """Raise a ValueError naming the problem when the equation is ill-specified."""
        if self.boundary not in BOUNDARIES:
            raise ValueError(f"boundary={self.boundary!r}; choose one of {BOUNDARIES}")
        for name in self.derivatives:
            parse_derivative(name, self.coordinates)
        for name, value in self.coefficients.items():
            if callable(value):
                continue
            if not np.isfinite(value):
                raise ValueError(f"coefficient {name}={value!r} must be finite")
        (x0, x1), (t0, t1) = self.domain
        if not (x0 < x1 and t0 < t1):
            raise ValueError(f"domain={self.domain!r} must have min < max in each coordinate")
        return self

    # Data the paper's setup draws from the equation -----------------------------------

    def spatial_grid(self, n_x):
        """``n_x`` points in ``[x_min, x_max)`` (periodic) or ``[x_min, x_max]`` (Dirichlet)."""
        (x0, x1), _ = self.domain
        return np.linspace(x0, x1, n_x, endpoint=not self.periodic)

    def initial_data(self, n_points=256):
        """Observed initial values: ``X`` of shape ``(n_points, 2)`` with ``t = t_min``, and u."""
        x = self.spatial_grid(n_points)
        t0 = self.domain[1][0]
        X = np.column_stack([x, np.full_like(x, t0)])
        return X, np.asarray(self.initial_condition(x), dtype=float)

    def grid(self, n_x=256, n_t=100):
        """The evaluation grid: ``n_x`` points in space times ``n_t`` in ``[t_min, t_max]``.

        Rows are ordered with x varying fastest, shape ``(n_t * n_x, 2)``.
        """
        x = self.spatial_grid(n_x)
        t = np.linspace(*self.domain[1], n_t)
        xx, tt = np.meshgrid(x, t)
        return np.column_stack([xx.ravel(), tt.ravel()])


class CustomPDE(PDE):
    """A PDE from a residual callable, for equations physml does not ship.

    Parameters
    ----------
    residual : callable
        ``residual(X, u, d, coefficients) -> tensor``; see :meth:`PDE.residual`. Use a
        module-level function so that the estimator pickles.
    derivatives : tuple of str
        The derivatives ``residual`` reads, e.g. ``("u_t", "u_xx")``.
    initial_condition : callable
        ``u(x, t_min)`` for a NumPy array of x.
    coefficients : dict, default=None
        Coefficient names and values passed to ``residual``.
    domain : tuple, default=((0, 2 pi), (0, 1))
    boundary : {"periodic", "dirichlet"}, default="periodic"
    solution : callable, default=None
        Exact solution ``u(X)`` for rows ``(x, t)``, used as the reference solution.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import CustomPDE
    >>> def heat(X, u, d, c):
    ...     return d["u_t"] - c["kappa"] * d["u_xx"]
    >>> pde = CustomPDE(heat, derivatives=("u_t", "u_xx"), initial_condition=np.sin,
    ...                 coefficients={"kappa": 1.0},
    ...                 solution=lambda X: np.exp(-X[:, 1]) * np.sin(X[:, 0]))
    >>> X, u = pde.initial_data(4)
    >>> np.allclose(pde.reference_solution(X), u)
    True
    """

    def __init__(self, residual=None, derivatives=(), initial_condition=None,
                 coefficients=None, domain=((0.0, 2 * math.pi), (0.0, 1.0)),
                 boundary="periodic", solution=None):
        self.residual_function = residual
        self.derivatives = derivatives
        self.initial_condition_function = initial_condition
        self.coefficients_dict = coefficients
        self.domain = domain
        self.boundary = boundary
        self.solution = solution

    def get_params(self, deep=True):
        return {
            "residual": self.residual_function,
            "derivatives": self.derivatives,
            "initial_condition": self.initial_condition_function,
            "coefficients": self.coefficients_dict,
            "domain": self.domain,
            "boundary": self.boundary,
            "solution": self.solution,
        }

    def set_params(self, **params):
        renamed = {"residual": "residual_function",
                   "initial_condition": "initial_condition_function",
                   "coefficients": "coefficients_dict"}
        valid = self.get_params()
        for key, value in params.items():
            if key not in valid:
                raise ValueError(f"Invalid parameter {key!r} for CustomPDE; valid: {sorted(valid)}")
            setattr(self, renamed.get(key, key), value)
        return self

    @property
    def coefficient_names(self):
        return tuple(self.coefficients_dict or ())

    def with_coefficients(self, **values):
        unknown = sorted(set(values) - set(self.coefficient_names))
        if unknown:
            raise ValueError(f"CustomPDE has no coefficient {unknown[0]!r}; its coefficients: "
                             f"{self.coefficient_names}")
        from sklearn.base import clone

        return clone(self).set_params(coefficients={**self.coefficients, **values})

    @property
    def coefficients(self):
        return dict(self.coefficients_dict or {})

    def residual(self, X, u, d, coefficients):
        if self.residual_function is None:
            raise ValueError("CustomPDE needs a `residual` callable")
        return self.residual_function(X, u, d, coefficients)

    def initial_condition(self, x):
        if self.initial_condition_function is None:
            raise ValueError("CustomPDE needs an `initial_condition` callable")
        return self.initial_condition_function(x)

    def reference_solution(self, X):
        if self.solution is None:
            raise NotImplementedError("CustomPDE was given no `solution`")
        return np.asarray(self.solution(np.asarray(X, dtype=float)), dtype=float)
