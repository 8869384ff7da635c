"""The physml command line."""

import pytest

from physml.cli import main, reproduce_hard_cases


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


class _Captured(Exception):
    pass


@pytest.mark.parametrize("system, strategy", [("convection", "curriculum"),
                                              ("reaction", "seq2seq"),
                                              ("reaction-diffusion", "seq2seq")])
def test_the_tables_fix_cells_are_the_one_line_call(system, strategy, monkeypatch):
    from sklearn.base import clone

    from physml import PINNRegressor
    from physml.reproduce import FAILURE_MODES, _failure_mode_fit
    from physml.strategies import PAPER_SETTINGS

    def capture(self, X, y):
        raise _Captured(self)

    monkeypatch.setattr(PINNRegressor, "fit", capture)
    value = next(iter(FAILURE_MODES[system].paper))
    with pytest.raises(_Captured) as fix:
        _failure_mode_fit(system, value, "fix", 0, 1.0, None, 0)
    est = fix.value.args[0]
    bare = PINNRegressor(pde=est.pde, strategy=strategy, random_state=0)
    assert est.get_params(deep=False) == bare.get_params(deep=False)
    # the standard cells: the paper's settings, passed by name
    with pytest.raises(_Captured) as standard:
        _failure_mode_fit(system, value, "standard", 0, 1.0, None, 0)
    paper = standard.value.args[0]
    assert paper.pde.get_params() == est.pde.get_params()
    expected = clone(bare).set_params(pde=paper.pde, strategy="standard", **PAPER_SETTINGS)
    assert paper.get_params(deep=False) == expected.get_params(deep=False)
    # the fix+lm cells: the same call with optimizer="lm", nothing else
    with pytest.raises(_Captured) as lm:
        _failure_mode_fit(system, value, "fix+lm", 0, 1.0, None, 0)
    expected = clone(bare).set_params(pde=lm.value.args[0].pde, optimizer="lm")
    assert lm.value.args[0].get_params(deep=False) == expected.get_params(deep=False)


def test_reproduce_hard_cases_prints_every_case_beside_the_published_numbers(tmp_path,
                                                                           capsys):
    pytest.importorskip("matplotlib")
    main(["reproduce", "hard-cases", "--quick", "--budget", "0.003", "--n-jobs", "1",
          "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    for case in ("convection beta=30", "convection beta=50", "convection beta=80",
                 "reaction rho=5", "allen-cahn d=1e-4", "burgers nu=0.01/pi"):
        assert f"| {case} | causal + exact |" in out
    assert "PINNsFormer (ICLR 2024)" in out and "2.70e-02" in out
    assert (tmp_path / "hard_cases_solutions.png").stat().st_size > 10_000
    assert (tmp_path / "hard_cases_weights_allen-cahn_d1e-4.png").exists()


def test_reproduce_hard_cases_rejects_bad_arguments(capsys):
    with pytest.raises(SystemExit):
        main(["reproduce", "hard-cases", "--seeds", "0"])
    assert "--seeds" in capsys.readouterr().err


@pytest.mark.parametrize("argv, named", [
    (["demo", "--budget", "-1"], "--budget"),
    (["demo", "--budget", "nan"], "--budget"),
    (["reproduce", "failure-modes", "--systems", "foo"], "--systems"),
    (["reproduce", "failure-modes", "--n-jobs", "0"], "--n-jobs"),
    (["reproduce", "continuity", "--max-iter", "0"], "--max-iter"),
    (["reproduce", "hard-cases", "--budget", "x"], "--budget"),
])
def test_every_bad_argument_exits_with_a_message_naming_it(argv, named, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert named in capsys.readouterr().err


def test_version_and_help_say_what_each_command_does_and_how_long(capsys, tmp_path,
                                                                 monkeypatch):
    import json

    import physml
    from physml import _results
    from physml.cli import _CASES, _SYSTEMS
    from physml.reproduce import FAILURE_MODES, HARD_CASES

    assert set(_SYSTEMS) == set(FAILURE_MODES) and set(_CASES) == set(HARD_CASES)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"physml {physml.__version__}"
    # The times quoted come from the results files.
    monkeypatch.setattr(_results, "REPOSITORY_RESULTS", tmp_path)
    (tmp_path / "demo.json").write_text(json.dumps({"name": "demo", "rows": [
        {"key": "wall time | ", "options": "", "wall_seconds": 600.0}]}))
    (tmp_path / "hard_cases_quick.json").write_text(json.dumps({"name": "x", "rows": [
        {"key": "wall time | --cases a", "options": "--cases a", "wall_seconds": 125.0}]}))
    for argv, said in ((["demo", "--help"], "about 10 minutes"),
                       (["reproduce", "hard-cases", "--help"],
                        "about 2 minutes with --cases a --quick"),
                       (["reproduce", "continuity", "--help"], "not yet recorded"),
                       (["--help"], "fixes it (about 10 minutes)"),
                       (["reproduce", "--help"], "(about 2 minutes with --cases a --quick)")):
        with pytest.raises(SystemExit):
            main(argv)
        text = " ".join(capsys.readouterr().out.split())
        assert said in text and "``" not in text, argv


@pytest.mark.parametrize("argv, named", [
    (["reproduce", "continuity", "--systems", "reaction"], "--systems"),
    (["reproduce", "continuity", "--quick"], "--quick"),
    (["reproduce", "failure-modes", "--cases", "convection beta=30"], "--cases"),
    (["reproduce", "failure-modes", "--no-baselines"], "--no-baselines"),
    (["demo", "--seeds", "2"], "--seeds"),
])
def test_an_option_of_another_command_is_an_argparse_error(argv, named, capsys):
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 2
    assert named in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--help"], ["reproduce", "--help"],
                                  ["reproduce", "hard-cases", "--help"], ["--version"]])
def test_help_and_version_answer_without_importing_torch(argv):
    import subprocess
    import sys

    code = (f"import sys\nfrom physml.cli import main\ntry:\n    main({argv!r})\n"
            "except SystemExit:\n    pass\nprint('torch imported:', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().endswith("torch imported: False")


def test_python_dash_m_physml_is_the_command():
    import subprocess
    import sys

    import physml

    done = subprocess.run([sys.executable, "-m", "physml", "--version"], capture_output=True,
                          text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"physml {physml.__version__}"
    done = subprocess.run([sys.executable, "-m", "physml", "reproduce", "continuity",
                           "--systems", "reaction"], capture_output=True, text=True)
    assert done.returncode == 2 and "--systems" in done.stderr


def test_hard_cases_runs_the_cases_asked_for_and_writes_their_results(tmp_path, capsys,
                                                                      monkeypatch):
    pytest.importorskip("matplotlib")
    from physml._results import read_results

    results = tmp_path / "results"
    monkeypatch.setenv("PHYSML_RESULTS", str(results))
    main(["reproduce", "hard-cases", "--cases", "convection beta=30", "--no-baselines",
          "--quick", "--budget", "0.003", "--out", str(tmp_path), "--quiet"])
    out = capsys.readouterr().out
    assert "| convection beta=30 | causal + exact |" in out
    assert "beta=50" not in out.split("Published")[0] and "allen-cahn" not in out.split(
        "Published")[0]
    rows = read_results("hard_cases_quick", results)
    fits = [r for r in rows if "error" in r]
    assert [(r["case"], r["variant"], r["seed"]) for r in fits] == [
        ("convection beta=30", "causal + exact", 0)]
    assert fits[0]["command"].startswith("physml") or fits[0]["command"].startswith("python")
    assert {"date", "machine"} <= set(fits[0])
    walls = [r for r in rows if "wall_seconds" in r]
    assert walls and "--cases" in walls[0]["options"] and "--out" not in walls[0]["options"]


def test_hard_cases_runs_the_ablation_rows_asked_for_alone(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("PHYSML_RESULTS", str(tmp_path / "results"))
    runs, ablations = reproduce_hard_cases(out=tmp_path, cases=["convection beta=50"],
                                           ablation=["float32"], budget=0.003, n_jobs=1,
                                           verbose=0)
    assert runs == [] and [(r["case"], r["removed"]) for r in ablations] == [
        ("convection beta=50", "float32")]
    assert "| convection beta=50 | float32 |" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown ablation row"):
        main(["reproduce", "hard-cases", "--ablation", "nonsense", "--out", str(tmp_path)])


def test_hard_cases_runs_the_baselines_alone(tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    monkeypatch.setenv("PHYSML_RESULTS", str(tmp_path / "results"))
    runs, ablations = reproduce_hard_cases(out=tmp_path, cases=["convection beta=30"],
                                           baselines="only", budget=0.003, n_jobs=1,
                                           verbose=0)
    assert [(r["case"], r["variant"], r["seed"]) for r in runs] == [
        ("convection beta=30", "standard", 0), ("convection beta=30", "paper's fix", 0)]
    assert ablations == []
    assert "| convection beta=30 | paper's fix |" in capsys.readouterr().out
    with pytest.raises(SystemExit):  # the two options contradict each other
        main(["reproduce", "hard-cases", "--no-baselines", "--baselines-only",
              "--out", str(tmp_path)])
