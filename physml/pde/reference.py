"""Reference solvers: exact where a closed form exists, converged numerical solvers elsewhere.

* periodic Fourier evaluation (spectral interpolation of a grid solution at any x);
* reaction-diffusion by Strang splitting, each half exact: the logistic reaction
  ``u_t = rho u (1 - u)`` in closed form pointwise, the diffusion ``u_t = nu u_xx`` exactly in
  Fourier space; second order in the time step (checked in ``tests/test_pde.py``);
* viscous Burgers by the Cole-Hopf transformation, its heat-kernel integrals by quadrature
  in log space (so small viscosities do not overflow).
"""

import numpy as np
from scipy.special import logsumexp


def _sorted_times(t):
    times, inverse = np.unique(np.asarray(t, dtype=float), return_inverse=True)
    return times, inverse.ravel()


def fourier_coefficients(values):
    """Normalized FFT of samples on a uniform periodic grid (last axis)."""
    return np.fft.fft(values, axis=-1) / values.shape[-1]


def fourier_evaluate(coefficients, x, period, x_min=0.0, chunk=4096):
    """Evaluate the trigonometric interpolant with ``coefficients`` at points ``x``.

    ``coefficients`` has shape ``(m, n)`` (one row per point of ``x``: ``x`` has shape
    ``(m,)``) or ``(n,)`` (shared by every point). Uses the symmetric set of wavenumbers, with
    the Nyquist mode split in two so that real data stays real.
    """
    n = coefficients.shape[-1]
    k = np.fft.fftfreq(n, d=1.0 / n)
    weights = np.ones(n)
    if n % 2 == 0:
        weights[n // 2] = 0.5
        k = np.concatenate([k, [n // 2]])
        weights = np.concatenate([weights, [0.5]])
        coefficients = np.concatenate([coefficients, coefficients[..., n // 2: n // 2 + 1]], -1)
    x = np.asarray(x, dtype=float)
    out = np.empty(x.shape[0])
    omega = 2 * np.pi / period
    for start in range(0, x.shape[0], chunk):
        part = slice(start, start + chunk)
        phase = np.exp(1j * omega * np.outer(x[part] - x_min, k))
        c = coefficients[part] if coefficients.ndim == 2 else coefficients
        out[part] = np.real(np.sum(phase * (c * weights), axis=-1))
    return out


def logistic(u, rho, t):
    """Exact solution of ``u_t = rho u (1 - u)`` after time t."""
    growth = np.exp(rho * t)
    return u * growth / (u * growth + 1.0 - u)


def reaction_diffusion(initial_condition, nu, rho, X, *, domain, n_x=512, dt=1e-3):
    """``u_t = nu u_xx + rho u (1 - u)``, periodic, at the rows ``(x, t)`` of ``X``.

    Strang splitting with time step at most ``dt``, landing exactly on every requested time,
    on ``n_x`` Fourier modes; values between grid points by spectral interpolation.
    """
    (x0, x1), (t0, _) = domain
    period = x1 - x0
    grid = np.linspace(x0, x1, n_x, endpoint=False)
    k = np.fft.fftfreq(n_x, d=1.0 / n_x) * (2 * np.pi / period)
    u = np.asarray(initial_condition(grid), dtype=float)

    def advance(u, h, steps):
        decay = np.exp(-nu * k ** 2 * h)
        for _ in range(steps):
            u = logistic(u, rho, h / 2)
            u = np.real(np.fft.ifft(np.fft.fft(u) * decay))
            u = logistic(u, rho, h / 2)
        return u

    return _periodic_in_time(u, advance, lambda u: u, X, t0, dt, period, x0)


def _periodic_in_time(state, advance, values, X, t0, dt, period, x0):
    """Step ``state`` through the sorted distinct times of ``X[:, 1]`` (``advance(state, h,
    steps)``: ``steps`` steps of ``h``, at most ``dt``, landing on each time), and evaluate
    the periodic grid values ``values(state)`` at each row's ``x`` by spectral
    interpolation."""
    times, which = _sorted_times(X[:, 1])
    coefficients = None
    now = t0
    for index, target in enumerate(times):
        span = target - now
        if span < -1e-14:
            raise ValueError("reference_solution: times before the initial time")
        steps = int(np.ceil(span / dt - 1e-9)) if span > 0 else 0
        if steps:
            state = advance(state, span / steps, steps)
        now = target
        grid_values = values(state)
        if coefficients is None:
            coefficients = np.empty((times.size, grid_values.size), dtype=complex)
        coefficients[index] = fourier_coefficients(grid_values)
    return fourier_evaluate(coefficients[which], X[:, 0], period, x0)


def burgers_cole_hopf(nu, X, *, n_quadrature=2000, width=12.0):
    """Viscous Burgers ``u_t + u u_x = nu u_xx``, ``u(x, 0) = -sin(pi x)``, by Cole-Hopf.

    With ``phi_0(y) = exp(-cos(pi y) / (2 pi nu))`` and the heat kernel of width
    ``s = sqrt(4 nu t)``::

        u(x, t) = - E[sin(pi (x - s z)) phi_0(x - s z)] / E[phi_0(x - s z)],  z ~ N(0, 1/2)

    The expectations are integrals of ``exp(-z^2)`` times the integrand, computed by the
    trapezoidal rule on ``[-width, width]`` (spectrally accurate for such integrands) in log
    space. The solution is odd and 2-periodic, so ``u(+-1, t) = 0`` holds: this is also the
    solution of the Dirichlet problem on ``[-1, 1]``.
    """
    X = np.asarray(X, dtype=float)
    out = -np.sin(np.pi * X[:, 0])
    later = X[:, 1] > 0
    if not np.any(later):
        return out
    z = np.linspace(-width, width, n_quadrature)
    x, t = X[later, 0], X[later, 1]
    s = np.sqrt(4 * nu * t)
    result = np.empty(x.shape)
    for start in range(0, x.size, 512):
        part = slice(start, start + 512)
        y = x[part, None] - s[part, None] * z[None, :]
        log_weight = -z[None, :] ** 2 - np.cos(np.pi * y) / (2 * np.pi * nu)
        sine = np.sin(np.pi * y)
        numerator, sign = logsumexp(log_weight, b=sine, axis=1, return_sign=True)
        denominator = logsumexp(log_weight, axis=1)
        result[part] = -sign * np.exp(numerator - denominator)
    out[later] = result
    return out


def method_of_lines(diffusion, reaction, initial_condition, X, *, x_range, left, right,
                    t0=0.0, n_x=801, rtol=1e-10, atol=1e-12):
    """A reaction-diffusion system ``u_t = diffusion * u_xx + reaction(u)`` on an interval
    with Dirichlet ends, at the rows ``(x, t)`` of ``X``: ``(n, k)`` for ``k`` species.

    Second-order finite differences on ``n_x`` points, integrated by a stiff solver
    (Radau, banded Jacobian) at tolerance ``rtol``; values between grid points by cubic
    interpolation. Second order in space (``tests/test_pde.py`` shows the convergence).

    Parameters
    ----------
    diffusion : sequence of float
        One diffusivity per species.
    reaction : callable
        ``reaction(u)`` for ``u`` of shape ``(k, n_x)``, the same shape back.
    initial_condition : callable
        ``u(x, t0)`` for a 1-D array ``x``: ``(k, n_x)`` (or ``(n_x,)`` for one species).
    left, right : sequence of float
        The Dirichlet values of each species at the ends.
    """
    from scipy.integrate import solve_ivp
    from scipy.interpolate import CubicSpline
    from scipy.sparse import diags, identity, kron

    diffusion = np.asarray(diffusion, dtype=float)
    k = diffusion.size
    x = np.linspace(*x_range, n_x)
    h = x[1] - x[0]
    left, right = np.asarray(left, float).reshape(k, 1), np.asarray(right, float).reshape(k, 1)
    u0 = np.asarray(initial_condition(x), dtype=float).reshape(k, n_x)[:, 1:-1]

    def rhs(_, flat):
        u = flat.reshape(k, n_x - 2)
        full = np.concatenate([left, u, right], axis=1)
        laplacian = (full[:, 2:] - 2 * full[:, 1:-1] + full[:, :-2]) / h ** 2
        return (diffusion[:, None] * laplacian
                + reaction(full)[:, 1:-1]).ravel()

    tridiagonal = diags([1.0, 1.0, 1.0], [-1, 0, 1], shape=(n_x - 2, n_x - 2))
    sparsity = kron(np.ones((k, k)), tridiagonal) + kron(identity(k), tridiagonal)
    times, which = _sorted_times(X[:, 1])
    later = times > t0
    solution = np.empty((times.size, k, n_x))
    solution[~later] = np.concatenate([left, u0, right], axis=1)
    if later.any():
        result = solve_ivp(rhs, (t0, times[-1]), u0.ravel(), method="Radau",
                           t_eval=times[later], rtol=rtol, atol=atol,
                           jac_sparsity=sparsity)
        if not result.success:
            raise RuntimeError(f"method_of_lines: {result.message}")
        inner = result.y.T.reshape(-1, k, n_x - 2)
        solution[later] = np.concatenate(
            [np.broadcast_to(left, (inner.shape[0], k, 1)), inner,
             np.broadcast_to(right, (inner.shape[0], k, 1))], axis=2)
    out = np.empty((X.shape[0], k))
    for index in range(times.size):
        rows = which == index
        out[rows] = CubicSpline(x, solution[index], axis=1)(X[rows, 0]).T
    return out


def _etdrk4_coefficients(linear, h, n_contour=32):
    """Kassam & Trefethen's (2005) ETDRK4 coefficients for the diagonal linear part
    ``linear`` and step ``h``: the phi-functions by a contour integral (no cancellation
    where ``h * linear`` is near 0)."""
    L = h * linear
    roots = np.exp(1j * np.pi * (np.arange(1, n_contour + 1) - 0.5) / n_contour)
    LR = L[:, None] + roots[None, :]
    E, E2 = np.exp(L), np.exp(L / 2)
    Q = h * np.real(np.mean((np.exp(LR / 2) - 1) / LR, axis=1))
    f1 = h * np.real(np.mean((-4 - LR + np.exp(LR) * (4 - 3 * LR + LR ** 2)) / LR ** 3, axis=1))
    f2 = h * np.real(np.mean((2 + LR + np.exp(LR) * (-2 + LR)) / LR ** 3, axis=1))
    f3 = h * np.real(np.mean((-4 - 3 * LR - LR ** 2 + np.exp(LR) * (4 - LR)) / LR ** 3, axis=1))
    return E, E2, Q, f1, f2, f3


def semilinear_periodic(initial_condition, diffusion, reaction, X, *, domain, n_x=512,
                        dt=1e-3):
    """``u_t = diffusion * u_xx + reaction(u)``, periodic in x, at the rows ``(x, t)`` of
    ``X``: Fourier spectral in x on ``n_x`` modes, ETDRK4 in time (Cox & Matthews 2002,
    Kassam & Trefethen 2005; fourth order, the stiff diffusion integrated exactly) with
    steps of at most ``dt`` landing on every requested time; values between grid points by
    spectral interpolation. ``tests/test_pde.py`` shows it converged to 1e-6."""
    (x0, x1), (t0, _) = domain
    period = x1 - x0
    grid = np.linspace(x0, x1, n_x, endpoint=False)
    k = np.fft.rfftfreq(n_x, d=1.0 / n_x) * (2 * np.pi / period)
    linear = -diffusion * k ** 2
    v = np.fft.rfft(np.asarray(initial_condition(grid), dtype=float))
    cache = {}

    def nonlinear(v_hat):
        return np.fft.rfft(reaction(np.fft.irfft(v_hat, n_x)))

    def advance(v, h, steps):
        key = round(h, 15)
        if key not in cache:
            cache[key] = _etdrk4_coefficients(linear, h)
        E, E2, Q, f1, f2, f3 = cache[key]
        for _ in range(steps):
            Nv = nonlinear(v)
            a = E2 * v + Q * Nv
            Na = nonlinear(a)
            b = E2 * v + Q * Na
            Nb = nonlinear(b)
            c = E2 * a + Q * (2 * Nb - Nv)
            Nc = nonlinear(c)
            v = E * v + Nv * f1 + 2 * (Na + Nb) * f2 + Nc * f3
        return v

    return _periodic_in_time(v, advance, lambda v: np.fft.irfft(v, n_x), X, t0, dt, period,
                             x0)
