"""Sequences as the recurrent estimators read them."""

import numpy as np
from sklearn.utils.validation import (
    check_array,
)


def as_sequences(X):
    """``(n, T, F)`` float array from 3-D ``X``, or from 2-D ``X`` read as univariate
    sequences ``(n, T)``."""
    X = check_sequence_dims(check_array(X, allow_nd=True, dtype=np.float64, input_name="X"))
    return X[:, :, None] if X.ndim == 2 else X


def check_sequence_dims(X):
    """``X`` itself when it is 2-D or 3-D, else a ValueError that says the layouts read."""
    if X.ndim not in (2, 3):
        raise ValueError(f"X must be (n_samples, n_timesteps, n_features) or 2-D univariate "
                         f"sequences; got {X.ndim} dimensions, shape {X.shape} (sktime and "
                         "aeon's (n_samples, n_channels, n_timepoints): from_sktime(X))")
    return X


def from_sktime(X):
    """sktime/aeon's ``(n_samples, n_channels, n_timepoints)`` -> physml's
    ``(n_samples, n_timepoints, n_channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.recurrent import from_sktime
    >>> from_sktime(np.zeros((5, 3, 100))).shape
    (5, 100, 3)
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X must be (n_samples, n_channels, n_timepoints); got {X.shape}")
    return np.ascontiguousarray(X.transpose(0, 2, 1))
