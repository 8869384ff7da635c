"""The Lipschitz RNN estimators and what the Noisy RNN ones share with them."""

from .._base import (
    AUTO_OPTION,
    reals,
    store_params,
)
from ..integrators import integrator_constraint
from ._cells import LipschitzCell
from ._estimator import (
    _LIPSCHITZ_COMMON_DOC,
    _REGRESSOR_CONSTRAINTS,
    FITTED_DOC,
    _Classifier,
    _RecurrentEstimator,
    _Regressor,
)

_LIPSCHITZ_DOC = """
    hidden_size : int, default=128
    dt : float or "auto", default="auto"
        The step ``epsilon`` of the discretization. ``"auto"`` makes a sequence span a
        time of 16 whatever its length: ``16 / n_timesteps``, at most 2 (digits by rows,
        8 steps: 2.0; by pixels, 64 steps: 0.25; sequential MNIST, 784 steps: 0.02, near
        the published 0.03). The step used is ``dt_``.
    beta : float, default=0.75
        Mix of the skew-symmetric and symmetric parts of ``A`` and ``W``.
    gamma_a, gamma_w : float, default=0.001
        Diagonal shifts of ``A`` and ``W``.
    integrator : {"euler", "rk2"}, default="euler"
        The step (any name of :mod:`physml.integrators`, or a ``ButcherTableau``)."""


#: ``dt="auto"``: the sequence spans this much time, whatever its length.
_LIPSCHITZ_SPAN = 16.0


def _lipschitz_step(dt, n_timesteps):
    """``dt``, or for ``"auto"`` a step that makes a sequence of ``n_timesteps`` span
    ``_LIPSCHITZ_SPAN`` (at most 2: an Euler step on the skew-symmetric part of ``A``
    grows the state by ``sqrt(1 + (omega dt)^2)``)."""
    if dt != "auto":
        return float(dt)
    return min(_LIPSCHITZ_SPAN / max(int(n_timesteps), 1), 2.0)


class _LipschitzRNN:
    """The cell of the Lipschitz and Noisy RNN estimators, and their parameters."""

    _max_batch = 32
    _parameter_constraints = {
        **_RecurrentEstimator._parameter_constraints,
        "dt": [AUTO_OPTION, reals(0, closed="neither")],
        "beta": [reals(0, 1, closed="both")],
        "gamma_a": [reals(0)],
        "gamma_w": [reals(0)],
        "integrator": integrator_constraint(),
    }

    def _make_cell(self, n_timesteps):
        return LipschitzCell(int(self.hidden_size), _lipschitz_step(self.dt, n_timesteps),
                             self.beta, self.gamma_a, self.gamma_w, self.integrator,
                             getattr(self, "additive_noise", 0.0),
                             getattr(self, "multiplicative_noise", 0.0))


_NOISE_CONSTRAINTS = {"additive_noise": [reals(0)], "multiplicative_noise": [reals(0)]}
class LipschitzRNNClassifier(_LipschitzRNN, _Classifier):
    __doc__ = """Lipschitz RNN classifier (Erichson et al., ICLR 2021).

    ``h' = A h + tanh(W h + U x + b)`` with ``A``, ``W`` built from a skew-symmetric and a
    symmetric part (well-behaved eigenvalues), one ``integrator`` step per input.

    Parameters
    ----------""" + _LIPSCHITZ_DOC + _LIPSCHITZ_COMMON_DOC + """
    Attributes
    ----------
    classes_, net_, history_, n_iter_, stopped_, n_features_in_, dt_
        As :class:`LEMClassifier`'s.""" + FITTED_DOC + """

    Examples
    --------
    The bare call, ``LipschitzRNNClassifier(random_state=0)``, is measured on the digits
    by ``benchmarks/bench_recurrent.py defaults`` (the user guide's "Sequence models"
    page); a quicker fit:

    >>> from physml import LipschitzRNNClassifier
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits(by_rows=True)
    >>> est = LipschitzRNNClassifier(max_iter=20, random_state=0).fit(X[:1200], y[:1200])
    >>> est.dt_  # "auto": 16 / 8 steps
    2.0
    >>> est.score(X[1200:], y[1200:]) > 0.9
    True
    """

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler",
                 scaling="channel", max_iter="auto", batch_size="auto",
                 learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False,
                 validation_fraction=0.1, callbacks=None,
                 dtype="float32", device="cpu", n_jobs=None, random_state=None, verbose=0,
                 warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())


class LipschitzRNNRegressor(_LipschitzRNN, _Regressor):
    __doc__ = """Lipschitz RNN regressor: sequence to one or sequence to sequence.

    Parameters
    ----------""" + _LIPSCHITZ_DOC + """
    sequence_output : bool, default=False
        See :class:`LEMRegressor`.""" + _LIPSCHITZ_COMMON_DOC + """
    Examples
    --------
    >>> from physml import LipschitzRNNRegressor
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=256, n_timesteps=10, random_state=0)
    >>> LipschitzRNNRegressor(max_iter=2, random_state=0).fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {**_LipschitzRNN._parameter_constraints,
                              **_REGRESSOR_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler", sequence_output=False,
                 scaling="channel", max_iter="auto", batch_size="auto",
                 learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False,
                 validation_fraction=0.1, callbacks=None,
                 dtype="float32", device="cpu", n_jobs=None, random_state=None, verbose=0,
                 warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())
