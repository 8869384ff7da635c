"""scikit-learn's estimator checks over every public estimator, with cheap settings."""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier
from sklearn.utils.estimator_checks import parametrize_with_checks

from physml import (
    ContinuousNetClassifier,
    LEMClassifier,
    LEMRegressor,
    LipschitzRNNClassifier,
    LipschitzRNNRegressor,
    NoisyRNNClassifier,
    NoisyRNNRegressor,
    ODENetForecaster,
    PINNRegressor,
)

CHEAP = dict(hidden_layer_sizes=(16,), max_iter=100, n_collocation=64, n_boundary=8,
             random_state=0)

# Each expected failure with the reason it cannot pass. Keep this list short.
EXPECTED_FAILURES = {
    # With an equation, X must have one column per coordinate (x, t); the generic checks
    # feed 1 to 10 arbitrary features, which PINNRegressor rejects with a ValueError.
}


def estimators():
    yield PINNRegressor(**CHEAP)
    # X is one trajectory (rows are time points); y is ignored.
    yield ODENetForecaster(hidden_layer_sizes=(8,), max_iter=20, random_state=0)
    # Tabular X: dense continuous blocks.
    yield ContinuousNetClassifier(n_basis=2, n_steps=1, channels=8, max_iter=10,
                                  learning_rate=2e-2, random_state=0)
    # 2-D X: univariate sequences (one column per time step).
    rnn = dict(hidden_size=16, max_iter=30, batch_size=64, learning_rate=1e-2, random_state=0)
    yield LEMClassifier(**rnn)
    yield LEMRegressor(**{**rnn, "max_iter": 60})
    yield LipschitzRNNClassifier(dt=0.5, **rnn)
    yield LipschitzRNNRegressor(dt=0.5, **{**rnn, "max_iter": 40, "learning_rate": 2e-2,
                                           "batch_size": 64})
    yield NoisyRNNClassifier(dt=0.5, **rnn)
    yield NoisyRNNRegressor(dt=0.5, **{**rnn, "max_iter": 40, "learning_rate": 2e-2,
                                       "batch_size": 64})


@parametrize_with_checks(list(estimators()),
                         expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def _fit_small(estimator):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6))
    if is_classifier(estimator):
        return estimator.fit(X, np.arange(40) % 2)
    if isinstance(estimator, ODENetForecaster):
        return estimator.fit(X)
    return estimator.fit(X, X.sum(axis=1))


@pytest.mark.parametrize("estimator", list(estimators()), ids=lambda e: type(e).__name__)
def test_history_is_a_dict_of_equal_length_lists(estimator):
    est = _fit_small(clone(estimator).set_params(max_iter=3))
    history = est.history_
    assert isinstance(history, dict) and history, type(est).__name__
    lengths = {key: len(values) for key, values in history.items()}
    assert all(isinstance(v, list) for v in history.values())
    assert len(set(lengths.values())) == 1 and min(lengths.values()) > 0, lengths
    # every estimator records its training loss under one key
    assert np.all(np.isfinite(history["loss"])), type(est).__name__


@pytest.mark.parametrize("estimator", list(estimators()), ids=lambda e: type(e).__name__)
def test_a_refit_leaves_nothing_of_the_previous_fit(estimator):
    est = _fit_small(clone(estimator).set_params(max_iter=2))
    est.leftover_ = "set by an earlier fit"
    est._private_leftover_ = 1
    _fit_small(est)
    assert not hasattr(est, "leftover_") and not hasattr(est, "_private_leftover_")
