"""Time Adam and L-BFGS steps of a PINN fit with glibc's default malloc and physml's setting.

A PINN training step allocates and frees the same few-hundred-kB buffers every time; with
glibc's defaults those can come back as fresh pages (a page fault per 4 kB touched).
``physml._threads.freed_memory_kept`` (every physml fit runs inside it; it acts where
``PHYSML_MALLOC_TUNING=1`` asks) keeps freed memory for reuse. Each configuration runs in
its own process (the setting is process-wide), the two settings interleaved, on the same
closure (the convection PINN loss of ``PINNRegressor``: 4 x 50 tanh, 1000 collocation
points) and starting point, with Adam and ``torch.optim.LBFGS``
(strong Wolfe) as the fits use them. Reported: milliseconds per iteration (fastest repeat),
page faults per iteration, and the ratio of the two settings. After the 20 warm-up steps
glibc's adaptive threshold has settled, so a single steady phase shows little difference;
the setting pays in fits that change precision and rebuild their loss stage after stage
(curriculum): compare ``PHYSML_MALLOC_TUNING=0 python benchmarks/bench_failure_modes.py
convection --values 40 --seeds 1 --strategies fix --threads 2`` with the same command
and ``PHYSML_MALLOC_TUNING=1``.

    python benchmarks/bench_lbfgs.py [--threads 1] [--iterations 200] [--repeats 3]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import torch

from physml._results import recorded_tables

HERE = Path(__file__).resolve().parent


def worker(dtype, phase, history, iterations, threads):
    sys.path.insert(0, str(HERE))
    from bench_speed import ours_closure, problem_for

    from physml._threads import freed_memory_kept
    from physml.pde import Convection

    torch.set_num_threads(threads)
    # Every physml fit runs inside this; PHYSML_MALLOC_TUNING unset or 0 (the default-malloc
    # runs) makes it a no-op. Held for the whole worker: the timed steps run outside a fit.
    setting = freed_memory_kept()
    assert setting.__enter__() == (os.environ["PHYSML_MALLOC_TUNING"] == "1")
    pde = Convection(beta=30.0)
    _, problem = problem_for(pde, dtype)
    closure, _ = ours_closure(problem, pde)
    parameters = list(problem.network.parameters())
    if phase == "adam":
        opt = torch.optim.Adam(parameters, lr=1e-3)
        for _ in range(20):  # warm up (and fill the allocator) before timing
            opt.step(closure)
    else:
        opt = torch.optim.LBFGS(parameters, lr=1.0, max_iter=20, history_size=history,
                                tolerance_grad=0.0, tolerance_change=0.0,
                                line_search_fn="strong_wolfe")
        opt.step(closure)  # warm up (and fill the allocator) before timing
        opt.param_groups[0].update(max_iter=iterations, max_eval=25 * iterations)
        before = opt.state[parameters[0]]["n_iter"]
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    begin = time.perf_counter()
    if phase == "adam":
        for _ in range(iterations):
            opt.step(closure)
        n_iter = iterations
    else:
        opt.step(closure)
        n_iter = opt.state[parameters[0]]["n_iter"] - before
    seconds = time.perf_counter() - begin
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    print(json.dumps({"ms": 1e3 * seconds / n_iter, "faults": faults / n_iter}))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--history", type=int, default=100,
                        help="L-BFGS history (the failure-mode recipes use 100)")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        dtype, phase = args.worker  # the setting comes with PHYSML_MALLOC_TUNING
        return worker(dtype, phase, args.history, args.iterations, args.threads)
    print(f"torch {torch.__version__}, {args.threads} thread(s); convection beta = 30, "
          f"4 x 50 tanh, 1000 collocation points; {args.iterations} iterations (L-BFGS "
          f"history {args.history}), "
          f"fastest of {args.repeats} processes per setting\n")
    print("| dtype | optimizer | glibc default (ms / iteration) | page faults / iteration | "
          "physml setting (ms / iteration) | page faults / iteration | ratio |")
    print("|---|---|---|---|---|---|---|")
    results = {}
    for dtype in ("float32", "float64"):
        for phase in ("adam", "lbfgs"):
            runs = {"0": [], "1": []}
            for _ in range(args.repeats):
                for tuned in ("0", "1"):
                    out = subprocess.run(
                        [sys.executable, __file__, "--worker", dtype, phase,
                         "--history", str(args.history),
                         "--iterations", str(args.iterations), "--threads",
                         str(args.threads)],
                        capture_output=True, text=True, check=True,
                        env={**os.environ, "PHYSML_MALLOC_TUNING": tuned})
                    runs[tuned].append(json.loads(out.stdout.strip().splitlines()[-1]))
            best = {k: min(v, key=lambda r: r["ms"]) for k, v in runs.items()}
            ratio = best["1"]["ms"] / best["0"]["ms"]
            results[(dtype, phase)] = ratio
            print(f"| {dtype} | {phase} | {best['0']['ms']:.2f} | {best['0']['faults']:.0f} "
                  f"| {best['1']['ms']:.2f} | {best['1']['faults']:.0f} | {ratio:.2f}x |",
                  flush=True)
    return results


if __name__ == "__main__":
    with recorded_tables("lbfgs"):
        main()
