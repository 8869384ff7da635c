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
