"""Data that needs no download: generated from equations and their reference solutions."""

import numpy as np

from .pde import PDE


def make_pde_data(pde, n_x=256, n_t=100):
    """The paper's evaluation grid and the reference solution on it.

    Parameters
    ----------
    pde : PDE
        The equation; its ``reference_solution`` supplies ``u``.
    n_x : int, default=256
        Points in space: ``[x_min, x_max)`` for a periodic equation (endpoint excluded, as in
        the paper), ``[x_min, x_max]`` otherwise.
    n_t : int, default=100
        Points in ``[t_min, t_max]``, both ends included.

    Returns
    -------
    X : ndarray of shape (n_x * n_t, 2)
        Columns ``(x, t)``, x varying fastest.
    u : ndarray of shape (n_x * n_t,)

    Examples
    --------
    >>> from physml.datasets import make_pde_data
    >>> from physml.pde import Convection
    >>> X, u = make_pde_data(Convection(beta=1.0))
    >>> X.shape, u.shape
    ((25600, 2), (25600,))
    """
    if not isinstance(pde, PDE):
        raise TypeError(f"pde must be a physml.pde.PDE, got {type(pde).__name__}")
    for name, value in (("n_x", n_x), ("n_t", n_t)):
        if not isinstance(value, (int, np.integer)) or value < 2:
            raise ValueError(f"{name} must be an integer >= 2, got {value!r}")
    X = pde.grid(n_x, n_t)
    return X, pde.reference_solution(X)
