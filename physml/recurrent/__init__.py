"""Continuous-time recurrent networks: LEM, Lipschitz RNN, Noisy RNN (and their estimators).

Each cell is a discretized ODE in the hidden state. LEM runs the whole sequence in one
autograd Function with a hand-written backward through time (see :class:`LEMCell`). The
Lipschitz and Noisy RNN project the inputs of all time steps in one matrix product before
the loop (which walks ``unbind``-ed slices, so backward stays linear in the sequence
length); their steps are :func:`physml.integrators.rk_step` and
:func:`physml.integrators.euler_maruyama_step`, the same code as every continuous model.

Training runs through skorch (held in ``net_``, built in ``fit``): its history, callbacks,
gradient clipping, early stopping and progress bar.
"""

from ._data import from_sktime
from ._lem_estimators import LEMClassifier, LEMRegressor
from ._lipschitz_estimators import LipschitzRNNClassifier, LipschitzRNNRegressor
from ._noisy_estimators import NoisyRNNClassifier, NoisyRNNRegressor

__all__ = ["LEMClassifier", "LEMRegressor", "LipschitzRNNClassifier", "LipschitzRNNRegressor",
           "NoisyRNNClassifier", "NoisyRNNRegressor", "from_sktime"]
