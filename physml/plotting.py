"""Figures (matplotlib is an optional extra: ``pip install physml[plot]``)."""

import numpy as np

__all__ = ["plot_solutions"]


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

    The exact solution and the prediction share one colour range (the exact solution's),
    so equal colours mean equal values; a prediction beyond it shows as the end colours
    (the colour bar's arrows).

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
        u, u_hat = np.ravel(u), np.ravel(u_hat)
        field = dict(cmap="RdBu_r", vmin=float(np.min(u)), vmax=float(np.max(u)))
        panels = [(u, "exact", field), (u_hat, "prediction", field),
                  (np.abs(u - u_hat), "|error|", dict(cmap="magma"))]
        for ax, (values, name, colours) in zip(row, panels):
            image = ax.pcolormesh(t, x, values.reshape(n_t, n_x), shading="auto", **colours)
            fig.colorbar(image, ax=ax, extend="both" if colours is field else "neither")
            ax.set_title(f"{title}: {name}", fontsize=9)
            ax.set_xlabel("t")
            ax.set_ylabel("x")
    return _finished(fig, path)
