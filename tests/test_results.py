"""Results files: what a run measured, with its command, date and machine."""

import json

import pytest

from physml import _results
from physml._results import (
    default_directory,
    markdown_rows,
    read_results,
    recorded_tables,
    write_results,
)


def test_a_run_replaces_the_rows_it_measured_and_keeps_the_others(tmp_path):
    write_results("t", [dict(key="a", error=1.0), dict(key="b", error=2.0)], tmp_path,
                  command="python benchmarks/x.py")
    write_results("t", [dict(key="b", error=3.0)], tmp_path, command="physml reproduce x")
    rows = {r["key"]: r for r in read_results("t", tmp_path)}
    assert rows["a"]["error"] == 1.0 and rows["a"]["command"] == "python benchmarks/x.py"
    assert rows["b"]["error"] == 3.0 and rows["b"]["command"] == "physml reproduce x"
    assert {"date", "machine"} <= set(rows["b"]) and "torch" in rows["b"]["machine"]
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]  # no partial file left


def test_a_file_that_is_not_a_results_file_is_named_in_the_error(tmp_path):
    (tmp_path / "t.json").write_text("{not json")
    with pytest.raises(ValueError, match="t.json is not a physml results file"):
        read_results("t", tmp_path)
    assert read_results("absent", tmp_path) == []


def test_quick_and_partial_budgets_never_write_into_the_repository(tmp_path, monkeypatch):
    monkeypatch.delenv("PHYSML_RESULTS", raising=False)
    monkeypatch.setattr(_results, "REPOSITORY_RESULTS", tmp_path / "repo")
    (tmp_path / "repo").mkdir()
    assert default_directory("out", 1.0) == tmp_path / "repo"
    assert default_directory("out", 0.25, quick=True) == tmp_path / "repo"
    assert str(default_directory("out", 0.5)) == "out/results"
    assert str(default_directory("out", 0.004, quick=True)) == "out/results"
    monkeypatch.setenv("PHYSML_RESULTS", str(tmp_path / "elsewhere"))
    assert default_directory("out", 1.0) == tmp_path / "elsewhere"


def test_the_command_is_written_as_a_user_types_it():
    assert _results.command_line(["/usr/bin/physml", "reproduce", "hard-cases", "--cases",
                                  "convection beta=30"]) == \
        'physml reproduce hard-cases --cases "convection beta=30"'
    bench = str(_results.REPOSITORY_RESULTS.parent / "bench_x.py")
    assert _results.command_line([bench, "--seeds", "3"]) == \
        "python benchmarks/bench_x.py --seeds 3"


def test_printed_markdown_tables_become_rows(tmp_path, capsys):
    with recorded_tables("printed", tmp_path):
        print("speed\n| case | ratio |\n|---|---|\n| convection | 1.02 |\n| burgers | 0.97 |")
    assert "| burgers | 0.97 |" in capsys.readouterr().out  # still printed
    rows = json.loads((tmp_path / "printed.json").read_text())["rows"]
    assert [(r["case"], r["ratio"], r["key"]) for r in rows] == [
        ("convection", "1.02", "table 1 | convection"), ("burgers", "0.97", "table 1 | burgers")]
    assert markdown_rows("no table here") == []


def test_a_benchmark_that_fails_writes_nothing(tmp_path):
    with pytest.raises(RuntimeError), recorded_tables("failed", tmp_path):
        print("| a |\n|---|\n| 1 |")
        raise RuntimeError
    assert not (tmp_path / "failed.json").exists()
