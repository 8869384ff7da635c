"""Reproductions as code: the studies behind ``physml reproduce ...`` and ``benchmarks/``."""

import time

import torch

from .datasets import make_harmonic_oscillator, make_pendulum
from .diagnostics import convergence_test
from .metrics import check_continuity
from .odenet import KnownVectorField, ODENetForecaster


def _oscillator_field(x):
    return torch.stack([x[:, 1], -x[:, 0]], 1)


def _pendulum_field(x):
    return torch.stack([x[:, 1], -torch.sin(x[:, 0])], 1)


SYSTEMS = {
    # name: (data maker, exact field)
    "harmonic_oscillator": (make_harmonic_oscillator, _oscillator_field),
    "pendulum": (make_pendulum, _pendulum_field),
}

def continuity_study(system="harmonic_oscillator", integrators=("euler", "midpoint", "rk4"),
                     dt=0.5, max_iter=5000, random_state=0, verbose=0):
    """Train one ODE-Net per integrator at ``dt`` and run the convergence test on each.

    The setup of Queiruga et al. (2020) as summarized in REFERENCE.md: 8 trajectories on
    ``t in [0, 20]`` sampled every ``dt``; ``G`` is 2 -> 50 -> 2 tanh in float64, trained
    with Adam (lr 1e-3) on the one-step loss; the test forecasts a new initial state over
    ``t in [0, 10]``. The exact vector field, integrated with RK4, is the reference row.

    Returns
    -------
    dict
        ``{"exact": ConvergenceTest, integrator: ConvergenceTest, ...}``; each result's
        ``extra`` holds the training loss, the ``check_continuity`` score and the seconds.
    """
    make, field = SYSTEMS[system]
    n_train = int(round(20 / dt)) + 1
    X, _ = make(n_trajectories=8, n_timepoints=n_train, dt=dt, random_state=random_state)
    X_test, _ = make(n_trajectories=1, n_timepoints=int(round(10 / dt)) + 1, dt=dt,
                     random_state=random_state + 1)
    exact = KnownVectorField(field, X.shape[-1], dt=dt, integrator="rk4")
    results = {"exact": convergence_test(exact, X_test, label="exact field, rk4")}
    results["exact"].extra.update(score=check_continuity(exact, X_test), loss=0.0, seconds=0.0)
    for name in integrators:
        start = time.perf_counter()
        est = ODENetForecaster(integrator=name, dt=dt, hidden_layer_sizes=(50,),
                               max_iter=max_iter, learning_rate=1e-3,
                               random_state=random_state, verbose=verbose).fit(X)
        seconds = time.perf_counter() - start
        result = convergence_test(est, X_test, label=f"{name}-trained net")
        result.extra.update(score=check_continuity(est, X_test), seconds=seconds,
                            loss=est.history_["loss"][-1], estimator=est)
        results[name] = result
    return results


def continuity_table(results):
    """Markdown: error against the data at each inference step, per model."""
    steps = results["exact"].steps
    dt = results["exact"].training_step
    head = " | ".join(_step_label(h, dt) for h in steps)
    lines = [f"| model | {head} | fitted order | check_continuity | final loss | seconds |",
             "|---|" + "---|" * (len(steps) + 4)]
    for result in results.values():
        errors = " | ".join(f"{e:.2e}" for e in result.errors)
        lines.append(
            f"| {result.label} | {errors} | {result.order:.2f} | {result.extra['score']:.2f} | "
            f"{result.extra['loss']:.1e} | {result.extra['seconds']:.1f} |")
    return "\n".join(lines)


def _step_label(h, dt):
    ratio = h / dt
    return f"{ratio:g}dt" if ratio >= 1 else f"dt/{1 / ratio:g}"


def plot_continuity(results, path=None, title=""):
    """Error against the inference step, log-log, one line per model (the paper's figure)."""
    from .plotting import _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for result in results.values():
        ax.loglog(result.steps, result.errors, "o-", label=result.label)
    ax.axvline(results["exact"].training_step, color="0.5", ls=":", lw=1, label="training step")
    ax.set_xlabel("inference step")
    ax.set_ylabel("relative L2 error of the forecast")
    ax.set_title(title or "convergence test")
    ax.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
