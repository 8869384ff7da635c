"""The physml command line."""

import pytest

from physml.cli import main


def test_demo_prints_errors_beside_the_paper_and_saves_a_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    main(["demo", "--out", str(tmp_path), "--max-iter", "30", "--quiet"])
    out = capsys.readouterr().out
    assert "| 1 |" in out and "7.84e-03" in out and "| 30 |" in out and "8.97e-01" in out
    assert (tmp_path / "demo_convection.png").stat().st_size > 10_000


def test_unknown_command_exits_with_usage(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce-everything"])
    assert "usage" in capsys.readouterr().err


def test_reproduce_continuity_prints_the_table_and_saves_the_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    main(["reproduce", "continuity", "--out", str(tmp_path), "--max-iter", "20", "--quiet"])
    out = capsys.readouterr().out
    for row in ("exact field, rk4", "euler-trained net", "midpoint-trained net",
                "rk4-trained net", "Published shape"):
        assert row in out
    assert (tmp_path / "continuity_harmonic_oscillator.png").stat().st_size > 10_000
