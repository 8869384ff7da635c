"""physml: principled scientific and machine-learning models behind one sklearn interface."""

from .odenet import ODENetForecaster
from .pinn import PINNRegressor

__version__ = "0.1.0"

__all__ = ["ODENetForecaster", "PINNRegressor"]
