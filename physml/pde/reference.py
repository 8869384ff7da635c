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
    times, which = _sorted_times(X[:, 1])
    coefficients = np.empty((times.size, n_x), dtype=complex)
    now = t0
    for index, target in enumerate(times):
        span = target - now
        if span < -1e-14:
            raise ValueError("reference_solution: times before the initial time")
        steps = int(np.ceil(span / dt - 1e-9)) if span > 0 else 0
        if steps:
            h = span / steps
            decay = np.exp(-nu * k ** 2 * h)
            for _ in range(steps):
                u = logistic(u, rho, h / 2)
                u = np.real(np.fft.ifft(np.fft.fft(u) * decay))
                u = logistic(u, rho, h / 2)
        now = target
        coefficients[index] = fourier_coefficients(u)
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
