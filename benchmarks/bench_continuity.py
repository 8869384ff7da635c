"""ODE-Nets and the convergence test (issue: continuous models), beside the published shape.

On the harmonic oscillator and the pendulum, trained at dt = 0.5: the exact field with RK4
shows order 4; an RK4-trained ODE-Net keeps its error within 2x of its training-step error
at every finer step and scores higher on check_continuity than an Euler-trained one, whose
error grows when the step is refined. GridSearchCV over the integrator with
scoring=check_continuity selects a higher-order integrator.

    python benchmarks/bench_continuity.py [--max-iter 5000]
"""

import argparse
import time

from sklearn.model_selection import GridSearchCV

from physml import ODENetForecaster
from physml._results import recorded_tables
from physml.datasets import make_harmonic_oscillator
from physml.metrics import check_continuity
from physml.reproduce import continuity_study, continuity_table


def acceptance(results):
    exact, rk4, euler = results["exact"], results["rk4"], results["euler"]
    at_dt = rk4.steps == rk4.training_step
    finer = rk4.steps < rk4.training_step
    ratio_rk4 = float((rk4.errors[finer] / rk4.errors[at_dt]).max())
    ratio_euler = float(euler.errors[-1] / euler.errors[euler.steps == euler.training_step][0])
    checks = {
        f"exact field + RK4 fitted order {exact.order:.2f} (about 4)": abs(exact.order - 4) < 0.3,
        f"RK4-net worst finer-step error / training-step error = {ratio_rk4:.2f} (<= 2)":
            ratio_rk4 <= 2,
        f"check_continuity RK4-net {rk4.extra['score']:.2f} > Euler-net "
        f"{euler.extra['score']:.2f}": rk4.extra["score"] > euler.extra["score"],
        f"Euler-net error grows {ratio_euler:.1f}x from dt to dt/32 (> 1)": ratio_euler > 1,
    }
    for text, ok in checks.items():
        print(f"- [{'x' if ok else ' '}] {text}")
    return all(checks.values())


def grid_search(max_iter):
    X, _ = make_harmonic_oscillator(n_trajectories=8, n_timepoints=41, dt=0.5, random_state=0)
    start = time.perf_counter()
    search = GridSearchCV(ODENetForecaster(dt=0.5, max_iter=max_iter, random_state=0),
                          {"integrator": ["euler", "midpoint", "rk4"]},
                          scoring=check_continuity, cv=2).fit(X)
    scores = dict(zip([p["integrator"] for p in search.cv_results_["params"]],
                      search.cv_results_["mean_test_score"]))
    print("GridSearchCV(scoring=check_continuity) over integrator: mean scores "
          + ", ".join(f"{k} {v:.2f}" for k, v in scores.items())
          + f"; selected {search.best_params_['integrator']!r} "
          f"({time.perf_counter() - start:.0f} s)")
    return search.best_params_["integrator"] != "euler"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-iter", type=int, default=5000)
    args = parser.parse_args(argv)
    ok = True
    for system in ("harmonic_oscillator", "pendulum"):
        results = continuity_study(system, max_iter=args.max_iter)
        print(f"\n### {system}, trained at dt = 0.5\n")
        print(continuity_table(results))
        print()
        ok &= acceptance(results)
    print()
    ok &= grid_search(args.max_iter)
    print(f"\nall acceptance checks met: {ok}")
    return ok


if __name__ == "__main__":
    with recorded_tables("continuity_benchmark"):
        main()
