"""The physml command line."""

import pytest

from physml.cli import main


def test_demo_prints_errors_beside_the_paper_and_saves_a_figure(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    main(["demo", "--out", str(tmp_path), "--budget", "0.002", "--quiet"])
    out = capsys.readouterr().out
    assert "| standard |" in out and "8.97e-01" in out
    assert "| curriculum |" in out and "2.02e-02" in out
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


def test_reproduce_failure_modes_prints_tables_beside_the_paper_and_saves_figures(tmp_path,
                                                                                  capsys):
    pytest.importorskip("matplotlib")
    main(["reproduce", "failure-modes", "--quick", "--systems", "reaction", "--budget", "0.004",
          "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert "| 5 | standard |" in out and "| 5 | seq2seq |" in out and "7.09e-02" in out
    for name in ("error", "hardest"):
        assert (tmp_path / f"failure_modes_reaction_{name}.png").stat().st_size > 10_000
