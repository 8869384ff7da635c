"""Time a physml fit alone, beside a second physml fit, and at low priority beside a busy
process: a fit must take its fair share of a loaded machine, not collapse.

Each scenario starts fresh processes (nothing else should run on the machine):

* ``alone``: one fit on the idle machine;
* ``two fits``: two equal fits started together, each timed (a fair share of the cores
  is at most 2x the idle time; the acceptance bound is 2.3x);
* ``nice beside busy``: one fit at ``nice -n 10`` beside a busy single-threaded process
  at normal priority (bound: 3x the idle time).

The fit (``--workload``): ``pinn``, convection at beta = 1 with the standard strategy and
400 L-BFGS iterations (``PINNRegressor(pde=Convection(beta=1.0), max_iter=400,
random_state=0)``), ``readme``, the README's first example shortened to 200 iterations, or
``large``, Burgers with 10,000 collocation points (ten times the work per operation) and
100 iterations.
Each time is the fit's own wall time (``fit`` alone, imports excluded), as reported by the
fitting process, the median over ``--repeats`` interleaved rounds. The fits run with the
estimator's ``n_jobs`` (``--n-jobs``; default None: physml's default, which starts on one
torch thread and takes the cores the rest of the machine leaves idle, MKL's products on
them where MKL rounds their layout as on one thread);
``--threads`` (``OMP_NUM_THREADS``) and ``--spin`` (``GOMP_SPINCOUNT``: how many rounds a
waiting OpenMP thread of torch's busy-waits before it sleeps) try other policies. A
fourth scenario, ``alone, n_jobs=-1``, runs the idle fit with torch's defaults (one
thread per core, libgomp's spin), which every fit ran with before ``n_jobs``, so the idle
cost of the policy is measured in the same run (bound: 5 %).

    python benchmarks/bench_under_load.py [--workload pinn] [--repeats 3] [--n-jobs N]
                                          [--threads N] [--spin N]

Each run writes ``benchmarks/results/under_load.json`` (the medians per scenario and
their ratios); ``docs/guide/speed.rst`` shows the table generated from it.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from physml._results import default_directory, write_results


def fit_once(workload, n_jobs):
    """Run one fit in this process; print its seconds as JSON."""
    import torch

    from physml import PINNRegressor
    from physml.pde import Burgers, Convection

    threads_before = torch.get_num_threads()
    if workload == "pinn":
        pde, params = Convection(beta=1.0), dict(max_iter=400)
    elif workload == "large":
        pde, params = Burgers(), dict(n_collocation=10000, max_iter=100)
    else:
        pde, params = Convection(beta=30.0), dict(strategy="curriculum", max_iter=200)
    X0, u0 = pde.initial_data(256)
    start = time.perf_counter()
    PINNRegressor(pde=pde, random_state=0, n_jobs=n_jobs, **params).fit(X0, u0)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "threads": threads_before,
                      "threads_after": torch.get_num_threads()}))


def _spawn(args, env, nice=0, n_jobs=None):
    n_jobs = args.n_jobs if n_jobs is None else n_jobs
    command = [sys.executable, __file__, "--fit", args.workload, "--fit-n-jobs", str(n_jobs)]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def _result(process):
    out, _ = process.communicate()
    return json.loads(out.strip().splitlines()[-1])


BUSY = "import time\nend = time.time() + {limit}\nwhile time.time() < end:\n    pass\n"

#: The environment variables a policy under test may set; the reference runs without them.
POLICY = ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")


def scenario(name, args, env):
    if name == REFERENCE:
        reference = {k: v for k, v in env.items() if k not in POLICY}
        return [_result(_spawn(args, reference, n_jobs=-1))]
    if name == "alone":
        return [_result(_spawn(args, env))]
    if name == "two fits":
        first, second = _spawn(args, env), _spawn(args, env)
        return [_result(first), _result(second)]
    busy = subprocess.Popen([sys.executable, "-c", BUSY.format(limit=3600)])
    try:
        time.sleep(0.5)
        return [_result(_spawn(args, env, nice=10))]
    finally:
        busy.kill()
        busy.wait()


#: The idle reference: torch's defaults (one thread per core, libgomp's spin), which every
#: fit ran with before ``n_jobs`` (``n_jobs=-1`` asks for them).
REFERENCE = "alone, n_jobs=-1 (torch's defaults)"
SCENARIOS = (REFERENCE, "alone", "two fits", "nice beside busy")
#: Bounds of issue #17: the loaded times against the idle one, and the idle time against
#: the idle time with torch's defaults (at most 5 % slower).
BOUNDS = {"two fits": 2.3, "nice beside busy": 3.0}
IDLE_BOUND = 1.05


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("pinn", "readme", "large"), default="pinn")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="the estimator's n_jobs (default: None, physml's default: "
                             "the cores the machine leaves idle)")
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for the fits (default: unset)")
    parser.add_argument("--spin", type=int, default=None,
                        help="GOMP_SPINCOUNT for the fits (default: unset, libgomp's "
                             "300000 rounds)")
    parser.add_argument("--fit", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--fit-n-jobs", default="None", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fit:
        fit_once(args.fit, None if args.fit_n_jobs == "None" else int(args.fit_n_jobs))
        return
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    env = dict(os.environ)
    for name in POLICY:
        env.pop(name, None)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    if args.spin is not None:
        env["GOMP_SPINCOUNT"] = str(args.spin)
    times = {name: [] for name in SCENARIOS}
    for round_ in range(args.repeats):  # interleaved, so drift hits every scenario alike
        # the two idle scenarios swap places every other round (what ran just before a
        # fit on this VM moves its seconds)
        order = SCENARIOS if round_ % 2 == 0 else (SCENARIOS[1], SCENARIOS[0], *SCENARIOS[2:])
        for name in order:
            results = scenario(name, args, env)
            times[name].append([r["seconds"] for r in results])
    print(f"workload {args.workload}, {os.cpu_count()} cores, n_jobs={args.n_jobs}, "
          "OMP_NUM_THREADS="
          f"{env.get('OMP_NUM_THREADS', 'unset')}, GOMP_SPINCOUNT="
          f"{env.get('GOMP_SPINCOUNT', 'unset')}; median of {args.repeats} "
          "(each fit's own seconds)")
    median = {name: [statistics.median(run[k] for run in runs) for k in range(len(runs[0]))]
              for name, runs in times.items()}
    idle = median["alone"][0]
    default = median[SCENARIOS[0]][0]
    print("| scenario | seconds per fit | ratio | bound |")
    print("|---|---|---|---|")
    print(f"| {SCENARIOS[0]} | {default:.2f} | | |")
    verdict = "ok" if idle / default <= IDLE_BOUND else "OVER"
    print(f"| alone | {idle:.2f} | {idle / default:.2f} (to n_jobs=-1) | "
          f"{IDLE_BOUND} ({verdict}) |")
    rows = [dict(scenario=SCENARIOS[0], seconds=[default], ratio=None, bound=None),
            dict(scenario="alone", seconds=[idle], ratio=idle / default, bound=IDLE_BOUND)]
    for name, bound in BOUNDS.items():
        worst = max(median[name])
        shown = " / ".join(f"{s:.2f}" for s in median[name])
        verdict = "ok" if worst / idle <= bound else "OVER"
        print(f"| {name} | {shown} | {worst / idle:.2f} (to alone) | {bound} ({verdict}) |")
        rows.append(dict(scenario=name, seconds=median[name], ratio=worst / idle, bound=bound))
    if args.n_jobs is None and args.threads is None and args.spin is None:
        write_results("under_load", [dict(r, workload=args.workload, repeats=args.repeats,
                                          key=f"{args.workload} | {r['scenario']}")
                                     for r in rows], default_directory())


if __name__ == "__main__":
    main()
