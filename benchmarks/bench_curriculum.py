"""Curriculum regularization on convection (Krishnapriyan et al. 2021, Table 1), in progress.

The paper's network and 1000 collocation points; our recipe per stage: float64, 1000 Adam
steps (lr 1e-3) then 1000 L-BFGS iterations with tolerances 0, stages beta = 1, 5, 10, ...

    python benchmarks/bench_curriculum.py [--betas 20 30 40] [--seeds 1]
"""

import argparse
import statistics
import time

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import Convection
from physml.strategies import Curriculum

PAPER = {20.0: 9.84e-3, 30.0: 2.02e-2, 40.0: 5.33e-2, 50.0: None}
RECIPE = dict(dtype="float64", optimizer="adam+lbfgs", warmup_iter=1000, max_iter=1000, tol=0.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--betas", type=float, nargs="*", default=[20.0, 30.0, 40.0])
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)
    print("| beta | physml curriculum (mean) | seeds | paper | seconds per fit |")
    print("|---|---|---|---|---|")
    for beta in args.betas:
        pde = Convection(beta=beta)
        X0, u0 = pde.initial_data(256)
        X, u = make_pde_data(pde)
        errors, seconds = [], []
        for seed in range(args.seeds):
            start = time.perf_counter()
            est = PINNRegressor(pde=pde, strategy=Curriculum(step=5.0), random_state=seed,
                                **RECIPE).fit(X0, u0)
            seconds.append(time.perf_counter() - start)
            errors.append(relative_l2_error(u, est.predict(X)))
        paper = PAPER.get(beta)
        print(f"| {beta:g} | {statistics.mean(errors):.2e} | "
              f"{', '.join(f'{e:.2e}' for e in errors)} | "
              f"{'-' if paper is None else f'{paper:.2e}'} | {statistics.mean(seconds):.0f} |",
              flush=True)


if __name__ == "__main__":
    main()
