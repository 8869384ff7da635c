"""A deliberate public surface: what each public module exports, and nothing else."""

import importlib
import inspect
import pkgutil

import pytest
import sklearn.metrics

import physml

PUBLIC_MODULES = ["physml"] + [
    f"physml.{m.name}" for m in pkgutil.iter_modules(physml.__path__)
    if not m.name.startswith("_")]
INTERNALS = {"PINNProblem", "derivative_plan", "SequenceNetwork", "SCORERS", "LEMCell",
             "LipschitzCell", "validate_params", "check_basis"}


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_every_public_module_declares_its_exports(name):
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} has no __all__"
    for attr in exported:
        assert not attr.startswith("_") and attr not in INTERNALS, (name, attr)
        obj = getattr(module, attr)  # every export exists
        if inspect.isfunction(obj) or inspect.isclass(obj):
            assert (obj.__doc__ or "").strip(), f"{name}.{attr} has no docstring"
    assert len(set(exported)) == len(exported)


def test_no_physml_name_shadows_an_sklearn_metric_with_another_meaning():
    from physml import metrics

    shared = {n for n in metrics.__all__ if hasattr(sklearn.metrics, n)}
    # get_scorer and get_scorer_names extend sklearn's: the same answer for every name
    # sklearn knows, plus physml's scorers.
    assert shared == {"get_scorer", "get_scorer_names"}
    assert set(sklearn.metrics.get_scorer_names()) <= set(metrics.get_scorer_names())
    for name in sklearn.metrics.get_scorer_names():
        assert repr(metrics.get_scorer(name)) == repr(sklearn.metrics.get_scorer(name))


def test_every_named_scorer_is_an_sklearn_scorer_object():
    from sklearn.metrics._scorer import _BaseScorer

    from physml.metrics import get_scorer, get_scorer_names

    names = get_scorer_names()
    assert {"neg_relative_l2_error", "check_continuity"} <= set(names)
    for name in names:
        assert isinstance(get_scorer(name), _BaseScorer), name
    with pytest.raises(ValueError, match="get_scorer_names"):
        get_scorer("no_such_scorer")
