"""Inverse problems: coefficients recovered from data through PINNRegressor(learn_coefficients=).

* Burgers identification (Raissi et al. 2019, Sec. 4.1.1): 2000 points sampled at random
  from the reference solution on the 256 x 100 grid, noise-free and with 1 % noise; nu
  starts at 0.05 (true 0.01/pi = 3.183e-3). Acceptance: within 5 % (noise-free) and 10 %
  (1 % noise).
* Convection: beta = 5 from 1000 interior sensors (uniform in the domain), starting from
  beta = 1. Acceptance: within 2 %.

Every fit is the bare call, ``PINNRegressor(pde=..., learn_coefficients=(name,),
random_state=0)``: the standard strategy's training defaults, the paper's 4 x 50 network
and 1000 collocation points, on one torch thread (``n_jobs=None``).

    python benchmarks/bench_inverse.py
"""

import argparse
import time

import numpy as np

from physml import PINNRegressor
from physml._results import recorded_tables
from physml.pde import Burgers, Convection


def burgers(noise):
    true = Burgers()
    rng = np.random.default_rng(0)
    X = true.grid(256, 100)[rng.choice(25600, 2000, replace=False)]
    u = true.reference_solution(X)
    u = u + noise * np.std(u) * rng.standard_normal(u.shape)
    est = PINNRegressor(pde=Burgers(nu=0.05), learn_coefficients=("nu",),
                        random_state=0).fit(X, u)
    return true.nu, est


def convection():
    true = Convection(beta=5.0)
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 2 * np.pi, 1000), rng.uniform(0, 1, 1000)])
    est = PINNRegressor(pde=Convection(beta=1.0), learn_coefficients=("beta",),
                        random_state=0).fit(X, true.reference_solution(X))
    return true.beta, est


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    print("one torch thread per fit (the estimator's default, n_jobs=None)\n")
    print("| problem | coefficient | start | true | recovered | relative error | target | "
          "met | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    ok = True
    for label, run, name, start, target in [
            ("convection, 1000 sensors", convection, "beta", 1.0, 0.02),
            ("Burgers, 2000 points, noise-free", lambda: burgers(0.0), "nu", 0.05, 0.05),
            ("Burgers, 2000 points, 1 % noise", lambda: burgers(0.01), "nu", 0.05, 0.10)]:
        t0 = time.perf_counter()
        true, est = run()
        seconds = time.perf_counter() - t0
        value = est.coefficients_[name]
        error = abs(value - true) / abs(true)
        ok &= error <= target
        print(f"| {label} | {name} | {start:g} | {true:.4g} | {value:.4g} | {error:.2%} | "
              f"{target:.0%} | {'yes' if error <= target else 'NO'} | {seconds:.0f} |",
              flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    with recorded_tables("inverse"):
        status = main()
    raise SystemExit(status)
