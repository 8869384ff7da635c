"""scikit-learn's estimator checks over every public estimator, with cheap settings."""

from sklearn.utils.estimator_checks import parametrize_with_checks

from physml import (
    ContinuousNetClassifier,
    LEMClassifier,
    LEMRegressor,
    LipschitzRNNClassifier,
    LipschitzRNNRegressor,
    NoisyRNNClassifier,
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
    yield ContinuousNetClassifier(n_basis=2, n_steps=1, channels=8, max_epochs=10,
                                  learning_rate=2e-2, random_state=0)
    # 2-D X: univariate sequences (one column per time step).
    rnn = dict(hidden_size=16, max_epochs=30, learning_rate=1e-2, random_state=0)
    yield LEMClassifier(**rnn)
    yield LEMRegressor(**{**rnn, "max_epochs": 60})
    yield LipschitzRNNClassifier(dt=0.5, **rnn)
    yield LipschitzRNNRegressor(dt=0.5, **{**rnn, "max_epochs": 40, "learning_rate": 2e-2,
                                           "batch_size": 64})
    yield NoisyRNNClassifier(dt=0.5, **rnn)


@parametrize_with_checks(list(estimators()),
                         expected_failed_checks=lambda est: EXPECTED_FAILURES)
def test_sklearn_compatible(estimator, check):
    check(estimator)
