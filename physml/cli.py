"""The ``physml`` command: ``physml demo``, ``physml reproduce continuity|failure-modes``."""

import argparse
import os
import sys
import time
from pathlib import Path


def demo(out="physml_out", budget=0.5, verbose=1):
    """Convection at beta = 30: the standard PINN fails, curriculum regularization fixes it.

    Both fits use the paper's network (4 x 50 tanh) and 1000 collocation points. The
    standard one uses the paper's float32 L-BFGS settings
    (:data:`physml.strategies.PAPER_SETTINGS`: at most 5000 iterations; it stops by itself
    near 1600); the curriculum (beta = 1, 5, ..., 30) is ``strategy="curriculum"`` with
    its own defaults. Both get ``budget`` times their iterations (half by default, to stay
    under 3 minutes on 2 cores; ``physml reproduce failure-modes`` runs the full ones).
    """
    from .reproduce import _failure_mode_fit

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paper = {"standard": 8.97e-1, "curriculum": 2.02e-2}
    runs = [_failure_mode_fit("convection", 30.0, strategy, 0, budget, None, verbose)
            for strategy in ("standard", "fix")]
    print("\nConvection, beta = 30 (relative L2 error on the 256 x 100 grid)\n")
    print("| strategy | physml | paper | iterations | seconds |")
    print("|---|---|---|---|---|")
    for run in runs:
        print(f"| {run['strategy']} | {run['error']:.2e} | {paper[run['strategy']]:.2e} | "
              f"{run['n_iter']} | {run['seconds']:.1f} |")
    if budget != 1:
        print(f"\n({budget:g} x the benchmark recipes' iterations)")
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
    print("\nPublished shape (REFERENCE.md; steps 2dt, dt, dt/2, dt/4, dt/16): Euler-net "
          "2.6, 1.9e-2, 0.49, 0.61, 0.67; midpoint-net 0.83, 1.6e-2, 0.14, 0.18, 0.19; "
          "RK4-net 4.1e-2, 1.8e-2, 2.1e-2, 2.1e-2, 2.1e-2.")
    try:
        path = out / "continuity_harmonic_oscillator.png"
        plot_continuity(results, path, "ODE-Nets on the harmonic oscillator, trained at dt=0.5")
        print(f"\nFigure: {path}")
    except ImportError as error:
        print(f"\n(no figure: {error})")
    return results


def reproduce_failure_modes(out="physml_out", quick=False, seeds=None, systems=None,
                            n_jobs=-1, budget=None, verbose=1):
    """The three tables of Krishnapriyan et al. (2021): standard PINN against curriculum
    (convection) and seq2seq (reaction, reaction-diffusion), beside the paper's numbers,
    with figures (error against the coefficient; prediction at the hardest case).

    The fits run in parallel, one per core by default (each with cores / n_jobs torch
    threads): these networks are too small for threads to pay, so processes do. With one
    job each fit shows its progress bar; with several, a bar counts the finished fits."""
    from joblib import effective_n_jobs

    from ._base import progress
    from .reproduce import (
        FAILURE_MODES,
        QUICK_CASES,
        failure_mode_runs,
        failure_mode_table,
        hardest_cases,
        plot_failure_modes,
    )

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    seeds = seeds or (1 if quick else 3)
    budget = budget or (0.25 if quick else 1.0)
    tables = {}
    for system in systems or FAILURE_MODES:
        start = time.perf_counter()
        values = QUICK_CASES[system] if quick else list(FAILURE_MODES[system][3])
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


def main(argv=None):
    parser = argparse.ArgumentParser(prog="physml", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run_demo = commands.add_parser(
        "demo", help="convection beta = 30: standard PINN against curriculum, beside the paper")
    run_demo.add_argument("--out", default=os.environ.get("PHYSML_OUT", "physml_out"),
                          help="folder for the figure (default: physml_out)")
    run_demo.add_argument("--budget", type=float, default=0.5,
                          help="iterations, as a multiple of the benchmark recipes' "
                               "(default: 0.5)")
    run_demo.add_argument("--quiet", action="store_true", help="no progress bars")
    run_reproduce = commands.add_parser("reproduce", help="reproduce a paper's result")
    run_reproduce.add_argument(
        "study", choices=["continuity", "failure-modes"],
        help="continuity: the ODE-Net convergence test; failure-modes: the PINN failure "
             "modes tables (standard against curriculum and seq2seq)")
    run_reproduce.add_argument("--out", default=os.environ.get("PHYSML_OUT", "physml_out"))
    run_reproduce.add_argument("--max-iter", type=int, default=5000,
                               help="continuity: Adam steps per network (default: 5000)")
    run_reproduce.add_argument("--quick", action="store_true",
                               help="failure-modes: one seed, one case per system, a quarter "
                                    "of the iterations (under 5 minutes)")
    run_reproduce.add_argument("--seeds", type=int, default=None,
                               help="failure-modes: seeds per case (default: 3; 1 with --quick)")
    run_reproduce.add_argument("--systems", nargs="*", default=None,
                               help="failure-modes: convection, reaction, reaction-diffusion")
    run_reproduce.add_argument("--n-jobs", type=int, default=-1,
                               help="failure-modes: fits in parallel (default -1: one per "
                                    "core)")
    run_reproduce.add_argument("--budget", type=float, default=None,
                               help="failure-modes: scale every iteration count (default: 1; "
                                    "0.25 with --quick)")
    run_reproduce.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1
    if args.command == "demo":
        demo(out=args.out, budget=args.budget, verbose=verbose)
    elif args.study == "continuity":
        reproduce_continuity(out=args.out, max_iter=args.max_iter, verbose=verbose)
    else:
        reproduce_failure_modes(out=args.out, quick=args.quick, seeds=args.seeds,
                                systems=args.systems, n_jobs=args.n_jobs, budget=args.budget,
                                verbose=verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
