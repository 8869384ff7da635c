"""The ``physml`` command: ``physml demo``, ``physml reproduce
continuity|failure-modes|hard-cases``, ``physml --version``."""

import argparse
import os
import sys
import time
from pathlib import Path

__all__ = ["main", "demo", "reproduce_continuity", "reproduce_failure_modes",
           "reproduce_hard_cases"]


def demo(out="physml_out", budget=1.0, verbose=1):
    """Convection at beta = 30: the standard PINN fails, curriculum regularization fixes it.

    Both fits use the paper's network (4 x 50 tanh) and 1000 collocation points. The
    standard one uses the paper's float32 L-BFGS settings
    (:data:`physml.strategies.PAPER_SETTINGS`: at most 5000 iterations; it stops by itself
    near 1600); the curriculum (beta = 1, 5, ..., 30) is ``strategy="curriculum"`` with
    its own defaults: the README's call. Both get ``budget`` times their iterations (the
    full recipes by default). The two fits run side by side, one core each. At the full
    budget the errors and seconds go to the ``demo`` results file, and ``physml demo
    --help`` says how long the last run took.
    """
    from joblib import Parallel, cpu_count, delayed

    from .reproduce import _failure_mode_fit, failure_mode_rows

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paper = {"standard": 8.97e-1, "curriculum": 2.02e-2}
    strategies = ("standard", "fix")
    if cpu_count() > 1:
        # One fit per core (each on one torch thread): the demo takes the curriculum's time.
        if verbose:
            print("Fitting the standard PINN and the curriculum side by side, one core "
                  "each ...", flush=True)
        runs = Parallel(n_jobs=2)(delayed(_failure_mode_fit)(
            "convection", 30.0, strategy, 0, budget, None, 0) for strategy in strategies)
    else:
        runs = [_failure_mode_fit("convection", 30.0, strategy, 0, budget, None, verbose)
                for strategy in strategies]
    print("\nConvection, beta = 30 (relative L2 error on the 256 x 100 grid)\n")
    print("| strategy | physml | paper | iterations | seconds |")
    print("|---|---|---|---|---|")
    for run in runs:
        print(f"| {run['strategy']} | {run['error']:.2e} | {paper[run['strategy']]:.2e} | "
              f"{run['n_iter']} | {run['seconds']:.1f} |")
    if budget != 1:
        print(f"\n({budget:g} x the benchmark recipes' iterations)")
    _record("demo", failure_mode_rows(runs, min(cpu_count(), 2)), out, budget, None)
    try:
        from .plotting import plot_solutions

        path = out / "demo_convection.png"
        plot_solutions([(f"beta=30, {r['strategy']}", r["X"], r["u"], r["u_hat"])
                        for r in runs], 256, 100, path)
        print(f"\nFigure: {path}")
    except ImportError as error:
        print(f"\n(no figure: {error})")
    return runs


def reproduce_continuity(out="physml_out", max_iter=5000, verbose=1):
    """The ODE-Net convergence test: Euler-, midpoint- and RK4-trained nets and the exact
    field on the harmonic oscillator, error against the inference step (table and figure)."""
    from .reproduce import continuity_study, continuity_table, plot_continuity

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results = continuity_study("harmonic_oscillator", max_iter=max_iter, verbose=verbose)
    print("\nConvergence test, harmonic oscillator, trained at dt = 0.5 "
          "(relative L2 error of the forecast over t in [0, 10])\n")
    print(continuity_table(results))
    rows = [dict(key=label, model=r.label, steps=[float(h) for h in r.steps],
                 errors=[float(x) for x in r.errors], order=float(r.order),
                 score=float(r.extra["score"]), seconds=float(r.extra["seconds"]))
            for label, r in results.items()]
    _record("continuity", rows, out, 1.0 if max_iter == 5000 else None, None)
    print("\nPublished shape (Queiruga et al. 2020; steps 2dt, dt, dt/2, dt/4, dt/16): Euler-net "
          "2.6, 1.9e-2, 0.49, 0.61, 0.67; midpoint-net 0.83, 1.6e-2, 0.14, 0.18, 0.19; "
          "RK4-net 4.1e-2, 1.8e-2, 2.1e-2, 2.1e-2, 2.1e-2.")
    try:
        path = out / "continuity_harmonic_oscillator.png"
        plot_continuity(results, path, "ODE-Nets on the harmonic oscillator, trained at dt=0.5")
        print(f"\nFigure: {path}")
    except ImportError as error:
        print(f"\n(no figure: {error})")
    return results


def _run_settings(out, quick, seeds, budget):
    """The output folder (created), the seeds and the budget of a reproduction run: one
    seed at a quarter of the iterations with ``--quick``, else three at the full count."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    return out, seeds or (1 if quick else 3), budget or (0.25 if quick else 1.0)


def reproduce_failure_modes(out="physml_out", quick=False, seeds=None, systems=None,
                            n_jobs=-1, budget=None, verbose=1, results=None):
    """The three tables of Krishnapriyan et al. (2021): standard PINN against curriculum
    (convection) and seq2seq (reaction, reaction-diffusion), beside the paper's numbers,
    with figures (error against the coefficient; prediction at the hardest case).

    The fits run in parallel, one per core by default (each on one torch thread, the
    estimator's default): these networks are too small for threads to pay, so processes
    do. With one
    job each fit shows its progress bar; with several, a bar counts the finished fits.
    Each fit's error and seconds go to the ``failure_modes`` results file in ``results``
    (default: the repository's ``benchmarks/results`` for a full run from a checkout,
    else ``<out>/results``)."""
    from joblib import effective_n_jobs

    from ._base import progress
    from .reproduce import (
        FAILURE_MODES,
        QUICK_CASES,
        failure_mode_rows,
        failure_mode_runs,
        failure_mode_table,
        hardest_cases,
        plot_failure_modes,
    )

    out, seeds, budget = _run_settings(out, quick, seeds, budget)
    tables = {}
    for system in systems or FAILURE_MODES:
        start = time.perf_counter()
        values = QUICK_CASES[system] if quick else list(FAILURE_MODES[system].paper)
        parallel = effective_n_jobs(n_jobs) > 1
        bar = progress(len(values) * seeds * 2, verbose if parallel else 0,
                       f"{system}: fits")
        try:
            runs = failure_mode_runs(system, values=values, seeds=seeds, budget=budget,
                                     n_jobs=n_jobs, verbose=0 if parallel else verbose,
                                     on_run=lambda run, bar=bar: bar.update())
        finally:
            bar.close()
        tables[system] = runs
        _record("failure_modes", failure_mode_rows(runs, effective_n_jobs(n_jobs)), out,
                budget, results, quick)
        print(f"\n{system}: relative L2 error on the 256 x 100 grid, {seeds} seed(s)"
              f"{f', {budget:g} x the iterations' if budget != 1 else ''}; "
              f"{time.perf_counter() - start:.0f} s\n")
        print(failure_mode_table(runs), flush=True)
        try:
            from .plotting import plot_solutions

            plot_failure_modes(runs, out / f"failure_modes_{system}_error.png")
            plot_solutions(hardest_cases(runs), 256, 100,
                           out / f"failure_modes_{system}_hardest.png")
        except ImportError as error:
            print(f"(no figures: {error})")
    print(f"\nFigures in {out}/")
    return tables


def _record(name, rows, out, budget, directory, quick=False):
    """Write ``rows`` to the results file ``name`` (``name_quick`` for a ``--quick`` run)
    and say where."""
    from ._results import default_directory, write_results

    path = write_results(name + ("_quick" if quick else ""), rows,
                         directory or default_directory(out, budget, quick))
    print(f"\nResults: {path}", flush=True)
    return path


def _hard_case_job(job, budget, verbose):
    from .reproduce import ABLATIONS, hard_case_fit

    case, variant, seed, removed = job
    run = hard_case_fit(case, variant, seed, budget, verbose,
                        ABLATIONS.get(removed))
    if removed is not None:
        run["removed"] = removed
    return run


def reproduce_hard_cases(out="physml_out", quick=False, seeds=None, cases=None,
                         baselines=True, ablation=True, n_jobs=-1, budget=None, verbose=1,
                         results=None):
    """Exact constraints, causal training and adaptive sampling on the hard cases
    (:data:`physml.reproduce.HARD_CASES`): each cell is ``PINNRegressor(pde=...,
    strategy="causal", random_state=seed)``; beside it the standard PINN and the paper's
    fix (soft constraints), then the ablation (each fix removed in turn at beta = 50 and
    on Allen-Cahn; its "all fixes" row is the cell's seed 0). ``ablation``: True, False,
    or names of :data:`physml.reproduce.ABLATIONS` to run those rows alone (no cells, no
    baselines). ``baselines="only"``: the standard PINN and the paper's fix alone (no
    cells, no ablation). Prints the tables beside the published numbers and writes the
    figures; each fit's error and seconds go to the ``hard_cases`` results file in
    ``results`` (as for :func:`reproduce_failure_modes`)."""
    from .reproduce import (
        ABLATION_CASES,
        ABLATIONS,
        HARD_CASES,
        ablation_table,
        hard_case_table,
        plot_ablation,
        plot_causal_weights,
        published_table,
    )

    out, seeds, budget = _run_settings(out, quick, seeds, budget)
    cases = list(cases or HARD_CASES)
    unknown = [c for c in cases if c not in HARD_CASES]
    if unknown:
        raise SystemExit(f"physml reproduce hard-cases: unknown case(s) {unknown}; choose "
                         f"from {list(HARD_CASES)}")
    from joblib import Parallel, delayed, effective_n_jobs

    rows_only = not isinstance(ablation, bool)
    if rows_only:
        unknown = [name for name in ablation if name not in ABLATIONS]
        if unknown:
            raise SystemExit(f"physml reproduce hard-cases: unknown ablation row(s) "
                             f"{unknown}; choose from {list(ABLATIONS)}")
        jobs = [(case, "ablation", 0, removed) for case in ABLATION_CASES if case in cases
                for removed in ABLATIONS if removed in ablation and removed != "all fixes"]
    else:
        variants = ["causal + exact"] + (["standard", "paper's fix"]
                                         if baselines and not quick else [])
        only = isinstance(baselines, str) and baselines == "only"
        jobs = [] if only else [(case, "causal + exact", seed, None) for case in cases
                                for seed in range(seeds)]
        jobs += [(case, variant, 0, None) for case in cases for variant in variants[1:]]
        if ablation and not quick and not only:
            jobs += [(case, "ablation", 0, removed) for case in ABLATION_CASES
                     if case in cases for removed in ABLATIONS if removed != "all fixes"]
    parallel = max(min(effective_n_jobs(n_jobs), len(jobs)), 1)
    print(f"{len(jobs)} fit{'s' * (len(jobs) != 1)}, " + (
        f"{parallel} at a time with one torch thread each" if parallel > 1 else
        "one at a time, each on the cores the machine leaves idle (the seconds per fit "
        "that the time limits mean)"), flush=True)
    start = time.perf_counter()
    calls = (delayed(_hard_case_job)(job, budget, 0 if parallel > 1 else verbose)
             for job in jobs)
    runs, ablations = [], []
    for run in Parallel(n_jobs=parallel, return_as="generator_unordered")(calls):
        (ablations if run["variant"] == "ablation" else runs).append(run)
        label = run.get("removed") or run["variant"]
        print(f"  {run['case']}, {label}, seed {run['seed']}: error {run['error']:.2e}, "
              f"{run['seconds']:.0f} s", flush=True)
    order = {job[:3]: k for k, job in enumerate(jobs)}
    runs.sort(key=lambda r: order[(r["case"], r["variant"], r["seed"])])
    scope = ("the ablation's rows" if rows_only else
             f"causal + exact over {seeds} seed(s), the others seed 0")
    print(f"\nHard cases: relative L2 error on the 256 x 100 grid; {scope}"
          f"{f', {budget:g} x the iterations' if budget != 1 else ''}; "
          f"{time.perf_counter() - start:.0f} s in all\n")
    if runs:
        print(hard_case_table(runs))
        print("\nPublished:\n")
        print(published_table(cases), flush=True)
    if ablations:
        main = {r["case"]: r for r in runs
                if r["variant"] == "causal + exact" and r["seed"] == 0}
        names = list(ABLATIONS)
        ablations = [dict(main[c], removed="all fixes") for c in ABLATION_CASES if c in main
                     ] + ablations
        ablations.sort(key=lambda r: (ABLATION_CASES.index(r["case"]),
                                      names.index(r["removed"])))
        print("\nAblation (seed 0; each fix removed in turn from causal + exact):\n")
        print(ablation_table(ablations))
    fields = ("case", "variant", "seed", "error", "seconds", "n_iter")
    rows = [dict({f: r[f] for f in fields}, fits_at_once=parallel,
                 key=f"{r['case']} | {r['variant']} | seed {r['seed']}") for r in runs]
    # (the ablation's "all fixes" is the cell's seed-0 row: not written twice)
    rows += [dict({f: r[f] for f in fields}, removed=r["removed"], fits_at_once=parallel,
                  key=f"{r['case']} | ablation | {r['removed']}") for r in ablations
             if r["removed"] != "all fixes"]
    _record("hard_cases", rows, out, budget, results, quick)
    try:
        from .plotting import plot_solutions

        main = [r for r in runs if r["variant"] == "causal + exact" and r["seed"] == 0]
        if main:
            plot_solutions([(f"{r['case']}, causal + exact", r["X"], r["u"], r["u_hat"])
                            for r in main], 256, 100, out / "hard_cases_solutions.png")
        for r in main:
            name = r["case"].replace(" ", "_").replace("=", "").replace("/", "_")
            plot_causal_weights(r["estimator"], out / f"hard_cases_weights_{name}.png",
                                f"causal weights, {r['case']}")
        if ablations:
            plot_ablation(ablations, out / "hard_cases_ablation.png")
        print(f"\nFigures in {out}/")
    except ImportError as error:
        print(f"(no figures: {error})")
    return runs, ablations


_DESCRIPTION = """\
physml: PINNs, ODE-Nets and continuous-time sequence models behind the scikit-learn
interface. These commands run the library's demonstration and its reproductions of the
papers, print physml's numbers beside the published ones, write figures, and write what
they measured to results files (benchmarks/results/ in a checkout of the repository)."""

#: The systems of ``reproduce failure-modes`` and the cases of ``reproduce hard-cases``
#: (the keys of :data:`physml.reproduce.FAILURE_MODES` and ``HARD_CASES``; spelled out
#: here so that ``--help`` does not import torch; a test checks they agree).
_SYSTEMS = ("convection", "reaction", "reaction-diffusion")
_CASES = ("convection beta=30", "convection beta=50", "convection beta=80", "reaction rho=5",
          "allen-cahn d=1e-4", "burgers nu=0.01/pi")


def _number(kind, minimum, strict, what):
    """An argparse type: a ``kind`` (int or float) above ``minimum``."""
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if value < minimum or (strict and value == minimum) or value != value:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
        return value
    return parse


_POSITIVE_INT = _number(int, 1, False, "an integer >= 1")
_POSITIVE_FLOAT = _number(float, 0.0, True, "a number > 0")


def _n_jobs(text):
    """joblib's n_jobs: a positive count, or -1 (every core), -2 (all but one), ..."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value == 0:
        raise argparse.ArgumentTypeError("0 jobs; use a positive count or -1 (every core)")
    return value


def _minutes(seconds):
    minutes = seconds / 60
    if minutes < 1.5:
        return f"about {seconds:.0f} s"
    return f"about {minutes:.0f} minutes"


def _timings(name):
    """How long the runs of ``name`` recorded in the repository's results files took:
    each recorded command's wall time (the run with default options first), and the sum
    of the recorded fits' seconds. Reads JSON only, so that ``--help`` stays fast."""
    from ._results import REPOSITORY_RESULTS, read_results

    said = []
    for quick in (False, True):
        rows = read_results(name + ("_quick" if quick else ""), REPOSITORY_RESULTS)
        walls = sorted((row for row in rows if "wall_seconds" in row),
                       key=lambda row: row["options"] != "")
        for row in walls:
            options = " ".join(filter(None, [row["options"], "--quick" * quick]))
            said.append(_minutes(row["wall_seconds"])
                        + (f" with {options}" if options else ""))
        fits = [row["seconds"] for row in rows if "seconds" in row]
        if fits and not quick and len(fits) > 2:
            said.append(f"the {len(fits)} fits recorded so far, one after another, "
                        f"{_minutes(sum(fits))}")
    return said


def _took(name):
    """A help text's last line: the recorded timings of ``name``."""
    said = _timings(name)
    if not said:
        return "Time: not yet recorded in benchmarks/results"
    return "Measured on 2 cores: " + "; ".join(said)


def _brief(text, name):
    """A command's one-line summary, with its first recorded timing."""
    said = _timings(name)
    return f"{text} ({said[0]})" if said else text


def _record_wall(name, argv, seconds, out, budget, quick):
    """Record a command's wall time with the options that set its work (``--help``
    quotes it); ``--out`` and ``--quiet`` are left out, and so is ``--quick``, which names
    the file instead."""
    from ._results import default_directory, write_results

    kept, skip = [], False
    for argument in argv:
        if skip or argument in ("--quiet", "--quick"):
            skip = False
            continue
        if argument == "--out":
            skip = True
            continue
        if not argument.startswith("--out="):
            kept.append(argument if " " not in argument else f'"{argument}"')
    options = " ".join(kept)
    write_results(name + ("_quick" if quick else ""),
                  [dict(key=f"wall time | {options}", options=options, wall_seconds=seconds)],
                  default_directory(out, budget, quick))


def _common(parser, jobs=True, budget=True):
    parser.add_argument("--out", default=os.environ.get("PHYSML_OUT", "physml_out"),
                        help="folder for the figures (default: physml_out, or $PHYSML_OUT)")
    if jobs:
        parser.add_argument("--n-jobs", type=_n_jobs, default=-1,
                            help="fits in parallel (default -1: one per core)")
    if budget:
        parser.add_argument("--budget", type=_POSITIVE_FLOAT, default=None,
                            help="scale every iteration count (default: 1; 0.25 with "
                                 "--quick); a run at another budget writes its results "
                                 "under --out, not to the repository")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def _parser():
    from importlib.metadata import PackageNotFoundError, version

    try:
        release = version("physml")
    except PackageNotFoundError:  # pragma: no cover - run from a bare source tree
        release = "unknown"
    formatter = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="physml", description=_DESCRIPTION, formatter_class=formatter,
        epilog='Run "physml COMMAND --help" for what a command does, its options and how '
               'long it takes.')
    parser.add_argument("--version", action="version", version=f"physml {release}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_demo = commands.add_parser(
        "demo", formatter_class=formatter,
        help=_brief("convection beta = 30: the standard PINN fails, curriculum fixes it",
                    "demo"),
        description="Convection at beta = 30 with the paper's network (4 x 50 tanh) and "
                    "1000 collocation points:\nthe standard PINN (the paper's float32 "
                    "L-BFGS settings) fails, curriculum regularization\n(beta = 1, 5, "
                    "..., 30) fixes it. Prints both errors beside the paper's and writes "
                    "a figure\nof the two predictions and the exact solution; the two "
                    f"fits run side by side.\n{_took('demo')}.")
    _common(run_demo, jobs=False, budget=False)
    run_demo.add_argument("--budget", type=_POSITIVE_FLOAT, default=1.0,
                          help="iterations, as a multiple of the recipes' (default: 1)")
    run_reproduce = commands.add_parser(
        "reproduce", formatter_class=formatter,
        help="reproduce a paper's results beside the published numbers",
        description="Reproduce a study: print physml's numbers beside the published ones, "
                    "write figures and\nresults files.")
    studies = run_reproduce.add_subparsers(dest="study", required=True, metavar="STUDY")
    continuity = studies.add_parser(
        "continuity", formatter_class=formatter,
        help=_brief("the ODE-Net convergence test (Queiruga et al. 2020)", "continuity"),
        description="The ODE-Net convergence test: Euler-, midpoint- and RK4-trained nets "
                    "on the harmonic\noscillator, error against the inference step "
                    f"(table and figure).\n{_took('continuity')}.")
    continuity.add_argument("--max-iter", type=_POSITIVE_INT, default=5000,
                            help="Adam steps per network (default: 5000)")
    _common(continuity, jobs=False, budget=False)
    _paper_study(
        studies, "failure-modes", "the PINN failure-mode tables (Krishnapriyan et al. 2021)",
        "The three tables of Krishnapriyan et al. (2021): the standard PINN against "
        "curriculum\nregularization (convection) and seq2seq time marching (reaction, "
        "reaction-diffusion),\nbeside the paper's numbers, with figures.",
        "failure_modes", "--systems", _SYSTEMS, "SYSTEM",
        "one case per system, one seed, a quarter of the iterations")
    hard_cases = _paper_study(
        studies, "hard-cases", "causal training with exact constraints on the hard cases",
        "Causal training with exact constraints on convection beta = 30, 50 and 80, "
        "reaction\nrho = 5, Allen-Cahn and Burgers: each cell is PINNRegressor(pde=..., "
        "strategy=\"causal\"),\nbeside the standard PINN and the paper's fix (seed 0), "
        "then an ablation (each fix\nremoved in turn).",
        "hard_cases", "--cases", _CASES, "CASE",
        "one seed, no baselines or ablation, a quarter of the iterations")
    baselines = hard_cases.add_mutually_exclusive_group()
    baselines.add_argument("--no-baselines", action="store_true",
                           help="skip the standard PINN and the paper's fix")
    baselines.add_argument("--baselines-only", action="store_true",
                           help="only the standard PINN and the paper's fix (seed 0)")
    hard_cases.add_argument("--no-ablation", action="store_true", help="skip the ablation")
    hard_cases.add_argument("--ablation", nargs="+", default=None, metavar="ROW",
                            help="run only these rows of the ablation (no cells, no "
                                 "baselines): names of physml.reproduce.ABLATIONS")
    return parser


def _paper_study(studies, name, summary, description, results, option, choices, metavar,
                 quick):
    """A ``reproduce`` study over several cases: its parser with the cases to run,
    ``--seeds``, ``--quick`` and the common options."""
    formatter = argparse.RawDescriptionHelpFormatter
    parser = studies.add_parser(name, formatter_class=formatter,
                                help=_brief(summary, results),
                                description=f"{description}\n--quick: {quick}.\n"
                                            f"{_took(results)}.")
    listed = ", ".join(repr(c) if " " in c else c for c in choices)
    parser.add_argument(option, nargs="+", default=None, choices=choices, metavar=metavar,
                        help=f"the {option[2:]} to run, of {listed} (default: all)")
    parser.add_argument("--seeds", type=_POSITIVE_INT, default=None,
                        help="seeds per case (default: 3; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help=quick)
    _common(parser)
    return parser


def main(argv=None):
    """Run the ``physml`` command with ``argv`` (default: the command line); returns the
    exit status. A bad argument, or an option of another command, exits with status 2
    and a message naming it."""
    parser = _parser()
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1
    given = sys.argv[1:] if argv is None else list(argv)
    options = given[given.index(args.command) + 1:]
    if args.command == "reproduce":
        options = options[options.index(args.study) + 1:]
    start = time.perf_counter()
    if args.command == "demo":
        demo(out=args.out, budget=args.budget, verbose=verbose)
        name, budget = "demo", args.budget
    elif args.study == "continuity":
        reproduce_continuity(out=args.out, max_iter=args.max_iter, verbose=verbose)
        name, budget = "continuity", 1.0 if args.max_iter == 5000 else None
    elif args.study == "hard-cases":
        reproduce_hard_cases(out=args.out, quick=args.quick, seeds=args.seeds,
                             cases=args.cases, baselines=("only" if args.baselines_only
                                                         else not args.no_baselines),
                             ablation=(args.ablation if args.ablation is not None
                                       else not args.no_ablation), n_jobs=args.n_jobs,
                             budget=args.budget, verbose=verbose)
        name, budget = "hard_cases", args.budget or (0.25 if args.quick else 1.0)
    else:
        reproduce_failure_modes(out=args.out, quick=args.quick, seeds=args.seeds,
                                systems=args.systems, n_jobs=args.n_jobs, budget=args.budget,
                                verbose=verbose)
        name, budget = "failure_modes", args.budget or (0.25 if args.quick else 1.0)
    _record_wall(name, options, time.perf_counter() - start, args.out, budget,
                 getattr(args, "quick", False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
