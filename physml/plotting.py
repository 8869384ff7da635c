"""Figures (matplotlib is an optional extra: ``pip install physml[plot]``)."""

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            "plotting needs matplotlib: pip install 'physml[plot]'"
        ) from error
    return plt


def _finished(fig, path=None):
    """Lay out ``fig``, save it to ``path`` (PNG) when given, and return it."""
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def plot_solutions(cases, n_x, n_t, path=None):
    """Exact solution, prediction and absolute error on a grid, one row per case.

    Parameters
    ----------
    cases : list of (title, X, u_exact, u_pred)
        ``X`` is the ``(n_t * n_x, 2)`` grid of :func:`physml.datasets.make_pde_data`.
    n_x, n_t : int
        The grid's shape.
    path : str or Path, optional
        Where to save the figure (PNG).

    Returns
    -------
    matplotlib.figure.Figure
    """
    plt = _pyplot()
    fig, axes = plt.subplots(len(cases), 3, figsize=(12, 3.2 * len(cases)), squeeze=False)
    for row, (title, X, u, u_hat) in zip(axes, cases):
        x = X[:, 0].reshape(n_t, n_x)
        t = X[:, 1].reshape(n_t, n_x)
        panels = [(u, "exact"), (u_hat, "prediction"), (np.abs(u - u_hat), "|error|")]
        for ax, (values, name) in zip(row, panels):
            image = ax.pcolormesh(t, x, values.reshape(n_t, n_x), shading="auto",
                                  cmap="magma" if name == "|error|" else "RdBu_r")
            fig.colorbar(image, ax=ax)
            ax.set_title(f"{title}: {name}", fontsize=9)
            ax.set_xlabel("t")
            ax.set_ylabel("x")
    return _finished(fig, path)
