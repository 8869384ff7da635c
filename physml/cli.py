"""The ``physml`` command: ``physml demo``, ``physml reproduce continuity|failure-modes``."""

import argparse
import os
import sys
import time
from pathlib import Path

PAPER_STANDARD_CONVECTION = {1.0: 7.84e-3, 30.0: 8.97e-1}


def demo(out="physml_out", max_iter=5000, verbose=1):
    """Standard PINN on convection at beta = 1 (it learns) and beta = 30 (it fails).

    The paper's setting: 4 x 50 tanh network, 1000 collocation points, 256 initial points,
    float32 L-BFGS (lr 1.0, history 50, strong Wolfe, tolerances 1e-7).
    """
    from .datasets import make_pde_data
    from .metrics import relative_l2_error
    from .pde import Convection
    from .pinn import PINNRegressor

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows, cases = [], []
    for beta, paper in PAPER_STANDARD_CONVECTION.items():
        pde = Convection(beta=beta)
        X0, u0 = pde.initial_data(n_points=256)
        X, u = make_pde_data(pde)
        start = time.perf_counter()
        est = PINNRegressor(pde=pde, strategy="standard", max_iter=max_iter, random_state=0,
                            verbose=verbose).fit(X0, u0)
        seconds = time.perf_counter() - start
        u_hat = est.predict(X)
        error = relative_l2_error(u, u_hat)
        rows.append((beta, error, paper, est.n_iter_, seconds))
        cases.append((f"convection beta={beta:g}, standard PINN", X, u, u_hat))
    print("\nStandard PINN on convection (relative L2 error on the 256 x 100 grid)\n")
    print("| beta | physml | paper | L-BFGS iterations | seconds |")
    print("|---|---|---|---|---|")
    for beta, error, paper, n_iter, seconds in rows:
        print(f"| {beta:g} | {error:.2e} | {paper:.2e} | {n_iter} | {seconds:.1f} |")
    try:
        from .plotting import plot_solutions

        path = out / "demo_convection.png"
        plot_solutions(cases, 256, 100, path)
        print(f"\nFigure: {path}")
    except ImportError as error:
        print(f"\n(no figure: {error})")
    return rows


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
                            n_jobs=1, budget=None, verbose=1):
    """The three tables of Krishnapriyan et al. (2021): standard PINN against curriculum
    (convection) and seq2seq (reaction, reaction-diffusion), beside the paper's numbers,
    with figures (error against the coefficient; prediction at the hardest case)."""
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
        runs = failure_mode_runs(system, values=QUICK_CASES[system] if quick else None,
                                 seeds=seeds, budget=budget, n_jobs=n_jobs,
                                 verbose=verbose if n_jobs == 1 else 0)
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
        "demo", help="standard PINN on convection beta = 1 and 30, beside the paper")
    run_demo.add_argument("--out", default=os.environ.get("PHYSML_OUT", "physml_out"),
                          help="folder for the figure (default: physml_out)")
    run_demo.add_argument("--max-iter", type=int, default=5000,
                          help="L-BFGS iterations per fit (default: 5000)")
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
    run_reproduce.add_argument("--n-jobs", type=int, default=1,
                               help="failure-modes: fits in parallel (joblib)")
    run_reproduce.add_argument("--budget", type=float, default=None,
                               help="failure-modes: scale every iteration count (default: 1; "
                                    "0.25 with --quick)")
    run_reproduce.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    verbose = 0 if args.quiet else 1
    if args.command == "demo":
        demo(out=args.out, max_iter=args.max_iter, verbose=verbose)
    elif args.study == "continuity":
        reproduce_continuity(out=args.out, max_iter=args.max_iter, verbose=verbose)
    else:
        reproduce_failure_modes(out=args.out, quick=args.quick, seeds=args.seeds,
                                systems=args.systems, n_jobs=args.n_jobs, budget=args.budget,
                                verbose=verbose)
    return 0


if __name__ == "__main__":
    sys.exit(main())
