"""The equations of Krishnapriyan et al. (NeurIPS 2021) and Raissi et al. (2019)."""

import math

import numpy as np

from .._base import reals
from . import reference
from ._base import PDE


def gaussian_bump(x):
    """The paper's initial condition for reaction and reaction-diffusion:
    ``exp(-(x - pi)^2 / (2 (pi/4)^2))``."""
    return np.exp(-((np.asarray(x, dtype=float) - np.pi) ** 2) / (2 * (np.pi / 4) ** 2))


class Convection(PDE):
    """Convection ``u_t + beta u_x = 0`` on ``x in [0, 2 pi)``, ``t in [0, 1]``, periodic.

    Parameters
    ----------
    beta : float, default=1.0
        Convection speed. The standard PINN fails from about ``beta = 20`` on.
    initial_condition : callable, default=numpy.sin
        ``u(x, 0)``; the paper uses ``sin(x)``.

    Notes
    -----
    The exact solution is ``u(x, t) = u0(x - beta t)`` (periodically wrapped). The paper's
    code computes it in Fourier space, ``u_hat(k, t) = u_hat(k, 0) exp(-i beta k t)``;
    :meth:`reference_solution` offers both (``method="exact"`` or ``"fft"``).

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import Convection
    >>> pde = Convection(beta=30.0)
    >>> X = np.array([[1.0, 0.5]])
    >>> np.allclose(pde.reference_solution(X), np.sin(1.0 - 15.0))
    True
    """

    derivatives = ("u_t", "u_x")
    coefficient_names = ("beta",)

    _parameter_constraints = {"beta": [reals()], "initial_condition": [callable]}

    def __init__(self, beta=1.0, initial_condition=np.sin):
        self.beta = beta
        self.initial_condition_function = initial_condition

    def get_params(self, deep=True):
        return {"beta": self.beta, "initial_condition": self.initial_condition_function}

    def set_params(self, **params):
        if "initial_condition" in params:
            self.initial_condition_function = params.pop("initial_condition")
        return super().set_params(**params)

    def residual(self, X, u, d, coefficients):
        return d["u_t"] + coefficients["beta"] * d["u_x"]

    def initial_condition(self, x):
        return self.initial_condition_function(np.asarray(x, dtype=float))

    def reference_solution(self, X, method="exact", n_x=512):
        X = np.asarray(X, dtype=float)
        (x0, x1), (t0, _) = self.domain
        period = x1 - x0
        shift = self.beta * (X[:, 1] - t0)
        if method == "exact":
            return self.initial_condition(x0 + np.mod(X[:, 0] - shift - x0, period))
        if method == "fft":
            grid = np.linspace(x0, x1, n_x, endpoint=False)
            c0 = reference.fourier_coefficients(self.initial_condition(grid))
            # u_hat(k, t) = u_hat(k, 0) exp(-i beta k t) is the series of u0 evaluated at
            # x - beta t: shift the points, which also moves the split Nyquist mode exactly.
            return reference.fourier_evaluate(c0, X[:, 0] - shift, period, x0)
        raise ValueError(f"method={method!r}; choose 'exact' or 'fft'")


class Reaction(PDE):
    """Logistic reaction ``u_t - rho u (1 - u) = 0`` on ``[0, 2 pi) x [0, 1]``, periodic.

    Parameters
    ----------
    rho : float, default=1.0
        Growth rate. The standard PINN fails from about ``rho = 5`` on.

    Notes
    -----
    Exact solution: ``u = u0 e^{rho t} / (u0 e^{rho t} + 1 - u0)`` with the Gaussian bump
    ``u0(x) = exp(-(x - pi)^2 / (2 (pi/4)^2))``.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import Reaction
    >>> pde = Reaction(rho=5.0)
    >>> float(pde.reference_solution(np.array([[np.pi, 1.0]]))[0]) == 1.0
    True
    """

    derivatives = ("u_t",)
    coefficient_names = ("rho",)

    _parameter_constraints = {"rho": [reals()]}

    def __init__(self, rho=1.0):
        self.rho = rho

    def residual(self, X, u, d, coefficients):
        return d["u_t"] - coefficients["rho"] * u * (1 - u)

    def initial_condition(self, x):
        return gaussian_bump(x)

    def reference_solution(self, X):
        X = np.asarray(X, dtype=float)
        return reference.logistic(self.initial_condition(X[:, 0]), self.rho,
                                  X[:, 1] - self.domain[1][0])


class ReactionDiffusion(PDE):
    """Reaction-diffusion ``u_t - nu u_xx - rho u (1 - u) = 0`` on ``[0, 2 pi) x [0, 1]``.

    Periodic boundary (in u and in u_x), Gaussian-bump initial condition.

    Parameters
    ----------
    nu : float, default=1.0
        Diffusion coefficient.
    rho : float, default=1.0
        Reaction rate.

    Notes
    -----
    The reference solution is Strang splitting (second order in time) with exact reaction
    and exact Fourier-space diffusion sub-steps, time step at most ``1e-3`` on 512 modes,
    landing on each requested time. The paper's code used first-order splitting with
    ``dt = 0.01``; ours is converged to about ``1e-6`` (see ``tests/test_pde.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import ReactionDiffusion
    >>> pde = ReactionDiffusion(nu=3.0, rho=5.0)
    >>> u = pde.reference_solution(pde.grid(64, 5))
    >>> u.shape, bool(np.all((u > 0) & (u < 1)))
    ((320,), True)
    """

    derivatives = ("u_t", "u_xx")
    coefficient_names = ("nu", "rho")
    positive_coefficients = ("nu",)

    _parameter_constraints = {"nu": [reals(0)], "rho": [reals()]}

    def __init__(self, nu=1.0, rho=1.0):
        self.nu = nu
        self.rho = rho

    def residual(self, X, u, d, coefficients):
        return d["u_t"] - coefficients["nu"] * d["u_xx"] - coefficients["rho"] * u * (1 - u)

    def initial_condition(self, x):
        return gaussian_bump(x)

    def reference_solution(self, X, n_x=512, dt=1e-3):
        return reference.reaction_diffusion(
            self.initial_condition, self.nu, self.rho, np.asarray(X, dtype=float),
            domain=self.domain, n_x=n_x, dt=dt,
        )


class Burgers(PDE):
    """Viscous Burgers ``u_t + u u_x - nu u_xx = 0`` on ``[-1, 1] x [0, 1]`` (Raissi et al. 2019).

    ``u(x, 0) = -sin(pi x)``, ``u(-1, t) = u(1, t) = 0``; a shock forms at ``x = 0`` near
    ``t = 1/pi``.

    Parameters
    ----------
    nu : float, default=0.01/pi
        Viscosity.

    Notes
    -----
    The reference solution is the Cole-Hopf representation evaluated by quadrature; at
    ``nu = 0.01/pi`` it reproduces the benchmark steepest slope ``u_x(0, 1.6037/pi) =
    -152.00516``
    (Basdevant et al. 1986), tested in ``tests/test_pde.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import Burgers
    >>> pde = Burgers()
    >>> float(abs(pde.reference_solution(np.array([[1.0, 0.5]]))[0])) < 1e-12
    True
    """

    derivatives = ("u_t", "u_x", "u_xx")
    coefficient_names = ("nu",)
    positive_coefficients = ("nu",)
    domain = ((-1.0, 1.0), (0.0, 1.0))
    boundary = "dirichlet"

    _parameter_constraints = {"nu": [reals(0)]}

    def __init__(self, nu=0.01 / math.pi):
        self.nu = nu

    def residual(self, X, u, d, coefficients):
        return d["u_t"] + u * d["u_x"] - coefficients["nu"] * d["u_xx"]

    def initial_condition(self, x):
        return -np.sin(np.pi * np.asarray(x, dtype=float))

    def reference_solution(self, X, n_quadrature=2000):
        return reference.burgers_cole_hopf(self.nu, X, n_quadrature=n_quadrature)


def allen_cahn_initial(x):
    """The Allen-Cahn benchmark's initial condition ``x^2 cos(pi x)``."""
    x = np.asarray(x, dtype=float)
    return x ** 2 * np.cos(np.pi * x)


class AllenCahn(PDE):
    """Allen-Cahn ``u_t - d u_xx - rho (u - u^3) = 0`` on ``x in [-1, 1)``, ``t in [0, 1]``,
    periodic, ``u(x, 0) = x^2 cos(pi x)``.

    The benchmark of Wight & Zhao (2020) and of Wang, Sankaran & Perdikaris ("Respecting
    causality is all you need", 2022; jaxpi): with ``d = 1e-4`` the solution develops
    sharp interfaces between the stable states -1 and 1, and the standard PINN fails.

    Parameters
    ----------
    d : float, default=1e-4
        Diffusion coefficient.
    rho : float, default=5.0
        Reaction rate.

    Notes
    -----
    The reference solution is Fourier spectral in x (2048 modes) with the fourth-order
    exponential integrator ETDRK4 in t (Kassam & Trefethen 2005; steps of at most 2e-3):
    :func:`physml.pde.reference.semilinear_periodic`. The initial condition's slope jumps
    across the periodic boundary (``u0'(+-1) = -+2``), which limits the spatial
    convergence at early times to second order; on the evaluation grid the reference is
    within 1e-6 (relative L2) of one with twice the modes and half the step
    (``tests/test_pde.py``).

    Examples
    --------
    >>> import numpy as np
    >>> from physml.pde import AllenCahn
    >>> pde = AllenCahn()
    >>> u = pde.reference_solution(np.array([[0.0, 1.0], [-1.0, 1.0]]))
    >>> bool(abs(u[1] + 1.0) < 1e-3)  # the boundary settles at the stable state -1
    True
    """

    derivatives = ("u_t", "u_xx")
    coefficient_names = ("d", "rho")
    positive_coefficients = ("d",)
    domain = ((-1.0, 1.0), (0.0, 1.0))

    _parameter_constraints = {"d": [reals(0)], "rho": [reals()]}

    def __init__(self, d=1e-4, rho=5.0):
        self.d = d
        self.rho = rho

    def residual(self, X, u, d, coefficients):
        return d["u_t"] - coefficients["d"] * d["u_xx"] - coefficients["rho"] * (u - u ** 3)

    def initial_condition(self, x):
        return allen_cahn_initial(x)

    def reference_solution(self, X, n_x=2048, dt=2e-3):
        rho = float(self.rho)
        return reference.semilinear_periodic(
            self.initial_condition, float(self.d), lambda u: rho * (u - u ** 3),
            np.asarray(X, dtype=float), domain=self.domain, n_x=n_x, dt=dt)


class NavierStokes(PDE):
    """Incompressible Navier-Stokes in the plane, outputs ``(u, v, p)``::

        u_t + u u_x + v u_y + p_x - nu (u_xx + u_yy) = 0
        v_t + u v_x + v v_y + p_y - nu (v_xx + v_yy) = 0
        u_x + v_y = 0

    steady (coordinates ``("x", "y")``, no time derivative) or unsteady
    (``("x", "y", "t")``). The pressure is fixed up to a constant by the equations: pin
    it with one observation (a row of ``y`` with NaN velocities and a pressure value).

    Parameters
    ----------
    nu : float, default=0.01
        Kinematic viscosity (``1 / Re`` for unit velocity and length).
    domain : tuple or Geometry, default=((0, 1), (0, 1))
        Where the flow is: pairs, a :mod:`physml.geometry` object, or a tuple mixing
        them (time, when unsteady, as its own pair).
    steady : bool, default=True
        Whether the flow is steady.
    boundary : str, dict or None, default="dirichlet"
        As :class:`~physml.pde.PDE` says; pieces of a geometry by their names.
    boundary_condition : callable, dict or None, default=None
        The velocity on the boundary rows ``X``: ``(n, 2)`` (the pressure is left free
        there) or ``(n, 3)`` (NaN where an output is free), or ``{piece: callable}``;
        None: no slip, ``u = v = 0``.
    initial_condition : callable or None, default=None
        ``(u, v, p)`` or ``(u, v)`` at ``t_min`` (unsteady), from the spatial points.
    solution : callable or None, default=None
        The exact ``(n, 3)`` solution at rows ``X``, where one is known.

    Examples
    --------
    Kovasznay's steady flow (Kovasznay 1948), an exact solution, has zero residual:

    >>> import numpy as np, torch
    >>> from physml.pde import NavierStokes
    >>> from physml.pde.equations import kovasznay
    >>> pde = NavierStokes(nu=1 / 40, domain=((-0.5, 1.0), (-0.5, 1.5)),
    ...                    boundary_condition=kovasznay(40.0), solution=kovasznay(40.0))
    >>> pde.coordinates, pde.outputs
    (('x', 'y'), ('u', 'v', 'p'))
    >>> pde.boundary_data(8)[1].shape
    (8, 3)
    """

    outputs = ("u", "v", "p")
    coefficient_names = ("nu",)
    positive_coefficients = ("nu",)

    _parameter_constraints = {"nu": [reals(0, closed="neither")], "steady": ["boolean"]}

    def __init__(self, nu=0.01, domain=((0.0, 1.0), (0.0, 1.0)), steady=True,
                 boundary="dirichlet", boundary_condition=None, initial_condition=None,
                 solution=None):
        self.nu = nu
        self.domain = domain
        self.steady = steady
        self.boundary = boundary
        self.boundary_condition_function = boundary_condition
        self.initial_condition_function = initial_condition
        self.solution = solution

    def get_params(self, deep=True):
        return {"nu": self.nu, "domain": self.domain, "steady": self.steady,
                "boundary": self.boundary,
                "boundary_condition": self.boundary_condition_function,
                "initial_condition": self.initial_condition_function,
                "solution": self.solution}

    def set_params(self, **params):
        renamed = {"boundary_condition": "boundary_condition_function",
                   "initial_condition": "initial_condition_function"}
        for key, value in params.items():
            if key not in self.get_params(deep=False):
                raise ValueError(f"Invalid parameter {key!r} for NavierStokes; valid: "
                                 f"{sorted(self.get_params(deep=False))}")
            setattr(self, renamed.get(key, key), value)
        return self

    @property
    def coordinates(self):
        return ("x", "y") if self.steady else ("x", "y", "t")

    @property
    def derivatives(self):
        names = ("u_x", "u_y", "u_xx", "u_yy", "v_x", "v_y", "v_xx", "v_yy", "p_x", "p_y")
        return names if self.steady else ("u_t", "v_t", *names)

    def residual(self, X, w, d, coefficients):
        u, v, nu = w[:, 0], w[:, 1], coefficients["nu"]
        momentum_x = u * d["u_x"] + v * d["u_y"] + d["p_x"] - nu * (d["u_xx"] + d["u_yy"])
        momentum_y = u * d["v_x"] + v * d["v_y"] + d["p_y"] - nu * (d["v_xx"] + d["v_yy"])
        if not self.steady:
            momentum_x, momentum_y = d["u_t"] + momentum_x, d["v_t"] + momentum_y
        return momentum_x, momentum_y, d["u_x"] + d["v_y"]

    def _velocity_and_pressure(self, values, n, what):
        values = np.asarray(values, dtype=float)
        if values.ndim == 2 and values.shape == (n, 2):  # the pressure is free there
            values = np.column_stack([values, np.full(n, np.nan)])
        if values.ndim != 2 or values.shape != (n, 3):
            raise ValueError(f"{what} returned shape {values.shape}; expected ({n}, 2) "
                             f"velocities or ({n}, 3) with the pressure")
        return values

    def boundary_condition(self, X):
        function = self.boundary_condition_function
        X = np.asarray(X, dtype=float)
        if function is None:
            return np.column_stack([np.zeros((X.shape[0], 2)), np.full(X.shape[0], np.nan)])
        if isinstance(function, dict):
            raise ValueError("boundary_condition is given per boundary piece: ask "
                             "boundary_values(X, piece)")
        return self._velocity_and_pressure(function(X), X.shape[0], "boundary_condition")

    def boundary_values(self, X, piece=None):
        function = self.boundary_condition_function
        if not isinstance(function, dict):
            return self.boundary_condition(X)
        X = np.asarray(X, dtype=float)
        if piece not in function:  # no slip
            return np.column_stack([np.zeros((X.shape[0], 2)), np.full(X.shape[0], np.nan)])
        return self._velocity_and_pressure(function[piece](X), X.shape[0],
                                           f"boundary_condition[{piece!r}]")

    @property
    def initial_condition(self):
        function = self.initial_condition_function
        if function is None:
            return None

        def condition(x):
            values = np.asarray(function(x), dtype=float)
            n = values.shape[0]
            return self._velocity_and_pressure(values, n, "initial_condition")

        return condition

    def reference_solution(self, X):
        if self.solution is None:
            raise NotImplementedError("NavierStokes was given no `solution`")
        return np.asarray(self.solution(np.asarray(X, dtype=float)), dtype=float)


def kovasznay(reynolds=40.0):
    """Kovasznay's exact steady flow behind a grid (Kovasznay 1948) at ``reynolds``
    (``nu = 1 / reynolds``): a callable of rows ``(x, y)`` returning ``(u, v, p)``."""
    lam = reynolds / 2 - math.sqrt(reynolds ** 2 / 4 + 4 * math.pi ** 2)

    def flow(X):
        X = np.asarray(X, dtype=float)
        x, y = X[:, 0], X[:, 1]
        e = np.exp(lam * x)
        return np.column_stack([1 - e * np.cos(2 * np.pi * y),
                                lam / (2 * np.pi) * e * np.sin(2 * np.pi * y),
                                0.5 * (1 - np.exp(2 * lam * x))])

    return flow
