"""Results files: what a benchmark or ``physml reproduce`` measured, with the command that
measured it, the date and the machine.

A results file is ``<directory>/<name>.json``: ``{"name": ..., "rows": [...]}``, each row a
dict of figures with ``key``, ``command``, ``date`` and ``machine``. A run replaces the rows
whose keys it measured and keeps the others, so a run of one case does not erase the rest of
a table. The README's and the docs' tables are generated from these files
(``python benchmarks/tables.py``), so no number is typed by hand.
"""

import json
import os
import platform
import sys
from datetime import date
from pathlib import Path

#: The repository's results folder (present in a checkout, absent in an installed wheel).
REPOSITORY_RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def default_directory(out="physml_out", budget=1.0, quick=False):
    """Where a run writes its results: the repository's ``benchmarks/results`` for a run
    from a checkout at the full budget, or at ``--quick``'s (whose files are named
    ``*_quick.json``, so that they never replace a full run's figures); else
    ``<out>/results``. ``$PHYSML_RESULTS`` overrides both."""
    if os.environ.get("PHYSML_RESULTS"):
        return Path(os.environ["PHYSML_RESULTS"])
    standard = budget == (0.25 if quick else 1)
    if standard and REPOSITORY_RESULTS.is_dir():
        return REPOSITORY_RESULTS
    return Path(out) / "results"


def _processor():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    """A short description of this machine: system, processor, cores, torch's version."""
    try:
        import torch

        backend = f"torch {torch.__version__}"
    except ImportError:  # pragma: no cover - torch is a dependency
        backend = "no torch"
    return (f"{platform.system()} {platform.machine()}, {_processor()}, {os.cpu_count()} "
            f"cores, Python {platform.python_version()}, {backend}")


def command_line(argv=None):
    """The command as a user would type it: ``physml ...`` or ``python benchmarks/...``."""
    argv = list(sys.argv if argv is None else argv)
    program = Path(argv[0]) if argv else Path("python")
    if program.name in ("physml", "__main__.py", "cli.py"):
        head = ["physml"]
    elif program.suffix == ".py":
        try:
            shown = program.resolve().relative_to(REPOSITORY_RESULTS.parents[1])
        except ValueError:
            shown = program
        head = ["python", shown.as_posix()]
    else:
        head = [program.name]
    return " ".join(head + [_quoted(a) for a in argv[1:]])


def _quoted(argument):
    return f'"{argument}"' if (" " in argument or not argument) else argument


def write_results(name, rows, directory, command=None):
    """Merge ``rows`` (dicts with a ``key``) into ``<directory>/<name>.json``, atomically.

    Each row gets the ``command``, today's ``date`` and the ``machine``; rows of the file
    whose keys are not among ``rows`` stay. Returns the path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    stamp = dict(command=command or command_line(), date=date.today().isoformat(),
                 machine=machine())
    kept = {row["key"]: row for row in read_results(name, directory)}
    for row in rows:
        kept[row["key"]] = {**row, **stamp}
    text = json.dumps({"name": name, "rows": list(kept.values())}, indent=1,
                      sort_keys=False, default=float) + "\n"
    partial = path.with_suffix(".json.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)
    return path


def read_results(name, directory=REPOSITORY_RESULTS):
    """The rows of ``<directory>/<name>.json`` (an empty list when there is no such file)."""
    path = Path(directory) / f"{name}.json"
    if not path.exists():
        return []
    try:
        return json.loads(path.read_text(encoding="utf-8"))["rows"]
    except (ValueError, KeyError) as error:
        raise ValueError(f"{path} is not a physml results file: {error}") from None


class recorded_tables:
    """Within the block, the Markdown tables a benchmark prints are also written to the
    results file ``name``: one row per table row, its cells under their column names
    (as printed), keyed by the table's place and the row's first cell. For benchmarks
    whose figures are the tables they print."""

    def __init__(self, name, directory=None):
        self.name, self.directory = name, directory

    def __enter__(self):
        import io

        self._stdout, self._seen = sys.stdout, io.StringIO()
        outer, seen = self._stdout, self._seen

        class Tee:
            def write(self, text):
                seen.write(text)
                return outer.write(text)

            def flush(self):
                outer.flush()

        sys.stdout = Tee()
        return self

    def __exit__(self, kind, error, traceback):
        sys.stdout = self._stdout
        if kind is None:
            rows = markdown_rows(self._seen.getvalue())
            if rows:
                write_results(self.name, rows, self.directory or default_directory())
        return False


def markdown_rows(text):
    """The rows of every Markdown table in ``text``: ``{"table": k, "key": ..., column:
    cell, ...}``; the table is numbered in order of appearance."""
    lines, rows, table = text.splitlines(), [], 0
    for k in range(1, len(lines)):
        if not (lines[k].startswith("|---") and lines[k - 1].startswith("|")):
            continue
        table += 1
        head = [c.strip() for c in lines[k - 1].strip().strip("|").split("|")]
        for line in lines[k + 1:]:
            if not line.startswith("|"):
                break
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            row = dict(zip(head, cells))
            rows.append(dict(row, table=table, key=f"table {table} | {cells[0]}"))
    return rows
