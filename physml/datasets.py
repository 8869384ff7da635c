"""Data that needs no download: generated from equations and their reference solutions."""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import validate_params

from ._base import integers, reals
from .pde import PDE

__all__ = ["make_pde_data", "make_harmonic_oscillator", "make_pendulum", "make_lotka_volterra",
           "load_sequential_digits", "make_adding_problem", "make_event_order",
           "make_fitzhugh_nagumo"]

_POSITIVE = reals(0, closed="neither")  # > 0, finite


def _checked(**constraints):
    """scikit-learn's ``validate_params``: a wrong value raises ``InvalidParameterError``
    naming the parameter and what it allows."""
    return validate_params(constraints, prefer_skip_nested_validation=True)


@_checked(pde=[PDE], n_x=[integers(2)], n_t=[integers(2)])
def make_pde_data(pde, n_x=256, n_t=100):
    """The paper's evaluation grid and the reference solution on it.

    Parameters
    ----------
    pde : PDE
        The equation; its ``reference_solution`` supplies ``u``.
    n_x : int, default=256
        Points in space: ``[x_min, x_max)`` for a periodic equation (endpoint excluded, as in
        the paper), ``[x_min, x_max]`` otherwise.
    n_t : int, default=100
        Points in ``[t_min, t_max]``, both ends included.

    Returns
    -------
    X : ndarray of shape (n_x * n_t, 2)
        Columns ``(x, t)``, x varying fastest.
    u : ndarray of shape (n_x * n_t,)

    Examples
    --------
    >>> from physml.datasets import make_pde_data
    >>> from physml.pde import Convection
    >>> X, u = make_pde_data(Convection(beta=1.0))
    >>> X.shape, u.shape
    ((25600, 2), (25600,))
    """
    X = pde.grid(n_x, n_t)
    return X, pde.reference_solution(X)


def _trajectory_grid(n_timepoints, dt):
    return dt * np.arange(n_timepoints)


def _add_noise(X, noise, rng):
    return X + noise * rng.standard_normal(X.shape) if noise else X


@_checked(n_trajectories=[integers(1)], n_timepoints=[integers(2)], dt=[_POSITIVE],
          initial_states=["array-like", None], noise=[reals(0)], random_state=["random_state"])
def make_harmonic_oscillator(n_trajectories=1, n_timepoints=41, dt=0.5, *, initial_states=None,
                             noise=0.0, random_state=None):
    """Trajectories of the harmonic oscillator ``dx/dt = y, dy/dt = -x`` (exact, float64).

    Parameters
    ----------
    n_trajectories : int, default=1
        Number of initial states, drawn uniformly in ``[-1, 1]^2`` unless given.
    n_timepoints : int, default=41
        Samples per trajectory, at ``t = 0, dt, 2 dt, ...``.
    dt : float, default=0.5
    initial_states : array-like of shape (n_trajectories, 2), optional
    noise : float, default=0.0
        Standard deviation of Gaussian noise added to every sample.
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_trajectories, n_timepoints, 2)
        States ``(x, y)``.
    t : ndarray of shape (n_timepoints,)

    Examples
    --------
    >>> from physml.datasets import make_harmonic_oscillator
    >>> X, t = make_harmonic_oscillator(n_trajectories=3, random_state=0)
    >>> X.shape, float(t[-1])
    ((3, 41, 2), 20.0)
    """
    rng = np.random.default_rng(_seed(random_state))
    t = _trajectory_grid(n_timepoints, dt)
    x0 = _initial_states(initial_states, n_trajectories, 2, rng, low=-1.0, high=1.0)
    c, s = np.cos(t)[None, :], np.sin(t)[None, :]
    x = x0[:, :1] * c + x0[:, 1:] * s
    y = -x0[:, :1] * s + x0[:, 1:] * c
    return _add_noise(np.stack([x, y], axis=-1), noise, rng), t


@_checked(n_trajectories=[integers(1)], n_timepoints=[integers(2)], dt=[_POSITIVE],
          theta0=[reals(), "array-like"], noise=[reals(0)], random_state=["random_state"])
def make_pendulum(n_trajectories=1, n_timepoints=41, dt=0.5, *, theta0=1.5 * np.pi / 2,
                  noise=0.0, random_state=None):
    """Trajectories of the nonlinear pendulum ``theta'' = -sin(theta)``, exact (float64).

    Released from rest at angle ``theta0``, the solution is
    ``theta(t) = 2 arcsin(k sn(K(k) - t | k^2))``, ``omega(t) = -2 k cn(K(k) - t | k^2)`` with
    ``k = sin(theta0 / 2)`` and ``K`` the complete elliptic integral of the first kind.
    Several trajectories start at random phases of that orbit.

    Parameters
    ----------
    n_trajectories : int, default=1
        The first starts at rest at ``theta0``; the others at uniformly random phases.
    n_timepoints : int, default=41
    dt : float, default=0.5
    theta0 : float or array-like, default=1.5*pi/2
        Release angle(s), ``|theta0| < pi``; an array gives one orbit per trajectory.
    noise : float, default=0.0
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_trajectories, n_timepoints, 2)
        States ``(theta, omega)``.
    t : ndarray of shape (n_timepoints,)

    Examples
    --------
    >>> import numpy as np
    >>> from physml.datasets import make_pendulum
    >>> X, t = make_pendulum()
    >>> bool(np.isclose(X[0, 0, 0], 1.5 * np.pi / 2) and abs(X[0, 0, 1]) < 1e-12)
    True
    """
    from scipy.special import ellipj, ellipk

    rng = np.random.default_rng(_seed(random_state))
    t = _trajectory_grid(n_timepoints, dt)
    theta0 = np.broadcast_to(np.asarray(theta0, dtype=float), (n_trajectories,))
    if np.any(np.abs(theta0) >= np.pi):
        raise ValueError("theta0 must lie in (-pi, pi): the pendulum must swing, not rotate")
    k = np.sin(theta0 / 2)[:, None]
    m = k ** 2
    K = ellipk(m)
    period = 4 * K
    phase = np.zeros((n_trajectories, 1))
    phase[1:, 0] = rng.uniform(0, 1, n_trajectories - 1)
    u = K - (t[None, :] + phase * period)
    sn, cn, _, _ = ellipj(u, m)
    theta = 2 * np.arcsin(k * sn)
    omega = -2 * k * cn
    return _add_noise(np.stack([theta, omega], axis=-1), noise, rng), t


@_checked(n_trajectories=[integers(1)], n_timepoints=[integers(2)], dt=[_POSITIVE],
          alpha=[reals()], beta=[reals()], delta=[reals()], gamma=[reals()],
          initial_states=["array-like", None], noise=[reals(0)], random_state=["random_state"])
def make_lotka_volterra(n_trajectories=1, n_timepoints=41, dt=0.5, *, alpha=2 / 3, beta=4 / 3,
                        delta=1.0, gamma=1.0, initial_states=None, noise=0.0,
                        random_state=None):
    """Predator-prey trajectories ``x' = alpha x - beta x y``, ``y' = delta x y - gamma y``.

    Solved with scipy's DOP853 at ``rtol = atol = 1e-12`` (float64).

    Parameters
    ----------
    n_trajectories : int, default=1
        Initial states drawn uniformly in ``[0.5, 1.5]^2`` unless given.
    n_timepoints : int, default=41
    dt : float, default=0.5
    alpha, beta, delta, gamma : float
        Rates (defaults as in the classic textbook example).
    initial_states : array-like of shape (n_trajectories, 2), optional
    noise : float, default=0.0
    random_state : int, RandomState instance or None

    Returns
    -------
    X : ndarray of shape (n_trajectories, n_timepoints, 2)
    t : ndarray of shape (n_timepoints,)

    Examples
    --------
    >>> from physml.datasets import make_lotka_volterra
    >>> X, t = make_lotka_volterra(n_trajectories=2, random_state=0)
    >>> X.shape
    (2, 41, 2)
    """
    from scipy.integrate import solve_ivp

    rng = np.random.default_rng(_seed(random_state))
    t = _trajectory_grid(n_timepoints, dt)
    x0 = _initial_states(initial_states, n_trajectories, 2, rng, low=0.5, high=1.5)

    def field(_, z):
        x, y = z
        return [alpha * x - beta * x * y, delta * x * y - gamma * y]

    X = np.stack([
        solve_ivp(field, (0, t[-1]), s, t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12).y.T
        for s in x0
    ])
    return _add_noise(X, noise, rng), t


def _seed(random_state):
    from sklearn.utils import check_random_state

    return check_random_state(random_state).randint(0, 2**31 - 1)


def _initial_states(initial_states, n, d, rng, low, high):
    if initial_states is None:
        return rng.uniform(low, high, size=(n, d))
    states = np.asarray(initial_states, dtype=float).reshape(-1, d)
    if states.shape[0] != n:
        raise ValueError(f"initial_states has {states.shape[0]} rows, n_trajectories={n}")
    return states


@_checked(permute=["boolean"], by_rows=["boolean"], random_state=["random_state"])
def load_sequential_digits(permute=False, by_rows=False, random_state=0):
    """sklearn's 8 x 8 digits as sequences (no download).

    Parameters
    ----------
    permute : bool, default=False
        Apply one fixed random permutation (seeded by ``random_state``) to the pixel order,
        as in permuted sequential MNIST.
    by_rows : bool, default=False
        Eight steps of eight pixels (a row per step) instead of 64 steps of one pixel.
    random_state : int, default=0

    Returns
    -------
    X : ndarray of shape (1797, 64, 1) or (1797, 8, 8)
        Pixel intensities scaled to [0, 1].
    y : ndarray of shape (1797,)

    Examples
    --------
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits()
    >>> X.shape, y.shape
    ((1797, 64, 1), (1797,))
    """
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    if permute:
        X = X[:, np.random.RandomState(random_state).permutation(64)]
    return (X.reshape(-1, 8, 8) if by_rows else X[:, :, None]), y


@_checked(n_samples=[integers(1)], n_timesteps=[integers(2)], random_state=["random_state"])
def make_adding_problem(n_samples=1000, n_timesteps=100, random_state=None):
    """The adding problem (Hochreiter & Schmidhuber 1997): sum the two marked numbers.

    Each sequence has two features per step: a number uniform in [0, 1] and a marker that
    is 1 at two steps (one in each half) and 0 elsewhere. The target is the sum of the two
    marked numbers; always predicting its mean (1) gives a mean squared error of 1/6.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, 2)
    y : ndarray of shape (n_samples,)

    Examples
    --------
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=4, n_timesteps=10, random_state=0)
    >>> X.shape, bool(((X[:, :, 1] == 1).sum(1) == 2).all())
    ((4, 10, 2), True)
    """
    rng = check_random_state(random_state)
    values = rng.uniform(0, 1, (n_samples, n_timesteps))
    half = n_timesteps // 2
    first = rng.randint(0, half, n_samples)
    second = rng.randint(half, n_timesteps, n_samples)
    markers = np.zeros((n_samples, n_timesteps))
    rows = np.arange(n_samples)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    y = values[rows, first] + values[rows, second]
    return np.stack([values, markers], axis=2), y


@_checked(n_samples=[integers(1)], n_timesteps=[integers(1)], n_channels=[integers(2)],
          noise=[reals(0)], random_state=["random_state"])
def make_event_order(n_samples=1000, n_timesteps=60, n_channels=3, noise=0.2,
                     random_state=None):
    """Classify sequences by the order in which their channels fire.

    Each of ``n_channels`` channels carries one bump ``exp(-(s - s_c)^2 / 8)`` at a random
    step ``s_c`` (all distinct, at least 4 steps apart), under Gaussian noise of standard
    deviation ``noise``; the class is the order of the bumps, one of
    ``n_channels!`` permutations. A model must remember which channel fired when, across
    the whole sequence: no single step, and no channel alone, holds the answer.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, n_channels)
    y : ndarray of shape (n_samples,)
        The permutation's index in lexicographic order, ``0 .. n_channels! - 1``.

    Examples
    --------
    >>> from physml.datasets import make_event_order
    >>> X, y = make_event_order(n_samples=5, n_timesteps=40, random_state=0)
    >>> X.shape, set(y.tolist()) <= set(range(6))
    ((5, 40, 3), True)
    """
    import itertools

    if n_timesteps < 4 * n_channels + 4:
        raise ValueError(f"n_timesteps must be an integer >= 4 * n_channels + 4 = "
                         f"{4 * n_channels + 4}, got {n_timesteps!r}")
    rng = check_random_state(random_state)
    orders = {order: k for k, order in enumerate(itertools.permutations(range(n_channels)))}
    steps = np.arange(n_timesteps)
    X = noise * rng.standard_normal((n_samples, n_timesteps, n_channels))
    y = np.empty(n_samples, dtype=int)
    for i in range(n_samples):
        while True:
            times = rng.randint(2, n_timesteps - 2, n_channels)
            if np.min(np.diff(np.sort(times))) >= 4:
                break
        X[i] += np.exp(-(steps[:, None] - times[None, :]) ** 2 / 8.0)
        y[i] = orders[tuple(np.argsort(times))]
    return X, y


@_checked(n_samples=[integers(1)], n_timesteps=[integers(1)], dt=[_POSITIVE],
          current=[reals()], a=[reals()], b=[reals()], epsilon=[_POSITIVE],
          random_state=["random_state"])
def make_fitzhugh_nagumo(n_samples=256, n_timesteps=100, dt=4.0, current=0.5, a=0.7,
                         b=0.8, epsilon=1 / 50, random_state=None):
    """Windows of the FitzHugh-Nagumo neuron ``v' = v - v^3/3 - w + I``,
    ``w' = epsilon (v + a - b w)``, solved by scipy (DOP853, tolerances 1e-10) on
    ``t in [0, 400]`` from a random initial state; targets are the next state.

    Returns
    -------
    X : ndarray of shape (n_samples, n_timesteps, 2)
        ``(v, w)`` sampled every ``dt``.
    y : ndarray of shape (n_samples, 2)
        The state one step after each window (one-step forecasting).

    Examples
    --------
    >>> from physml.datasets import make_fitzhugh_nagumo
    >>> X, y = make_fitzhugh_nagumo(n_samples=3, n_timesteps=10, random_state=0)
    >>> X.shape, y.shape
    ((3, 10, 2), (3, 2))
    """
    from scipy.integrate import solve_ivp

    rng = check_random_state(random_state)

    def field(t, s):
        v, w = s
        return [v - v ** 3 / 3 - w + current, epsilon * (v + a - b * w)]

    t = np.arange(0.0, 400.0 + 1e-9, dt)
    if len(t) < n_timesteps + 1:
        raise ValueError(f"n_timesteps={n_timesteps} needs more than 400 / dt = "
                         f"{len(t) - 1} steps; lower dt")
    X, y = [], []
    per_trajectory = 16
    while len(X) < n_samples:
        s0 = rng.uniform([-2.0, -1.0], [2.0, 2.0])
        path = solve_ivp(field, (0, t[-1]), s0, t_eval=t, method="DOP853", rtol=1e-10,
                         atol=1e-10).y.T
        for start in rng.randint(0, len(t) - n_timesteps, per_trajectory):
            X.append(path[start:start + n_timesteps])
            y.append(path[start + n_timesteps])
    return np.array(X[:n_samples]), np.array(y[:n_samples])
