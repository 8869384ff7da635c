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
random_state=0)``), or ``readme``, the README's first example shortened to a 0.1 budget.
Each time is the fit's own wall time (``fit`` alone, imports excluded), as reported by the
fitting process. ``--threads`` passes ``OMP_NUM_THREADS`` to the fits (default: unset, as
a new user runs them). The ratio of each loaded time to the idle one is printed beside
the bound.

    python benchmarks/bench_under_load.py [--workload pinn] [--repeats 2] [--threads N]

Measured on this project's 2-core machine (``--repeats 1``): with torch's default 2
threads, alone 9.3 s, two fits 30.9 s each (3.3x), at ``nice -n 10`` beside a busy process
393 s (42x: a thread sharing its core at low priority holds the other spinning at
torch's OpenMP barrier after every operation). With ``--threads 1`` (``OMP_NUM_THREADS=1``
from the start): alone 9.4 s, two fits 1.1x, nice beside busy 0.98x. The thread policy
that meets all three bounds of issue #17 (idle time within 5 % of today's) is still to
be chosen.
"""

import argparse
import json
import os
import subprocess
import sys
import time


def fit_once(workload):
    """Run one fit in this process; print its seconds as JSON."""
    import torch

    from physml import PINNRegressor
    from physml.pde import Convection

    threads_before = torch.get_num_threads()
    if workload == "pinn":
        pde, params = Convection(beta=1.0), dict(max_iter=400)
    else:
        pde, params = Convection(beta=30.0), dict(strategy="curriculum", max_iter=200)
    X0, u0 = pde.initial_data(256)
    start = time.perf_counter()
    PINNRegressor(pde=pde, random_state=0, **params).fit(X0, u0)
    seconds = time.perf_counter() - start
    print(json.dumps({"seconds": seconds, "threads": threads_before,
                      "threads_after": torch.get_num_threads()}))


def _spawn(workload, env, nice=0):
    command = [sys.executable, __file__, "--fit", workload]
    if nice:
        command = ["nice", "-n", str(nice), *command]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def _seconds(process):
    out, _ = process.communicate()
    return json.loads(out.strip().splitlines()[-1])["seconds"]


BUSY = "import time\nend = time.time() + {limit}\nwhile time.time() < end:\n    pass\n"


def scenario(name, workload, env):
    if name == "alone":
        return [_seconds(_spawn(workload, env))]
    if name == "two fits":
        first, second = _spawn(workload, env), _spawn(workload, env)
        return [_seconds(first), _seconds(second)]
    busy = subprocess.Popen([sys.executable, "-c", BUSY.format(limit=3600)])
    try:
        time.sleep(0.5)
        return [_seconds(_spawn(workload, env, nice=10))]
    finally:
        busy.kill()
        busy.wait()


BOUNDS = {"two fits": 2.3, "nice beside busy": 3.0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("pinn", "readme"), default="pinn")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None,
                        help="OMP_NUM_THREADS for the fits (default: unset)")
    parser.add_argument("--fit", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.fit:
        fit_once(args.fit)
        return
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    env = dict(os.environ)
    env.pop("OMP_NUM_THREADS", None)
    if args.threads:
        env["OMP_NUM_THREADS"] = str(args.threads)
    print(f"workload {args.workload}, {os.cpu_count()} cores, OMP_NUM_THREADS="
          f"{env.get('OMP_NUM_THREADS', 'unset')}, best of {args.repeats}")
    times = {}
    for _ in range(args.repeats):  # interleaved, so drift hits every scenario alike
        for name in ("alone", "two fits", "nice beside busy"):
            seconds = scenario(name, args.workload, env)
            best = times.get(name)
            times[name] = seconds if best is None or max(seconds) < max(best) else best
    idle = times["alone"][0]
    print(f"| scenario | seconds per fit | ratio to alone | bound |")
    print("|---|---|---|---|")
    print(f"| alone | {idle:.2f} | 1.00 | |")
    for name in ("two fits", "nice beside busy"):
        worst = max(times[name])
        shown = " / ".join(f"{s:.2f}" for s in times[name])
        verdict = "ok" if worst / idle <= BOUNDS[name] else "OVER"
        print(f"| {name} | {shown} | {worst / idle:.2f} | {BOUNDS[name]} ({verdict}) |")


if __name__ == "__main__":
    main()
