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

Measured on this project's 2-core machine:

* Session 21, the network's and L-BFGS's products on MKL's threads in the layouts MKL
  rounds as on one thread (tried once per layout; the fit's bits unchanged), the two
  idle scenarios swapping places every other round: ``--repeats 7`` alone 5.41 s
  against 5.74 s with ``n_jobs=-1`` (0.94x), two fits 6.28 / 6.18 s (1.16x), nice
  beside busy 6.02 s (1.11x); ``--workload large --repeats 4``: alone 11.63 s against
  11.28 s (1.03x), two fits 15.74 / 15.62 s (1.35x), nice beside busy 15.06 s (1.30x).
  Earlier runs of the same code that session, in a fixed order (``--repeats`` 3 to 5):
  idle 1.03x, 0.83x, 1.19x (small) and 0.99x, 1.06x, 1.13x (large), so the idle ratio
  is within this VM's noise; warm in one process (development runs, 5 to 8 fits of
  each) 0.97x and 0.99x. Trying the layouts costs about 0.03 s (small) and 0.15 s
  (large) of a fresh process's fit.
* Session 14, the default following the load, MKL on one thread in every product
  (``--repeats 5``): alone 5.69 s against 5.20
  s with ``n_jobs=-1`` (1.10x), two fits 6.93 / 6.57 s (1.22x), nice beside busy 6.44 s
  (1.13x); ``--workload large --repeats 2``: alone 13.17 s against 10.65 s (1.24x), two
  fits 17.42 / 17.24 s (1.32x), nice beside busy 15.26 s (1.16x). The idle cost left is
  MKL kept to one thread (development runs, fresh processes: the same policy with MKL
  following took 5.11 s and 11.06 s, against 5.45 s and 14.48 s with MKL on one thread
  and 5.33 s and 10.75 s with ``n_jobs=-1``), which keeps a fit's bits the same on any
  thread count. Session 18 tried keeping the bits with MKL following torch's count and
  only L-BFGS's dot products (which MKL splits across threads) on one thread: a float64
  product of 20 x 264 by 264 x 19 in the causal fit's float64 phase still rounded
  differently on two threads, and 218 of 4,352 random matrix shapes did (float32
  included; development checks). Not adopted: a fit's result would depend on the load
  it met. Before, one thread always:

* Torch's defaults (2 threads, libgomp's 300,000-round spin; session 9, ``--repeats 1``):
  alone 9.3 s, two fits 3.3x, nice beside busy 42x (393 s: a thread sharing its core at
  low priority holds the other spinning at torch's OpenMP barrier after every operation).
* One thread, physml's default in sessions 12 and 13 (``--repeats 5``): alone 10.14 s against
  9.45 s with ``n_jobs=-1`` (1.07x), two fits 10.41 / 10.07 s (1.03x), nice beside busy
  10.94 s (1.08x). Session 13 (after the L-BFGS fix, which leaves this fit's number of
  loss evaluations as it was): alone 6.05 s against 5.18 s (1.17x), two fits 6.40 / 6.42
  s (1.06x), nice beside busy 6.17 s (1.02x); the old code took 6.6 s that session (a
  development run beside CI), so the VM, not the code, moved the seconds. The same
  comparison through ``OMP_NUM_THREADS=1`` in session 11: alone 1.03x, two fits 1.04x,
  nice 1.05x. A profile of this fit puts the second thread's gain in ``tanh`` over the
  collocation points (0.80 s against 0.47 s of 9.3 s); matrix products and L-BFGS's
  history products gain little (at 10,000 points MKL's products do gain: see session
  14 above). ``--workload large``: one thread
  (``--repeats 3``) alone 23.15 s against 16.22 s with ``n_jobs=-1`` (1.43x), two fits
  24.74 / 25.01 s (1.08x), nice beside busy 22.91 s (0.99x); two threads (``--n-jobs -1
  --repeats 2``) alone 13.94 s, two fits 59.33 / 58.70 s (4.26x), nice beside busy
  169.50 s (12.2x). One thread keeps every loaded case fair at both sizes; the idle
  bound holds for neither size in these runs (1.07x, 1.43x). The recurrent networks and
  ContinuousNet train as fast on one thread as on two (session 11, development runs of
  2 fits each: LEM 7.3 s against 6.6-7.3 s, ContinuousNet 13.2-14.2 s against 13.2-13.6
  s, Lipschitz RNN 4.0-4.3 s against 4.7-4.8 s, ODE-Net 1.36-1.38 s against 1.40-1.78 s).
* ``--spin 1000`` (session 11, ``--repeats 5``, 2 threads): alone 0.99x, two fits 1.76x,
  nice beside busy 1.70x for this PINN. But the spin is read once per process, as torch
  loads, and it slows every other fine-grained workload on 2 threads: a
  ``LEMClassifier(max_iter=2)`` fit on sequential digits 9.5-10.4 s against 6.6-7.3 s,
  ``ContinuousNetClassifier(max_iter=2)`` on 8 x 8 digits 20.8-30.5 s against 13.2-13.6
  s. Not adopted. Other spins for this PINN (median of 10 idle fits against 10 with the
  defaults, best of 2 loaded rounds): 100 rounds about 20 % slower idle (loaded 1.1x /
  1.0x); 3,000 rounds 2.1x / 2.0x; 10,000 rounds 4.9x / 5.0x.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time


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
    for name, bound in BOUNDS.items():
        worst = max(median[name])
        shown = " / ".join(f"{s:.2f}" for s in median[name])
        verdict = "ok" if worst / idle <= bound else "OVER"
        print(f"| {name} | {shown} | {worst / idle:.2f} (to alone) | {bound} ({verdict}) |")


if __name__ == "__main__":
    main()
