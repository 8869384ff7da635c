"""Every estimator and parameter object declares its parameters (scikit-learn's
``_parameter_constraints``) and rejects a wrong one at the start of ``fit`` with sklearn's
``InvalidParameterError`` naming it; every estimator speaks one vocabulary."""

import inspect

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils._param_validation import (
    InvalidParameterError,
    generate_invalid_param_val,
    make_constraint,
)
from sklearn.utils.estimator_checks import check_param_validation

import physml
from physml import PINNRegressor, datasets
from physml.pde import AllenCahn, Burgers, Convection, CustomPDE, Reaction, ReactionDiffusion
from physml.strategies import Causal, Curriculum, Standard, TimeMarching

ESTIMATORS = [getattr(physml, name) for name in physml.__all__]


def _heat(X, u, d, c):
    return d["u_t"] - c["kappa"] * d["u_xx"]


PARAMETER_OBJECTS = [
    Convection(), Reaction(), ReactionDiffusion(), Burgers(), AllenCahn(),
    CustomPDE(_heat, derivatives=("u_t", "u_xx"), initial_condition=np.sin,
              coefficients={"kappa": 1.0}),
    Standard(), Curriculum(), TimeMarching(), Causal(),
]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_every_estimator_parameter_is_declared_and_checked_first(estimator):
    # sklearn's own check: one constraint per __init__ parameter, and a wrong type or
    # value of each raises InvalidParameterError naming it, before any data work.
    check_param_validation(estimator.__name__, estimator())


def _bad_values(constraints):
    yield type("BadType", (), {})()
    for constraint in map(make_constraint, constraints):
        try:
            yield generate_invalid_param_val(constraint)
        except NotImplementedError:
            pass


@pytest.mark.parametrize("obj", PARAMETER_OBJECTS, ids=lambda o: type(o).__name__)
def test_every_parameter_object_parameter_is_declared_and_checked_at_fit(obj):
    name = type(obj).__name__
    params = obj.get_params(deep=False)
    assert set(obj._parameter_constraints) == set(params), name
    is_pde = isinstance(obj, physml.pde.PDE)
    X0, u0 = Convection().initial_data(8)
    for param, constraints in obj._parameter_constraints.items():
        for bad in _bad_values(constraints):
            broken = clone(obj).set_params(**{param: bad})
            est = (PINNRegressor(pde=broken, max_iter=1) if is_pde
                   else PINNRegressor(pde=Convection(), strategy=broken, max_iter=1))
            with pytest.raises(InvalidParameterError,
                               match=rf"The '{param}' parameter of {name} must be"):
                est.fit(X0, u0)


def test_a_strategy_inside_a_strategy_is_checked_too():
    X0, u0 = Convection().initial_data(8)
    est = PINNRegressor(pde=Convection(), strategy=TimeMarching(within=Causal(n_chunks=0)))
    with pytest.raises(InvalidParameterError, match="'n_chunks' parameter of Causal"):
        est.fit(X0, u0)


# One word per concept, scikit-learn's where it has one.
SHARED = ("max_iter", "dtype", "random_state", "verbose", "device", "n_jobs")
RETIRED = ("max_epochs", "scheme", "n_epochs", "epochs", "seed")


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: e.__name__)
def test_every_estimator_uses_the_same_names_for_the_same_concepts(estimator):
    params = inspect.signature(estimator).parameters
    assert all(name in params for name in SHARED), estimator.__name__
    assert not any(name in params for name in RETIRED), estimator.__name__
    # every estimator that steps an ODE names the step rule `integrator`
    if any(word in (estimator.__doc__ or "") for word in ("Runge-Kutta", "Lipschitz")):
        assert "integrator" in params


def test_every_skorch_trained_estimator_has_the_same_training_parameters():
    from physml._skorch import TRAINING_CONSTRAINTS, SkorchEstimator

    trained = [e for e in ESTIMATORS if issubclass(e, SkorchEstimator)]
    assert {e.__name__ for e in trained} >= {"ContinuousNetClassifier", "LEMClassifier",
                                              "NoisyRNNRegressor"}
    for estimator in trained:
        params = estimator().get_params()
        assert set(TRAINING_CONSTRAINTS) <= set(params), estimator.__name__


@pytest.mark.parametrize("name", datasets.__all__)
def test_every_dataset_function_rejects_a_wrong_value_of_each_parameter_by_name(name):
    # They raised numpy's "negative dimensions are not allowed" for n_samples=-1, and
    # make_fitzhugh_nagumo(n_samples=0) returned empty arrays.
    function = getattr(datasets, name)
    required = {"pde": Convection()}
    for parameter in inspect.signature(function).parameters:
        given = {k: v for k, v in required.items()
                 if k != parameter and k in inspect.signature(function).parameters}
        with pytest.raises(InvalidParameterError, match=f"'{parameter}' parameter"):
            function(**given, **{parameter: "wrong"})
    for count in ("n_samples", "n_trajectories"):
        if count in inspect.signature(function).parameters:
            with pytest.raises(InvalidParameterError, match=f"'{count}' parameter"):
                function(**{count: 0})
