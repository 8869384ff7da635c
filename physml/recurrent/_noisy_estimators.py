"""The Noisy RNN estimators: the Lipschitz RNN trained with noise."""

from .._base import store_params
from ._estimator import (
    _LIPSCHITZ_COMMON_DOC,
    _REGRESSOR_CONSTRAINTS,
    FITTED_DOC,
    _Classifier,
    _Regressor,
)
from ._lipschitz_estimators import _LIPSCHITZ_DOC, _NOISE_CONSTRAINTS, _LipschitzRNN


class NoisyRNNClassifier(_LipschitzRNN, _Classifier):
    __doc__ = """Noisy RNN classifier (Lim, Erichson, Hodgkinson, Mahoney, NeurIPS 2021).

    The Lipschitz RNN's field ``f`` driven by noise while training,
    ``dh = f(h, x) dt + (additive + multiplicative * f(h, x)) dB``, stepped by
    Euler-Maruyama; at prediction the noise is off (the deterministic Euler step). The
    noise acts as an implicit regularizer that makes the classifier robust to input
    perturbations.

    Parameters
    ----------""" + _LIPSCHITZ_DOC + """
    additive_noise : float, default=0.05
    multiplicative_noise : float, default=0.02""" + _LIPSCHITZ_COMMON_DOC + """
    Attributes
    ----------
    classes_, net_, history_, n_iter_, stopped_, n_features_in_, dt_
        As :class:`LEMClassifier`'s.""" + FITTED_DOC + """

    Examples
    --------
    The bare call, ``NoisyRNNClassifier(random_state=0)``, is measured on the digits by
    ``benchmarks/bench_recurrent.py defaults`` (the user guide's "Sequence models"
    page); a quicker fit:

    >>> from physml import NoisyRNNClassifier
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits(by_rows=True)
    >>> est = NoisyRNNClassifier(max_iter=20, random_state=0).fit(X[:1200], y[:1200])
    >>> est.score(X[1200:], y[1200:]) > 0.9
    True
    """

    _parameter_constraints = {**_LipschitzRNN._parameter_constraints, **_NOISE_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler", additive_noise=0.05,
                 multiplicative_noise=0.02,
                 scaling="channel", max_iter="auto", batch_size="auto",
                 learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False,
                 validation_fraction=0.1, callbacks=None,
                 dtype="float32", device="cpu", n_jobs=None, random_state=None, verbose=0,
                 warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())


class NoisyRNNRegressor(_LipschitzRNN, _Regressor):
    __doc__ = """Noisy RNN regressor: sequence to one or sequence to sequence, trained with
    the noise of :class:`NoisyRNNClassifier` (off at prediction).

    Parameters
    ----------""" + _LIPSCHITZ_DOC + """
    additive_noise : float, default=0.05
    multiplicative_noise : float, default=0.02
    sequence_output : bool, default=False
        See :class:`LEMRegressor`.""" + _LIPSCHITZ_COMMON_DOC + """
    Examples
    --------
    >>> from physml import NoisyRNNRegressor
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=256, n_timesteps=10, random_state=0)
    >>> NoisyRNNRegressor(max_iter=2, random_state=0).fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {**_LipschitzRNN._parameter_constraints, **_NOISE_CONSTRAINTS,
                              **_REGRESSOR_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler", additive_noise=0.05,
                 multiplicative_noise=0.02, sequence_output=False,
                 scaling="channel", max_iter="auto", batch_size="auto",
                 learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False,
                 validation_fraction=0.1, callbacks=None,
                 dtype="float32", device="cpu", n_jobs=None, random_state=None, verbose=0,
                 warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())
