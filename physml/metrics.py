"""Error measures used across physml, as functions and as sklearn scorers."""

import numpy as np
from sklearn.utils.validation import check_consistent_length


def relative_l2_error(u_true, u_pred):
    """Relative L2 error ``||u_true - u_pred||_2 / ||u_true||_2`` (the paper's headline metric).

    Parameters
    ----------
    u_true, u_pred : array-like of shape (n_points,) or (n_points, n_outputs)

    Returns
    -------
    float

    Examples
    --------
    >>> from physml.metrics import relative_l2_error
    >>> relative_l2_error([3.0, 4.0], [3.0, 4.5])
    0.1
    """
    u_true = np.asarray(u_true, dtype=float)
    u_pred = np.asarray(u_pred, dtype=float)
    check_consistent_length(u_true, u_pred)
    if u_true.shape != u_pred.shape:
        u_pred = u_pred.reshape(u_true.shape)
    norm = np.linalg.norm(u_true)
    if norm == 0:
        raise ValueError("relative_l2_error: u_true is identically zero")
    return float(np.linalg.norm(u_true - u_pred) / norm)


def mean_absolute_error(u_true, u_pred):
    """Mean absolute error ``mean |u_true - u_pred|`` (the paper's second metric)."""
    u_true = np.asarray(u_true, dtype=float)
    u_pred = np.asarray(u_pred, dtype=float).reshape(u_true.shape)
    return float(np.mean(np.abs(u_true - u_pred)))


def check_continuity(estimator, X, y=None, steps=None):
    """Scorer: does the model stay as accurate when integrated with finer steps? Higher is better.

    Runs :func:`physml.diagnostics.convergence_test` on ``X`` and returns::

        -log2( max_{h < dt} error(h) / error(dt) )

    the number of doublings by which the forecast error against the data grows, at worst,
    when the inference step ``h`` is refined below the training step ``dt``. A model that
    learned the continuous dynamics behaves like a numerical integrator: refining the step
    leaves its error at the model error or lowers it, so the score is about 0 or positive.
    A model that learned a discrete map that only works at ``dt`` (typically an
    Euler-trained ODE-Net) gets worse when refined, and scores negative: -5 means the error
    grew 32-fold.

    For a continuous-in-depth classifier (:class:`~physml.ContinuousNetClassifier`) the
    error is the log loss on ``(X, y)`` and the steps are ``1 / n_steps`` (see
    :func:`physml.diagnostics.depth_convergence_test`).

    The signature ``(estimator, X, y=None)`` makes it usable directly as
    ``GridSearchCV(..., scoring=check_continuity)``.

    Parameters
    ----------
    estimator : fitted ODENetForecaster (or anything with ``forecast`` and ``dt``), or a
        fitted ContinuousNetClassifier
    X : array-like
        Trajectories sampled every ``dt`` (see ``convergence_test``).
    y : array-like or None
        Ignored for forecasters; the labels for a classifier.
    steps : array-like, default=None
        Inference steps; ``dt * 2**k`` for ``k = 1, ..., -5`` when None. For a classifier,
        the numbers of depth steps (``n/2 .. 8n`` around the training ``n``).

    Returns
    -------
    float

    Examples
    --------
    >>> from physml.datasets import make_harmonic_oscillator
    >>> from physml.metrics import check_continuity
    >>> from physml.odenet import KnownVectorField
    >>> X, _ = make_harmonic_oscillator(n_trajectories=2, n_timepoints=21, random_state=0)
    >>> exact = KnownVectorField(lambda x: x.flip(-1) * x.new_tensor([1.0, -1.0]), 2, dt=0.5)
    >>> check_continuity(exact, X) > 0
    True
    """
    from .diagnostics import convergence_test, depth_convergence_test

    if hasattr(estimator, "n_steps") and hasattr(estimator, "predict_proba"):
        if y is None:
            raise ValueError("check_continuity of a classifier needs the labels y")
        result = depth_convergence_test(estimator, X, y, steps)
    else:
        result = convergence_test(estimator, X, steps)
    at_training = np.isclose(result.steps, result.training_step)
    below = result.steps < result.training_step * (1 - 1e-9)
    if not at_training.any() or not below.any():
        raise ValueError("steps must include the training step dt and steps finer than it")
    reference = result.errors[at_training][0]
    worst = np.max(result.errors[below])
    if reference == 0:
        return 0.0 if worst == 0 else -np.inf
    return float(-np.log2(worst / reference))


def neg_relative_l2_error(estimator, X, y):
    """Scorer: minus the relative L2 error of ``estimator.predict(X)`` against ``y``.

    Higher is better, as sklearn's model selection expects; also available by name,
    ``get_scorer("neg_relative_l2_error")``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from physml.metrics import neg_relative_l2_error
    >>> X, y = np.zeros((4, 1)), np.array([1.0, 1.0, 1.0, 1.0])
    >>> neg_relative_l2_error(DummyRegressor().fit(X, y), X, y)
    -0.0
    """
    return -relative_l2_error(y, estimator.predict(X))


SCORERS = {"neg_relative_l2_error": neg_relative_l2_error, "check_continuity": check_continuity}


def get_scorer(scoring):
    """A scorer by name: physml's (``neg_relative_l2_error``, ``check_continuity``), else
    sklearn's (:func:`sklearn.metrics.get_scorer`).

    Examples
    --------
    >>> from physml.metrics import get_scorer
    >>> get_scorer("neg_relative_l2_error").__name__
    'neg_relative_l2_error'
    >>> get_scorer("r2")
    make_scorer(r2_score, response_method='predict')
    """
    if isinstance(scoring, str) and scoring in SCORERS:
        return SCORERS[scoring]
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    return sklearn_get_scorer(scoring)
