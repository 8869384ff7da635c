"""Diagnostics: the convergence test for continuous models, loss landscapes for PINNs."""

from dataclasses import dataclass, field

import numpy as np

__all__ = ["ConvergenceTest", "convergence_test", "depth_convergence_test", "LossLandscape",
           "loss_landscape"]


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


def depth_convergence_test(estimator, X, y, n_steps=None, *, integrator=None, label=""):
    """The convergence test for a continuous-in-depth classifier.

    Runs the fitted model with each number of depth steps in ``n_steps`` (the step is
    ``1 / n_steps``) and measures the log loss and the accuracy on ``(X, y)``. A network
    that learned a continuous function of depth keeps its accuracy as the steps are
    refined; one that learned a discrete map that only works at its training depth (often
    an Euler-trained ResNet) does not.

    Parameters
    ----------
    estimator : fitted ContinuousNetClassifier
        Anything with ``n_steps``, ``integrator``, ``set_params`` and ``predict_proba``.
    X, y : array-like
    n_steps : sequence of int, default=None
        ``n/2, n, 2n, 4n, 8n`` around the training ``n`` when None.
    integrator : str, default=None
        The scheme to run; the current one when None.

    Returns
    -------
    ConvergenceTest
        ``steps`` are ``1 / n_steps`` (largest first), ``errors`` the log loss,
        ``self_errors`` the mean absolute change of the probabilities from the finest
        run; ``extra`` holds ``n_steps`` and ``accuracy``.
    """
    from sklearn.metrics import log_loss

    trained_steps, trained_integrator = estimator.n_steps, estimator.integrator
    if n_steps is None:
        n_steps = [max(trained_steps // 2, 1), trained_steps, 2 * trained_steps,
                   4 * trained_steps, 8 * trained_steps]
    n_steps = np.unique(np.asarray(n_steps, dtype=int))
    if n_steps.size < 2 or np.any(n_steps < 1):
        raise ValueError("n_steps must hold at least two positive integers")
    y = np.asarray(y)
    probabilities, accuracies = [], []
    try:
        for n in n_steps:
            estimator.set_params(n_steps=int(n),
                                 integrator=integrator or trained_integrator)
            p = estimator.predict_proba(X)
            probabilities.append(p)
            accuracies.append(float(np.mean(estimator.classes_[p.argmax(1)] == y)))
    finally:
        estimator.set_params(n_steps=trained_steps, integrator=trained_integrator)
    errors = np.array([log_loss(y, p, labels=estimator.classes_) for p in probabilities])
    finest = probabilities[-1]
    self_errors = np.array([np.abs(p - finest).mean() for p in probabilities])
    steps = 1.0 / n_steps
    h = 1.0 / trained_steps
    below = steps < h * (1 - 1e-9)
    successive = np.array([np.abs(a - b).mean()
                           for a, b in zip(probabilities[:-1], probabilities[1:])])
    name = integrator or trained_integrator
    return ConvergenceTest(
        steps=steps, errors=errors, self_errors=self_errors, training_step=h,
        order=_slope(steps[:-1][below[:-1]], successive[below[:-1]]),
        data_order=_slope(steps[below], errors[below]),
        integrator=str(getattr(name, "name", name)), label=label,
        extra={"n_steps": n_steps, "accuracy": np.array(accuracies)})


@dataclass
class LossLandscape:
    """The result of :func:`loss_landscape`.

    Attributes
    ----------
    alphas, betas : ndarray of shape (n_points,)
        Steps along the first and second direction (0 is the fitted parameters).
    losses : ndarray of shape (n_points, n_points)
        ``losses[i, j]`` is the loss at ``theta + alphas[i] * d1 + betas[j] * d2``.
    center : float
        The loss at the fitted parameters.
    """

    alphas: np.ndarray
    betas: np.ndarray
    losses: np.ndarray
    center: float
    label: str = ""

    def plot(self, ax=None, levels=30, log=True, **kwargs):
        """Contours of the (log10) loss around the fitted parameters (needs matplotlib)."""
        from .plotting import _pyplot

        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(5, 4.2))
        values = np.log10(np.maximum(self.losses, 1e-300)) if log else self.losses
        image = ax.contourf(self.alphas, self.betas, values.T, levels=levels, **kwargs)
        ax.figure.colorbar(image, ax=ax, label="log10 loss" if log else "loss")
        ax.plot([0], [0], "w*", ms=10)
        ax.set_xlabel("direction 1")
        ax.set_ylabel("direction 2")
        ax.set_title(self.label or "loss landscape", fontsize=10)
        return ax


def loss_landscape(estimator, X=None, y=None, *, loss=None, span=1.0, n_points=25,
                   random_state=0, label=""):
    """The loss on a 2-D grid around the fitted parameters (Li et al., NeurIPS 2018).

    Two random Gaussian directions are drawn (seeded by ``random_state``) and
    filter-normalized: each row of each weight matrix of the direction (one neuron's
    incoming weights) is scaled to the norm of the same row of the fitted weights, and
    the directions are zero on biases, as in Li et al. The loss is evaluated at
    ``theta + a * d1 + b * d2`` for ``a, b`` in ``[-span, span]``; the fitted
    parameters are left as they were.

    Parameters
    ----------
    estimator : fitted estimator or torch.nn.Module
        A fitted :class:`~physml.PINNRegressor` (its training loss on ``X, y`` is used),
        or any module together with ``loss``.
    X, y : array-like, optional
        The training data of the estimator (for a PINN: the initial/sensor data it was
        fitted on).
    loss : callable, optional
        ``loss()`` returns a scalar tensor computed from the module's current parameters;
        needed for a plain module, optional for a PINN.
    span : float, default=1.0
    n_points : int, default=25
        Grid points per direction.
    random_state : int, default=0
    label : str, default=""

    Returns
    -------
    LossLandscape

    Examples
    --------
    A quadratic bowl ``||W - W*||^2`` seen from its minimum: the landscape is the
    quadratic form of the two directions, with its minimum (zero) at the center.

    >>> import torch
    >>> from physml.diagnostics import loss_landscape
    >>> module = torch.nn.Linear(3, 2)
    >>> target = module.weight.detach().clone()
    >>> bowl = loss_landscape(module, loss=lambda: (module.weight - target).square().sum(),
    ...                       n_points=5)
    >>> bowl.losses.shape, float(bowl.losses[2, 2]), bool((bowl.losses >= 0).all())
    ((5, 5), 0.0, True)
    """
    import torch

    module, loss = _landscape_target(estimator, X, y, loss)
    if not (isinstance(n_points, (int, np.integer)) and n_points >= 2):
        raise ValueError(f"n_points must be an integer >= 2, got {n_points!r}")
    if not (np.isfinite(span) and span > 0):
        raise ValueError(f"span must be a finite number > 0, got {span!r}")
    parameters = [p for p in module.parameters() if p.requires_grad]
    generator = torch.Generator().manual_seed(int(random_state))
    directions = [_filter_normalized(parameters, generator) for _ in range(2)]
    steps = np.linspace(-span, span, n_points)
    saved = [p.detach().clone() for p in parameters]
    losses = np.empty((n_points, n_points))
    try:
        for i, a in enumerate(steps):
            for j, b in enumerate(steps):
                with torch.no_grad():
                    for p, p0, d1, d2 in zip(parameters, saved, *directions):
                        p.copy_(p0 + a * d1 + b * d2)
                losses[i, j] = float(loss().detach())
    finally:
        with torch.no_grad():
            for p, p0 in zip(parameters, saved):
                p.copy_(p0)
    center = float(loss().detach())
    return LossLandscape(steps, steps.copy(), losses, center, label)


def _filter_normalized(parameters, generator):
    import torch

    direction = []
    for p in parameters:
        if p.dim() <= 1:
            direction.append(torch.zeros_like(p))
            continue
        d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
        d = d.to(device=p.device, dtype=p.dtype)
        rows_d = d.reshape(d.shape[0], -1).norm(dim=1).clamp_min(1e-30)
        rows_p = p.detach().reshape(p.shape[0], -1).norm(dim=1)
        scale = (rows_p / rows_d).reshape((-1,) + (1,) * (p.dim() - 1))
        direction.append(d * scale)
    return direction


def _landscape_target(estimator, X, y, loss):
    import torch

    if isinstance(estimator, torch.nn.Module):
        if loss is None:
            raise ValueError("loss_landscape of a torch module needs loss=callable")
        return estimator, loss
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(estimator, "network_")
    if loss is None:
        if not hasattr(estimator, "training_loss"):
            raise TypeError(f"{type(estimator).__name__} has no training_loss; pass loss=")
        if X is None or y is None:
            raise ValueError("loss_landscape needs the training data X, y of the estimator")
        loss = estimator.training_loss(X, y)
    return estimator.network_, loss
