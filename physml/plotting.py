"""Figures (matplotlib is an optional extra: ``pip install physml[plot]``)."""

import numpy as np

__all__ = ["plot_field", "plot_solutions"]


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


def plot_field(geometry, values, n_points=4000, n_boundary=800, ax=None, title=None,
               random_state=0, path=None, **contour):
    """A field on a 2-D geometry: filled contours on a triangulation of points drawn in
    it, and its boundary pieces as outlines.

    Parameters
    ----------
    geometry : physml.geometry.Geometry
        A 2-D geometry.
    values : callable
        ``values(X) -> (n,)``: the field at rows ``X`` ``(n, 2)``, e.g. ``est.predict``
        (one column of a system's: ``lambda X: est.predict(X)[:, 0]``).
    n_points, n_boundary : int
        Points drawn inside and on the boundary; their Delaunay triangles whose centroid
        lies outside the geometry (across a hole, a re-entrant corner) are left out.
    ax : matplotlib Axes, optional
    title : str, optional
    random_state : int, default=0
    path : str or Path, optional
        Where to save the figure (PNG).
    **contour
        Passed to ``tricontourf`` (``cmap``, ``levels``).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from physml.geometry import Disk, Rectangle
    >>> from physml.plotting import plot_field
    >>> plate = Rectangle([0, 0], [1, 1]) - Disk([0.5, 0.5], 0.2, name="hole")
    >>> fig = plot_field(plate, lambda X: X[:, 0] * X[:, 1], n_points=500)
    >>> len(fig.axes)
    2
    """
    plt = _pyplot()
    from matplotlib.tri import Triangulation

    if geometry.dim != 2:
        raise ValueError(f"plot_field draws a 2-D geometry; this one is {geometry.dim}-D")
    inside = geometry.sample_interior(n_points, random_state=random_state)
    edge = geometry.sample_boundary(n_boundary, random_state=random_state)
    X = np.concatenate([inside, edge.points])
    triangulation = Triangulation(X[:, 0], X[:, 1])
    corners = X[triangulation.triangles]
    triangulation.set_mask(~geometry.contains(corners.mean(axis=1)))
    if ax is None:
        fig, ax = plt.subplots(figsize=(5, 4.2))
    else:
        fig = ax.figure
    image = ax.tricontourf(triangulation, np.ravel(values(X)),
                           **{"levels": 40, "cmap": "RdBu_r", **contour})
    fig.colorbar(image, ax=ax)
    for piece in geometry.pieces:
        on = edge.pieces == piece
        ax.plot(edge.points[on, 0], edge.points[on, 1], ".", ms=1.2, color="k")
    ax.set_aspect("equal")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    if title:
        ax.set_title(title, fontsize=9)
    return _finished(fig, path)
