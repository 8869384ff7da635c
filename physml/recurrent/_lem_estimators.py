"""LEMClassifier and LEMRegressor."""

from .._base import store_params
from ._estimator import (
    _COMMON_DOC,
    _REGRESSOR_CONSTRAINTS,
    FITTED_DOC,
    _Classifier,
    _RecurrentEstimator,
    _Regressor,
)
from ._lem import LEMCell


class _LEM:
    """The cell of the LEM estimators."""

    def _make_cell(self, n_timesteps):
        return LEMCell(int(self.hidden_size), float(self.dt))


class LEMClassifier(_LEM, _Classifier):
    __doc__ = """Long Expressive Memory classifier (Rusch, Mishra, Erichson, Mahoney 2022).

    A multiscale ODE discretization with learned per-unit time steps; the class is read
    from the last hidden state.

    Parameters
    ----------
    hidden_size : int, default=128
    dt : float, default=1.0
        The largest time step; each unit's step is ``dt`` times a learned gate in (0, 1).
    """ + _COMMON_DOC + """
    Attributes
    ----------
    classes_ : ndarray
    net_ : skorch.NeuralNetClassifier
    history_ : dict of list
        One entry per finished epoch: ``"loss"`` (the training loss), ``"epoch"``,
        ``"train_loss"``, ``"dur"`` (seconds),
        ``"valid_loss"`` with ``early_stopping``, and skorch's ``*_best`` flags.
    n_iter_ : int
        Epochs completed.
    stopped_ : str or None
        ``"diverged"`` (a non-finite training loss) or ``"interrupted"`` (Ctrl-C) when
        training ended early — a warning says so and the parameters of the best epoch are
        kept — ``"callback"`` when a callback stopped it (the parameters it reached are
        kept), else None (early stopping is not an interruption).
    n_features_in_ : int
        Features per time step.
    dt_ : float or None
        The time step the cell used (``dt``, or what ``"auto"`` resolved to); None for a
        cell without one.""" + FITTED_DOC + """

    Examples
    --------
    The bare call on sklearn's digits read row by row (8 steps of 8 pixels):

    >>> from sklearn.model_selection import train_test_split
    >>> from physml import LEMClassifier
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits(by_rows=True)
    >>> X.shape
    (1797, 8, 8)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.25, stratify=y, random_state=0)
    >>> est = LEMClassifier(random_state=0).fit(X_train, y_train)
    >>> est.score(X_test, y_test) >= 0.97
    True
    """

    def __init__(self, *, hidden_size=128, dt=1.0, scaling="channel", max_iter="auto",
                 batch_size="auto",
                 learning_rate=3e-3, lr_schedule="cosine", gradient_clip=1.0,
                 early_stopping=False,
                 validation_fraction=0.1, callbacks=None, dtype="float32", device="cpu",
                 n_jobs=None, random_state=None, verbose=0,
                 warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())


class LEMRegressor(_LEM, _Regressor):
    __doc__ = """Long Expressive Memory regressor: sequence to one or sequence to sequence.

    Parameters
    ----------
    hidden_size : int, default=128
    dt : float, default=1.0
    sequence_output : bool, default=False
        With a 2-D ``y`` of shape ``(n, T)``: read it as one target per time step (True)
        or as ``T`` targets of the last step (False). A 3-D ``y`` is always per step.
    """ + _COMMON_DOC + """
    Examples
    --------
    >>> from physml import LEMRegressor
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=512, n_timesteps=20, random_state=0)
    >>> est = LEMRegressor(hidden_size=32, max_iter=3, random_state=0).fit(X, y)
    >>> est.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {**_RecurrentEstimator._parameter_constraints,
                              **_REGRESSOR_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt=1.0, sequence_output=False,
                 scaling="channel", max_iter="auto",
                 batch_size="auto", learning_rate=3e-3, lr_schedule="cosine", gradient_clip=1.0,
                 early_stopping=False,
                 validation_fraction=0.1, callbacks=None, dtype="float32", device="cpu",
                 n_jobs=None, random_state=None, verbose=0,
                 warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())
