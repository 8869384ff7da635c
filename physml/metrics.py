"""Error measures used across physml, as functions and as sklearn scorers.

The mean absolute error of the papers' tables is scikit-learn's
:func:`sklearn.metrics.mean_absolute_error`; physml adds what sklearn lacks.
"""

import copy

import numpy as np
from sklearn.metrics import make_scorer
from sklearn.metrics._scorer import _BaseScorer
from sklearn.utils.validation import check_consistent_length

__all__ = ["check_continuity", "get_scorer", "get_scorer_names", "neg_relative_l2_error",
           "relative_l2_error"]


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


class _EstimatorScorer(_BaseScorer):
    """An sklearn scorer object around a score of the fitted estimator itself,
    ``function(estimator, X, y)`` (for a score that integrates, not one of predictions)."""

    def __init__(self, function, sign=1):
        super().__init__(score_func=function, sign=sign, kwargs={}, response_method=None)

    def __repr__(self):
        return f"<physml scorer {self._score_func.__name__}>"

    def _score(self, method_caller, estimator, X, y_true, **kwargs):
        return self._sign * self._score_func(estimator, X, y_true)


#: The relative L2 error as a scorer (negated: higher is better, as model selection
#: expects); ``get_scorer("neg_relative_l2_error")``.
neg_relative_l2_error = make_scorer(relative_l2_error, greater_is_better=False)

#: physml's scorers by name; each is an sklearn scorer object.
_SCORERS = {"neg_relative_l2_error": neg_relative_l2_error,
            "check_continuity": _EstimatorScorer(check_continuity)}


def get_scorer_names():
    """The names :func:`get_scorer` takes: physml's and scikit-learn's.

    Examples
    --------
    >>> from physml.metrics import get_scorer_names
    >>> {"neg_relative_l2_error", "check_continuity", "r2"} <= set(get_scorer_names())
    True
    """
    from sklearn.metrics import get_scorer_names as sklearn_names

    return sorted(set(_SCORERS) | set(sklearn_names()))


def get_scorer(scoring):
    """A scorer object by name: physml's (``neg_relative_l2_error``, ``check_continuity``),
    else scikit-learn's (:func:`sklearn.metrics.get_scorer`); a callable is returned as
    it is. Every named scorer is an sklearn scorer object, so ``cross_validate`` and
    ``GridSearchCV`` treat physml's and sklearn's alike.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyRegressor
    >>> from physml.metrics import get_scorer
    >>> X, y = np.zeros((4, 1)), np.array([1.0, 2.0, 3.0, 6.0])
    >>> scorer = get_scorer("neg_relative_l2_error")
    >>> round(scorer(DummyRegressor().fit(X, y), X, y), 3)
    -0.529
    >>> get_scorer("r2")
    make_scorer(r2_score, response_method='predict')
    """
    if isinstance(scoring, str) and scoring in _SCORERS:
        return copy.deepcopy(_SCORERS[scoring])
    from sklearn.metrics import get_scorer as sklearn_get_scorer

    try:
        return sklearn_get_scorer(scoring)
    except ValueError:
        raise ValueError(f"scoring={scoring!r} is not a known scorer; choose one of "
                         "get_scorer_names()") from None
