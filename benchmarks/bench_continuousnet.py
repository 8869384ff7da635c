"""ContinuousNet on sklearn's digits: accuracy, the convergence test over depth, compression.

Queiruga et al. (2020) train a ResNet whose weights are functions of depth and show that
(1) an RK4-trained network keeps its accuracy when run with more steps than it was trained
with, while an Euler-trained one need not, and (2) an L2 projection onto half the basis
functions keeps the accuracy and halves the block's parameters (their CIFAR-10 result:
16 -> 8 functions, 92.7 %). Here on sklearn's 8 x 8 digits (held-out 25 %, stratified),
the estimator's defaults: 8 channels, 8 piecewise-constant basis functions, 8 steps,
AdamW lr 3e-3 with a cosine schedule, 15 epochs, batch 32, one torch thread.

    python benchmarks/bench_continuousnet.py
"""

import argparse
import time

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from physml import ContinuousNetClassifier
from physml._results import recorded_tables
from physml.diagnostics import depth_convergence_test
from physml.metrics import check_continuity


def timed_predict(est, X, repeats=5):
    est.predict(X)
    start = time.perf_counter()
    for _ in range(repeats):
        est.predict(X)
    return (time.perf_counter() - start) / repeats


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.parse_args(argv)
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                        random_state=0)
    print(f"digits: {len(y_train)} train, {len(y_test)} test; one torch thread per fit\n")
    n_steps = [4, 8, 16, 32]
    print("Convergence test: test accuracy (%) against the number of depth steps "
          "(trained with 8)\n")
    print("| trained with | " + " | ".join(f"n_steps={n}" for n in n_steps)
          + " | check_continuity | train s |")
    print("|---|" + "---|" * (len(n_steps) + 2))
    fitted = {}
    for integrator in ("euler", "midpoint", "rk4"):
        start = time.perf_counter()
        est = ContinuousNetClassifier(image_shape=(1, 8, 8), integrator=integrator,
                                      random_state=0).fit(X_train, y_train)
        seconds = time.perf_counter() - start
        result = depth_convergence_test(est, X_test, y_test, n_steps)
        accuracy = dict(zip(result.extra["n_steps"], result.extra["accuracy"]))
        fitted[integrator] = (est, accuracy, seconds)
        print(f"| {integrator} | " + " | ".join(f"{100 * accuracy[n]:.2f}" for n in n_steps)
              + f" | {check_continuity(est, X_test, y_test):.2f} | {seconds:.0f} |",
              flush=True)

    est, accuracy, seconds = fitted["rk4"]
    full = (accuracy[8], est.n_parameters(), timed_predict(est, X_test))
    est.project(est.n_basis // 2)
    projected_8 = est.score(X_test, y_test)
    est.set_params(n_steps=4)
    projected = (est.score(X_test, y_test), est.n_parameters(), timed_predict(est, X_test))
    print("\nCompression of the RK4-trained network (L2 projection, no retraining)\n")
    print("| model | basis functions | n_steps | parameters | test accuracy (%) | "
          "inference ms (450 digits) |")
    print("|---|---|---|---|---|---|")
    print(f"| trained | 8 | 8 | {full[1]} | {100 * full[0]:.2f} | {1e3 * full[2]:.1f} |")
    print(f"| projected | 4 | 8 | {projected[1]} | {100 * projected_8:.2f} | - |")
    print(f"| projected | 4 | 4 | {projected[1]} | {100 * projected[0]:.2f} | "
          f"{1e3 * projected[2]:.1f} |")
    print(f"\nparameters {full[1]} -> {projected[1]} ({projected[1] / full[1]:.2f}x); "
          f"inference speed-up {full[2] / projected[2]:.2f}x")

    checks = [
        ("RK4-trained accuracy >= 97 %", accuracy[8] >= 0.97),
        ("RK4-trained within 1 point at n_steps 16 and 32",
         max(abs(accuracy[n] - accuracy[8]) for n in (16, 32)) <= 0.01),
        ("projection to half the basis within 1 point",
         abs(projected_8 - full[0]) <= 0.01),
        ("each training <= 5 minutes", max(f[2] for f in fitted.values()) <= 300),
    ]
    print()
    for name, ok in checks:
        print(f"[{'met' if ok else 'NOT MET'}] {name}")
    e_acc = fitted["euler"][1]
    print(f"Euler-trained (reported as it is): {100 * e_acc[8]:.2f} % at its 8 steps, "
          f"{100 * e_acc[32]:.2f} % at 32.")
    return 0 if all(ok for _, ok in checks) else 1


if __name__ == "__main__":
    with recorded_tables("continuousnet"):
        status = main()
    raise SystemExit(status)
