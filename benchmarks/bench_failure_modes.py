"""Fixing the PINN failure modes (Krishnapriyan et al. 2021, Tables 1-3), beside the paper.

Curriculum regularization on convection and sequence-to-sequence time marching (dt = 0.1)
on reaction and reaction-diffusion, through the public API, against the standard PINN in
the paper's own setting. The paper's network (4 x 50 tanh) and 1000 collocation points in
total. Each fix cell is the one-line call ``PINNRegressor(pde=..., strategy="curriculum"
or "seq2seq", random_state=seed)``, nothing else set: the strategy's training defaults
are what is measured. The standard cells use ``physml.strategies.PAPER_SETTINGS``.

    python benchmarks/bench_failure_modes.py convection --seeds 3
    python benchmarks/bench_failure_modes.py reaction reaction-diffusion --seeds 3 --n-jobs 8
    python benchmarks/bench_failure_modes.py convection --values 50 --strategies fix
    python benchmarks/bench_failure_modes.py reaction --values 5 --strategies fix+lm

``physml reproduce failure-modes`` runs the same study and also writes the figures.
"""

import argparse
import time

from physml import reproduce
from physml._results import default_directory, write_results
from physml.strategies import PAPER_SETTINGS, resolve_strategy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("systems", nargs="+", choices=list(reproduce.FAILURE_MODES))
    parser.add_argument("--values", type=float, nargs="*")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--strategies", nargs="+", default=["standard", "fix"],
                        choices=["standard", "fix", "fix+lm"],
                        help="fix+lm: the fix's call with optimizer='lm'")
    parser.add_argument("--n-jobs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads per fit (default: cores / n_jobs)")
    args = parser.parse_args(argv)
    print(f"standard: PAPER_SETTINGS = {PAPER_SETTINGS}")
    for name in ("curriculum", "seq2seq"):
        print(f"{name}: defaults {resolve_strategy(name).training()}")
    for system in args.systems:
        start = time.perf_counter()
        runs = reproduce.failure_mode_runs(system, values=args.values, seeds=args.seeds,
                                           strategies=args.strategies, n_jobs=args.n_jobs,
                                           threads=args.threads, on_run=_print_run,
                                           first_seed=args.first_seed)
        print(f"\n{system} ({args.seeds} seeds, {args.n_jobs} parallel fits; "
              f"{time.perf_counter() - start:.0f} s in all)\n")
        print(reproduce.failure_mode_table(runs), flush=True)
        write_results("failure_modes", reproduce.failure_mode_rows(runs, args.n_jobs),
                      default_directory())


def _print_run(run):
    print(f"  {run['system']} {run['value']:g} {run['strategy']} seed {run['seed']}: "
          f"{run['error']:.3e} ({run['n_iter']} iterations, {run['seconds']:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
