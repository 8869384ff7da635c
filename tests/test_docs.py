"""The text a user reads: the README's code runs as written, every table comes from the
results files, the API reference lists every public name, and nothing narrates history."""

import importlib
import importlib.util
import json
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"

#: Size knobs: the README's blocks run as written except for these substitutions, which
#: shorten the long fits (each must match its block exactly once, so an edit of the
#: README that drops one fails here).
KNOBS = {
    'strategy="curriculum", random_state=0)': 'strategy="curriculum", random_state=0, '
                                              'max_iter=20)',
    'learn_coefficients=("C1", "C2", "C3"), random_state=0)':
        'learn_coefficients=("C1", "C2", "C3"), random_state=0, max_iter=50)',
    "max_iter=200, random_state=0)": "max_iter=10, random_state=0)",
    'dt=0.5, random_state=0).fit(X)': 'dt=0.5, max_iter=20, random_state=0).fit(X)',
    "LEMClassifier(random_state=0)": "LEMClassifier(random_state=0, max_iter=1)",
}


def _tables():
    spec = importlib.util.spec_from_file_location("tables", ROOT / "benchmarks" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def readme_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_every_readme_python_block_runs_in_order(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    used = set()
    for k, block in enumerate(readme_blocks()):
        for knob, small in KNOBS.items():
            if knob in block:
                assert block.count(knob) == 1, knob
                block, used = block.replace(knob, small), used | {knob}
        exec(compile(block, f"README.md block {k + 1}", "exec"), namespace)  # noqa: S102
    assert used == set(KNOBS), f"knobs that match no README block: {set(KNOBS) - used}"
    assert set(namespace["est"].coefficients_) == {"C1", "C2", "C3"}  # the Lorenz fit
    assert namespace["search"].best_params_["pde__beta"] in (1.0, 4.0, 8.0)


def test_the_readme_is_a_product_page():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 200
    table = text.split("<!-- table: headline -->")[1].split("<!-- end table -->")[0]
    rows = [line for line in table.strip().splitlines() if line.startswith("| ")]
    assert 3 <= len(rows) - 1 <= 12
    for row in rows:
        for cell in row.strip("|").split(" | "):
            assert len(cell.strip()) <= 160, cell


def test_every_table_in_readme_and_docs_is_what_the_results_files_say():
    tables = _tables()
    marked = [path for path in tables.DOCUMENTS
              if re.search(r"(<!-- table: |\.\. table: )", path.read_text(encoding="utf-8"))]
    assert README in marked and len(marked) >= 3
    assert tables.stale() == [], "run python benchmarks/tables.py"


def test_a_changed_results_file_makes_its_table_stale(tmp_path, monkeypatch):
    tables = _tables()
    results = tmp_path / "results"
    results.mkdir()
    for path in tables.RESULTS.glob("*.json"):
        (results / path.name).write_text(path.read_text(encoding="utf-8"))
    name = results / "hard_cases.json"
    name.write_text(name.read_text(encoding="utf-8").replace('"error": 0.', '"error": 1.'))
    monkeypatch.setattr(tables, "RESULTS", results)
    assert README in tables.stale([README])


def test_every_results_row_says_what_measured_it():
    for path in sorted((ROOT / "benchmarks" / "results").glob("*.json")):
        for row in json.loads(path.read_text(encoding="utf-8"))["rows"]:
            assert {"key", "command", "date", "machine"} <= set(row), (path.name, row)
            assert row["command"].startswith(("physml ", "python ")), row["command"]


def _public_names():
    import pkgutil

    import physml

    modules = ["physml"] + [f"physml.{m.name}" for m in pkgutil.iter_modules(physml.__path__)
                            if not m.name.startswith("_")]
    for name in modules:
        for attr in importlib.import_module(name).__all__:
            yield name, attr


def _documented():
    current, names = None, set()
    for line in (ROOT / "docs" / "api.rst").read_text(encoding="utf-8").splitlines():
        if line.startswith(".. currentmodule::"):
            current = line.split("::")[1].strip()
        elif m := re.match(r"\.\. auto(?:function|data|class)::\s+(\S+)", line):
            names.add(f"{current}.{m.group(1)}")
        elif m := re.match(r"   ([A-Za-z_][\w.]*)$", line):
            names.add(f"{current}.{m.group(1)}")
    return names


def _resolve(qualified):
    module, _, name = qualified.rpartition(".")
    while module:
        try:
            target = importlib.import_module(module)
            break
        except ImportError:
            module, _, head = module.rpartition(".")
            name = f"{head}.{name}"
    for part in name.split("."):
        target = getattr(target, part)
    return target


def test_the_api_reference_lists_every_public_name():
    documented = _documented()
    objects = {id(_resolve(name)) for name in documented}
    missing = [f"{module}.{attr}" for module, attr in _public_names()
               if f"{module}.{attr}" not in documented
               and id(getattr(importlib.import_module(module), attr)) not in objects]
    assert not missing, f"not in docs/api.rst: {missing}"


def test_no_page_narrates_history():
    found = subprocess.run(
        ["grep", "-rniE", r"\bsessions?\b|development runs?|before this change|"
         r"earlier default", "README.md", "docs", "physml", "benchmarks", "examples",
         "--include=*.py", "--include=*.rst", "--include=*.md"],
        cwd=ROOT, capture_output=True, text=True).stdout
    assert found == "", found


def test_every_python_block_of_the_docs_is_a_doctest():
    pages = sorted((ROOT / "docs").rglob("*.rst"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert ".. code-block:: python" not in text, page
        assert "\n.. code:: python" not in text, page


@pytest.mark.parametrize("page", ["persistence", "gpu", "troubleshooting", "cli",
                                  "bibliography"])
def test_the_guide_has_the_pages_a_user_looks_for(page):
    assert (ROOT / "docs" / "guide" / f"{page}.rst").exists()
