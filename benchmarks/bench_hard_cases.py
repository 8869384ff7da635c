"""Exact constraints, causal training and adaptive sampling on the hard cases.

Convection at beta = 30, 50 and 80, reaction at rho = 5, Allen-Cahn (d = 1e-4) and
Burgers (nu = 0.01/pi), each cell exactly ``PINNRegressor(pde=..., strategy="causal",
random_state=seed)`` (exact constraints and the modified MLP: the strategy's defaults);
beside them the standard PINN and the paper's fix (soft constraints, seed 0), and the
ablation at beta = 50 and on Allen-Cahn (each fix removed in turn). Prints the tables
beside the published numbers and writes the figures; the same as ``physml reproduce
hard-cases``.

    python benchmarks/bench_hard_cases.py                 # 3 seeds, baselines, ablation
    python benchmarks/bench_hard_cases.py --no-baselines --n-jobs 1
        # the table and the ablation
    python benchmarks/bench_hard_cases.py --no-baselines --no-ablation --n-jobs 1
        # the table alone, one fit at a time on both cores: the seconds the limits mean
    python benchmarks/bench_hard_cases.py --cases "convection beta=30" --seeds 1 --no-ablation
    python benchmarks/bench_hard_cases.py --ablation "plain MLP" float32 --n-jobs 2
        # two rows of the ablation alone
    python benchmarks/bench_hard_cases.py --cases "convection beta=30" --baselines-only
        # the standard PINN and the paper's fix alone
"""

import argparse
import sys
import time

from physml.cli import _record_wall, reproduce_hard_cases
from physml.reproduce import HARD_CASES


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", nargs="+", choices=list(HARD_CASES), default=None)
    parser.add_argument("--seeds", type=int, default=3)
    baselines = parser.add_mutually_exclusive_group()
    baselines.add_argument("--no-baselines", action="store_true")
    baselines.add_argument("--baselines-only", action="store_true",
                           help="only the standard PINN and the paper's fix (seed 0)")
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--ablation", nargs="+", default=None, metavar="ROW",
                        help="only these rows of the ablation (no cells, no baselines)")
    parser.add_argument("--n-jobs", type=int, default=-1)
    parser.add_argument("--out", default="physml_out")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    runs, _ = reproduce_hard_cases(out=args.out, seeds=args.seeds, cases=args.cases,
                                   baselines=("only" if args.baselines_only
                                              else not args.no_baselines),
                                   ablation=(args.ablation if args.ablation is not None
                                             else not args.no_ablation),
                                   n_jobs=args.n_jobs,
                                   verbose=0)
    _record_wall("hard_cases", sys.argv[1:] if argv is None else argv,
                 time.perf_counter() - start, args.out, 1.0, False)
    results = {}
    for run in runs:
        if run["variant"] != "causal + exact":
            continue
        target, limit = HARD_CASES[run["case"]].target, HARD_CASES[run["case"]].time_limit
        entry = results.setdefault(run["case"], {"errors": [], "seconds": [],
                                                 "target": target, "time_limit": limit})
        entry["errors"].append(run["error"])
        entry["seconds"].append(run["seconds"])
        # met on the error; the seconds against the limit are reported, not asserted (a
        # time depends on the machine and its load)
        entry["met"] = max(entry["errors"]) <= target
        entry["in_time"] = max(entry["seconds"]) <= limit
    return results


if __name__ == "__main__":
    main()
