"""physml: principled scientific and machine-learning models behind one sklearn interface."""

from .continuousnet import ContinuousNetClassifier
from .odenet import ODENetForecaster
from .pinn import PINNRegressor
from .recurrent import (
    LEMClassifier,
    LEMRegressor,
    LipschitzRNNClassifier,
    LipschitzRNNRegressor,
    NoisyRNNClassifier,
    NoisyRNNRegressor,
)

__version__ = "0.1.0"

__all__ = ["ContinuousNetClassifier", "LEMClassifier", "LEMRegressor",
           "LipschitzRNNClassifier", "LipschitzRNNRegressor", "NoisyRNNClassifier",
           "NoisyRNNRegressor", "ODENetForecaster", "PINNRegressor"]
