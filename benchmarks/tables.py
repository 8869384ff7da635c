"""Generate the README's and the docs' results tables from ``benchmarks/results/*.json``.

Every measured number a user reads in ``README.md`` or ``docs/`` sits between two markers
and is written by this script from the results files that the benchmarks and ``physml
reproduce`` write, so a table cannot drift from the run that measured it::

    python benchmarks/tables.py           # rewrite the tables in place
    python benchmarks/tables.py --check   # exit 1 and name each table that differs

Markers: ``<!-- table: NAME -->`` ... ``<!-- end table -->`` in Markdown, ``.. table: NAME``
... ``.. end table`` in reStructuredText. ``tests/test_docs.py`` runs the check.
"""

import argparse
import re
import statistics
import sys
from pathlib import Path

from physml._results import read_results

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
#: The files whose tables this script writes.
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]

#: Published numbers come from the same records the benchmarks print beside their own:
#: the paper's tables (:data:`physml.reproduce.FAILURE_MODES`) and the hard cases'
#: targets, limits and published values (:data:`physml.reproduce.HARD_CASES`).
KRISHNAPRIYAN = "Krishnapriyan et al. 2021"
#: Each hard case: its label, and which of its published values the README compares with.
HARD_CASE_LABELS = {
    "convection beta=30": ("convection β = 30", "Krishnapriyan et al. 2021, curriculum"),
    "convection beta=50": ("convection β = 50", "Xu et al. 2025, float64 PINN"),
    "convection beta=80": ("convection β = 80",
                           "Wang et al. 2023 (jaxpi), 200k Adam steps on a GPU"),
    "reaction rho=5": ("reaction ρ = 5", "Rathore et al. 2024, Adam+L-BFGS+NNCG"),
    "allen-cahn d=1e-4": ("Allen–Cahn d = 1e-4",
                          "Wang, Sankaran & Perdikaris 2022 (causal, GPU)"),
    "burgers nu=0.01/pi": ("Burgers ν = 0.01/π", "Raissi et al. 2019"),
}


def paper(system, value, which="fix"):
    """The paper's error for the fix (curriculum or seq2seq) or the ``"standard"`` PINN at
    this coefficient (None where the paper gives none)."""
    from physml.reproduce import FAILURE_MODES

    row = FAILURE_MODES[system].paper.get(value)
    return None if row is None else getattr(row, which)


def hard_case(case):
    """(label, target, time limit, published value, its source) of a hard case."""
    from physml.reproduce import HARD_CASES

    label, source = HARD_CASE_LABELS[case]
    record = HARD_CASES[case]
    return label, record.target, record.time_limit, record.published[source], source


class Missing(LookupError):
    """A table asks for a row that no results file holds."""


def load(name):
    return read_results(name, RESULTS)


def select(name, **match):
    rows = [r for r in load(name) if all(r.get(k) == v for k, v in match.items())
            and "removed" not in r]
    if not rows:
        raise Missing(f"{name}.json has no row with {match}")
    return rows


def e(x, digits=2):
    return f"{x:.{digits}e}"


def seconds(rows):
    """The range of the rows' seconds per fit, and how many fits shared the machine."""
    values = [r["seconds"] for r in rows]
    low, high = min(values), max(values)
    text = f"{low:.0f}" if round(low) == round(high) else f"{low:.0f}–{high:.0f}"
    together = max(r.get("fits_at_once", 1) for r in rows)
    return text + (f" ({together} at once)" if together > 1 else "")


def mean_of(rows, field="error"):
    values = [r[field] for r in rows]
    if len(values) == 1:
        return e(values[0])
    return f"{e(statistics.mean(values))} (mean of {len(values)} seeds)"


def command(rows):
    commands = sorted({r["command"] for r in rows})
    return "; ".join(f"`{c}`" for c in commands)


# --- the tables --------------------------------------------------------------------------

def headline():
    """The README's table: the bare calls beside the published numbers."""
    head = ["call", "problem", "physml error", "published", "s per fit", "command"]
    rows = []

    def failure_mode(system, value, strategy, call, problem):
        runs = select("failure_modes", system=system, value=value, strategy=strategy)
        rows.append([call, problem, mean_of(runs), f"{e(paper(system, value))}, "
                     f"{KRISHNAPRIYAN}", seconds(runs), command(runs)])

    failure_mode("convection", 30.0, "curriculum", '`strategy="curriculum"`',
                 "convection β = 30")
    failure_mode("reaction", 5.0, "seq2seq", '`strategy="seq2seq"`', "reaction ρ = 5")
    failure_mode("reaction-diffusion", 3.0, "seq2seq", '`strategy="seq2seq"`',
                 "reaction–diffusion ν = 3")
    for case in HARD_CASE_LABELS:
        if case in ("convection beta=30", "reaction rho=5"):  # the 2021 rows show these
            continue
        problem, _, _, published, source = hard_case(case)
        runs = select("hard_cases", case=case, variant="causal + exact")
        rows.append(['`strategy="causal"`', problem, mean_of(runs),
                     f"{e(published)}, {source}", seconds(runs), command(runs)])
    lorenz = select("equations", case="lorenz")
    rows.append(['`learn_coefficients=("C1", "C2", "C3")`',
                 "Lorenz coefficients from 25 samples (worst coefficient)",
                 f"{100 * lorenz[0]['error']:.3f} %", "0.130 %, DeepXDE 1.15 on this machine",
                 seconds(lorenz), command(lorenz)])
    for case, call, problem in (
            ("poisson2d-c", "`PINNRegressor(pde=pde)`",
             "PINNacle Poisson2d-C: Laplace on a plate with four holes"),
            ("cavity", "`PINNRegressor(pde=pde)`",
             "PINNacle NS2d-C: lid-driven cavity, u, v, p pooled"),
            ("pnd", "`PINNRegressor(pde=pde)`", "PINNacle PNd: 5-D Poisson on a geometry")):
        for r in select("domains", case=case):
            rows.append([call, problem, e(r["error"]), f"{e(r['published'])}, {r['source']}",
                         seconds([r]), command([r])])
    lem = select("recurrent", task="digits by rows", model="LEM")
    rows.append(["`LEMClassifier()`", "digits as 8 rows of 8 pixels (test accuracy)",
                 f"{100 * lem[0]['value']:.1f} %", "—", seconds(lem), command(lem)])
    return head, rows


def demo():
    """README: what ``physml demo`` printed when it was last run, and how long it took."""
    head = ["strategy", "relative L2 error", "paper", "s per fit", "whole command"]
    runs = load("demo")
    fits = [r for r in runs if "error" in r]
    walls = [r for r in runs if "wall_seconds" in r and not r["options"]]
    if not fits or not walls:
        raise Missing("demo.json lacks a run of physml demo")
    which = {"standard": "standard", "curriculum": "fix"}
    return head, [[r["strategy"], e(r["error"]),
                   f"{e(paper('convection', 30.0, which[r['strategy']]))}, {KRISHNAPRIYAN}",
                   seconds([r]),
                   f"{walls[0]['wall_seconds']:.0f} s, `{walls[0]['command']}`"]
                  for r in fits]


def hard_cases():
    """docs/failures.rst: the causal + exact call on the hard cases, with baselines."""
    head = ["case", "causal + exact", "worst seed", "s per fit", "target", "met",
            "within budget", "standard", "paper's fix"]
    rows = []
    for case in HARD_CASE_LABELS:
        problem, target, limit, _, _ = hard_case(case)
        runs = select("hard_cases", case=case, variant="causal + exact")
        errors = [r["error"] for r in runs]
        met = max(errors) <= target
        in_time = max(r["seconds"] for r in runs) <= limit
        baseline = []
        for variant in ("standard", "paper's fix"):
            try:
                baseline.append(e(select("hard_cases", case=case, variant=variant)[0]["error"]))
            except Missing:
                baseline.append("—")
        rows.append([problem, f"{e(statistics.mean(errors))} ({len(errors)} seeds)",
                     e(max(errors)), seconds(runs), f"≤ {target:.0e}",
                     "yes" if met else "no", f"{'yes' if in_time else 'no'} (≤ {limit} s)",
                     *baseline])
    return head, rows


def ablation():
    """docs/failures.rst: each fix removed in turn (seed 0); "all fixes" is the causal
    cell's seed-0 row."""
    from physml.reproduce import ABLATION_CASES, ABLATIONS

    rows_read = load("hard_cases")
    runs = [r for r in rows_read if r.get("removed") in ABLATIONS]
    if not runs:
        raise Missing("hard_cases.json has no ablation rows")
    runs += [dict(r, removed="all fixes") for r in rows_read
             if r.get("variant") == "causal + exact" and r.get("seed") == 0
             and r["case"] in ABLATION_CASES]
    cases = [c for c in ABLATION_CASES if any(r["case"] == c for r in runs)]
    head = ["change"] + [HARD_CASE_LABELS[c][0] for c in cases]
    rows = []
    for removed in ABLATIONS:
        cells = []
        for case in cases:
            found = [r for r in runs if r["case"] == case and r["removed"] == removed]
            cells.append(f"{e(found[0]['error'])}, {found[0]['seconds']:.0f} s" if found
                         else "—")
        if any(cell != "—" for cell in cells):
            rows.append([removed] + cells)
    return head, rows


def failure_modes():
    """docs/guide/reproducing.rst: the paper's tables, per case the mean over seeds."""
    head = ["system", "coefficient", "strategy", "physml (mean)", "seeds", "paper",
            "s per fit"]
    groups, walls = {}, []
    for r in load("failure_modes"):
        if "wall_seconds" in r:  # a whole command's time
            walls.append(r)
            continue
        groups.setdefault((r["system"], r["value"], r["strategy"]), []).append(r)
    if not groups:
        raise Missing("no failure_modes.json")
    rows = []
    for (system, value, strategy), runs in sorted(groups.items()):
        published = paper(system, value, "standard" if strategy == "standard" else "fix")
        rows.append([system, f"{value:g}", strategy,
                     e(statistics.mean(r["error"] for r in runs)), str(len(runs)),
                     "—" if published is None else e(published), seconds(runs)])
    for wall in walls:
        rows.append(["whole command", "—", f"``{wall['command']}``", "—", "—", "—",
                     f"{wall['wall_seconds'] / 60:.0f} min in all"])
    return head, rows


def equations():
    """docs/equations.rst: the equations users bring."""
    head = ["case", "seed", "error", "s", "target", "met"]
    rows = [[r["case"], str(r["seed"]), e(r["error"]), f"{r['seconds']:.0f}", r["target"],
             "—" if r["met"] is None else ("yes" if r["met"] else "no")]
            for r in load("equations")]
    if not rows:
        raise Missing("no equations.json")
    return head, rows


def domains():
    """docs/guide/domains.rst: equations on geometries, the bare call."""
    head = ["case", "problem", "call", "error", "published", "s", "target", "met"]
    rows = [[r["case"], r["problem"], f"``{r['call']}``",
             "—" if r["case"] == "errors" else e(r["error"]),
             "—" if r.get("published") is None else f"{e(r['published'])}, {r['source']}",
             f"{r['seconds']:.0f}", r["target"],
             "—" if r["met"] is None else ("yes" if r["met"] else "no")]
            for r in load("domains")]
    if not rows:
        raise Missing("no domains.json")
    return head, rows


def recurrent():
    """docs/guide/sequences.rst: the bare sequence estimators."""
    head = ["task", "model", "score", "target", "met", "s per fit"]
    rows = []
    for r in load("recurrent"):
        score = (f"{100 * r['value']:.1f} %" if r["metric"] == "accuracy"
                 else f"MSE {e(r['value'])}")
        target = "—" if r["target"] is None else f"≥ {100 * r['target']:.0f} %"
        rows.append([r["task"], r["model"], score, target, r["met"], f"{r['seconds']:.0f}"])
    if not rows:
        raise Missing("no recurrent.json")
    return head, rows


def archive():
    """docs/guide/sequences.rst: the bare sequence classifiers on the archive's sets."""
    head = ["set (train series × steps × channels)", "model", "test accuracy",
            "FCN / ResNet", "target", "met", "s per fit"]
    rows = [[f"{r['set']} ({r['shape']})", r["model"], f"{r['accuracy']:.1f} %",
             "—" if r["fcn"] is None else f"{r['fcn']:.1f} / {r['resnet']:.1f} %",
             "—" if r["target"] is None else f"≥ {r['target']:.1f} %",
             "—" if r["met"] is None else ("yes" if r["met"] else "no"),
             f"{r['seconds']:.0f}"]
            for r in load("archive")]
    if not rows:
        raise Missing("no archive.json")
    return head, rows


def checkpoint():
    """docs/guide/long_fits.rst: what a checkpoint costs at the default interval."""
    head = ["bare call", "s plain", "s with checkpoint", "checkpoint work", "file",
            "same bits", "≤ 3 %"]
    rows = [[f"`{r['call']}`", f"{r['seconds']:.1f}", f"{r['seconds_checkpoint']:.1f}",
             f"{r['checkpoint_seconds']:.2f} s in {r['writes']} writes "
             f"({100 * r['share']:.2f} %)", f"{r['megabytes']:.1f} MB",
             "yes" if r["same_bits"] else "no", "yes" if r["met"] else "no"]
            for r in load("checkpoint")]
    if not rows:
        raise Missing("no checkpoint.json")
    return head, rows


def under_load():
    """docs/guide/speed.rst: a fit alone, two at once and beside a busy process."""
    head = ["workload", "scenario", "seconds per fit (median)", "ratio", "bound"]
    rows = [[r["workload"], r["scenario"], " / ".join(f"{s:.2f}" for s in r["seconds"]),
             "—" if r["ratio"] is None else f"{r['ratio']:.2f}x",
             "—" if r["bound"] is None else f"≤ {r['bound']}x"]
            for r in load("under_load")]
    if not rows:
        raise Missing("no under_load.json")
    return head, rows


TABLES = {"headline": headline, "demo": demo, "hard-cases": hard_cases, "ablation": ablation,
          "failure-modes": failure_modes, "equations": equations, "domains": domains,
          "recurrent": recurrent, "archive": archive, "under-load": under_load,
          "checkpoint": checkpoint}


# --- rendering ---------------------------------------------------------------------------

def markdown(head, rows):
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def rst(head, rows):
    cells = [[c.replace("`", "``").replace("````", "``") for c in row] for row in rows]
    widths = [max(len(x) for x in column) for column in zip(head, *cells)]
    rule = "  ".join("=" * w for w in widths)
    line = lambda row: "  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip()  # noqa: E731
    return [rule, line(head), rule, *[line(r) for r in cells], rule]


MARKERS = {
    ".md": (re.compile(r"^<!-- table: ([\w-]+) -->$"), "<!-- end table -->", markdown),
    ".rst": (re.compile(r"^\.\. table: ([\w-]+)$"), ".. end table", rst),
}


def render(text, suffix):
    """``text`` with every marked table regenerated."""
    start, end, style = MARKERS[suffix]
    out, lines, k = [], text.split("\n"), 0
    while k < len(lines):
        out.append(lines[k])
        match = start.match(lines[k])
        k += 1
        if not match:
            continue
        name = match.group(1)
        if name not in TABLES:
            raise KeyError(f"unknown table {name!r}; known: {sorted(TABLES)}")
        while k < len(lines) and lines[k] != end:
            k += 1
        if k == len(lines):
            raise ValueError(f"table {name!r} has no {end!r}")
        out += [""] + style(*TABLES[name]()) + [""]
    return "\n".join(out)


def stale(documents=DOCUMENTS):
    """The documents whose tables differ from what the results files say."""
    return [path for path in documents if path.suffix in MARKERS
            and render(path.read_text(encoding="utf-8"), path.suffix)
            != path.read_text(encoding="utf-8")]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a table differs from the results")
    args = parser.parse_args(argv)
    differ = stale()
    if args.check:
        for path in differ:
            print(f"{path.relative_to(ROOT)}: a table differs from benchmarks/results "
                  "(run python benchmarks/tables.py)")
        return 1 if differ else 0
    for path in differ:
        path.write_text(render(path.read_text(encoding="utf-8"), path.suffix),
                        encoding="utf-8")
        print(f"rewrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
