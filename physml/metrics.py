"""Error measures used across physml, as functions and as sklearn scorers."""

import numpy as np
from sklearn.utils.validation import check_consistent_length


def relative_l2_error(u_true, u_pred):
    """Relative L2 error ``||u_true - u_pred||_2 / ||u_true||_2`` (the paper's headline metric).

    Parameters
    ----------
    u_true, u_pred : array-like of shape (n_points,) or (n_points, n_outputs)

    Returns
    -------
    float

    Examples
    --------
    >>> from physml.metrics import relative_l2_error
    >>> relative_l2_error([3.0, 4.0], [3.0, 4.5])
    0.1
    """
    u_true = np.asarray(u_true, dtype=float)
    u_pred = np.asarray(u_pred, dtype=float)
    check_consistent_length(u_true, u_pred)
    if u_true.shape != u_pred.shape:
        u_pred = u_pred.reshape(u_true.shape)
    norm = np.linalg.norm(u_true)
    if norm == 0:
        raise ValueError("relative_l2_error: u_true is identically zero")
    return float(np.linalg.norm(u_true - u_pred) / norm)


def mean_absolute_error(u_true, u_pred):
    """Mean absolute error ``mean |u_true - u_pred|`` (the paper's second metric)."""
    u_true = np.asarray(u_true, dtype=float)
    u_pred = np.asarray(u_pred, dtype=float).reshape(u_true.shape)
    return float(np.mean(np.abs(u_true - u_pred)))
