"""Figures that compare fields."""

import pytest


def test_exact_and_predicted_fields_share_one_colour_range():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from physml.datasets import make_pde_data
    from physml.pde import Convection
    from physml.plotting import plot_solutions

    X, u = make_pde_data(Convection(), 16, 8)
    fig = plot_solutions([("case", X, u, 3.0 * u + 1.0)], 16, 8)
    exact, prediction, error = (ax.collections[0] for ax in fig.axes[:3])
    assert exact.get_clim() == prediction.get_clim() == (u.min(), u.max())
    assert error.get_clim()[0] >= 0
