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



def test_plot_field_draws_the_field_and_an_outline_per_piece(tmp_path):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from physml.geometry import Ball, Disk, Rectangle
    from physml.plotting import plot_field

    plate = Rectangle([0, 0], [1, 1], name="outer") - Disk([0.5, 0.5], 0.2, name="hole")
    fig = plot_field(plate, lambda X: X[:, 0], n_points=400, path=tmp_path / "f.png")
    assert (tmp_path / "f.png").exists()
    ax = fig.axes[0]
    assert len(ax.lines) == 2  # one outline per piece
    with pytest.raises(ValueError, match="2-D"):
        plot_field(Ball([0, 0, 0], 1.0), lambda X: X[:, 0])
