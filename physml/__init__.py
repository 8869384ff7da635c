"""physml: principled scientific and machine-learning models behind one sklearn interface.

The estimators are imported when first used (PEP 562), so that ``physml --help`` and
``import physml`` do not pay for importing torch.
"""

from importlib import import_module

__version__ = "0.1.0"

#: Each public estimator and the module that defines it.
_ESTIMATORS = {
    "ContinuousNetClassifier": ".continuousnet",
    "LEMClassifier": ".recurrent",
    "LEMRegressor": ".recurrent",
    "LipschitzRNNClassifier": ".recurrent",
    "LipschitzRNNRegressor": ".recurrent",
    "NoisyRNNClassifier": ".recurrent",
    "NoisyRNNRegressor": ".recurrent",
    "ODENetForecaster": ".odenet",
    "PINNRegressor": ".pinn",
}

__all__ = sorted(_ESTIMATORS)


def __getattr__(name):
    if name in _ESTIMATORS:
        value = getattr(import_module(_ESTIMATORS[name], __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_ESTIMATORS))
