"""Diagnostics: the convergence test for continuous models."""

from dataclasses import dataclass, field

import numpy as np


@dataclass
class ConvergenceTest:
    """The result of :func:`convergence_test`.

    Attributes
    ----------
    steps : ndarray
        Inference steps, largest first.
    errors : ndarray
        Relative L2 error of each step's forecast against the data.
    self_errors : ndarray
        Relative L2 distance of each step's forecast from the finest step's forecast.
    training_step : float
    order : float
        Observed order: least-squares slope of ``log ||x_h - x_h'||`` against ``log h`` for
        consecutive steps ``h > h'`` finer than the training step (differences of successive
        refinements, which unlike the distance to the finest forecast are not biased near
        the finest step). A numerical integrator shows its order here.
    data_order : float
        The same slope for ``errors`` (against the data): near the scheme's order for an
        exact vector field, near 0 once a learned field's own error dominates, negative
        when refining makes the forecast worse.
    integrator : str
    """

    steps: np.ndarray
    errors: np.ndarray
    self_errors: np.ndarray
    training_step: float
    order: float
    data_order: float
    integrator: str
    label: str = ""
    extra: dict = field(default_factory=dict)

    def plot(self, ax=None, **kwargs):
        """Error against the data and self-convergence against the step, log-log axes."""
        from .plotting import _pyplot

        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4))
        label = self.label or self.integrator
        line, = ax.loglog(self.steps, self.errors, "o-", label=f"{label}: vs data", **kwargs)
        ax.loglog(self.steps[:-1], self.self_errors[:-1], "x--", color=line.get_color(),
                  alpha=0.6, label=f"{label}: vs finest step")
        ax.axvline(self.training_step, color="0.6", lw=0.8, ls=":")
        ax.set_xlabel("inference step")
        ax.set_ylabel("relative L2 error")
        ax.legend(fontsize=7)
        return ax


def _slope(steps, errors):
    keep = (errors > 0) & np.isfinite(errors)
    if keep.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(steps[keep]), np.log(errors[keep]), 1)[0])


def default_steps(dt, coarser=1, finer=5):
    """``dt * 2**k`` for ``k = coarser, ..., -finer``: log-spaced through the training step."""
    return float(dt) * 2.0 ** np.arange(coarser, -finer - 1, -1)


def convergence_test(estimator, X, steps=None, *, integrator=None, label=""):
    """Integrate a frozen model with a sweep of inference steps and measure the errors.

    Forecasts every trajectory of ``X`` from its first state, with each step in ``steps``,
    and compares at the sample times that every step reaches (multiples of the coarsest).

    Parameters
    ----------
    estimator : ODENetForecaster or KnownVectorField
        Anything with ``forecast(x0, t, step=, integrator=)`` and a training ``dt``.
    X : array-like of shape (n_timepoints, n_features) or \
(n_trajectories, n_timepoints, n_features)
        Reference trajectories sampled every ``estimator.dt`` from ``t = 0``.
    steps : array-like, default=None
        Inference steps; ``dt * 2**k`` for ``k = 1, 0, -1, ..., -5`` when None.
    integrator : str, default=None
        Inference scheme; the training one when None.
    label : str, default=""
        Name for plots.

    Returns
    -------
    ConvergenceTest

    Examples
    --------
    >>> import numpy as np
    >>> from physml.datasets import make_harmonic_oscillator
    >>> from physml.diagnostics import convergence_test
    >>> from physml.odenet import KnownVectorField
    >>> X, t = make_harmonic_oscillator(n_trajectories=2, n_timepoints=21, random_state=0)
    >>> exact = KnownVectorField(lambda x: x.flip(-1) * x.new_tensor([1.0, -1.0]), 2, dt=0.5)
    >>> result = convergence_test(exact, X)
    >>> round(result.order), round(result.data_order)
    (4, 4)
    """
    from .odenet import _as_trajectories

    X = _as_trajectories(X)
    dt = float(estimator.dt)
    steps = default_steps(dt) if steps is None else np.sort(np.asarray(steps, float))[::-1]
    if steps.size < 2 or np.any(steps <= 0):
        raise ValueError("steps must hold at least two positive values")
    # Compare at the sample times every step lands on: multiples of the coarsest step.
    stride = max(int(round(steps[0] / dt)), 1)
    index = np.arange(0, X.shape[1], stride)[1:]
    if index.size == 0:
        raise ValueError("X is too short for the coarsest step")
    times = index * dt
    target = X[:, index]
    forecasts = [np.asarray(estimator.forecast(X[:, 0], times, step=h, integrator=integrator))
                 for h in steps]
    norm = np.linalg.norm(target)
    errors = np.array([np.linalg.norm(f - target) / norm for f in forecasts])
    finest = forecasts[-1]
    self_errors = np.array([np.linalg.norm(f - finest) / np.linalg.norm(finest)
                            for f in forecasts])
    below = steps < dt * (1 - 1e-9)
    successive = np.array([np.linalg.norm(a - b) for a, b in zip(forecasts[:-1], forecasts[1:])])
    fine = below[:-1]
    name = integrator or getattr(estimator, "integrator", "")
    return ConvergenceTest(
        steps=steps, errors=errors, self_errors=self_errors, training_step=dt,
        order=_slope(steps[:-1][fine], successive[fine]),
        data_order=_slope(steps[below], errors[below]),
        integrator=str(getattr(name, "name", name)), label=label,
    )
