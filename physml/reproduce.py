"""Reproductions as code: the studies behind ``physml reproduce ...`` and ``benchmarks/``."""

import statistics
import time
from collections.abc import Callable
from typing import NamedTuple

import torch

from .datasets import make_harmonic_oscillator, make_pendulum
from .diagnostics import convergence_test
from .metrics import check_continuity
from .odenet import KnownVectorField, ODENetForecaster
from .strategies import Causal

__all__ = ["continuity_study", "continuity_table", "plot_continuity", "FailureMode",
           "PaperErrors", "HardCase", "FAILURE_MODES", "failure_mode_runs", "failure_mode_rows",
           "failure_mode_table", "plot_failure_modes", "HARD_CASES", "ABLATIONS",
           "hard_case_fit", "hard_case_table", "published_table", "ablation_table",
           "plot_ablation", "plot_causal_weights"]


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

    The setup of Queiruga et al. (2020, "Continuous-in-depth neural networks"): 8
    trajectories on ``t in [0, 20]`` sampled every ``dt``; ``G`` is 2 -> 50 -> 2 tanh in
    float64, trained with Adam (lr 1e-3) on the one-step loss; the test forecasts a new
    initial state over ``t in [0, 10]``. The exact vector field, integrated with RK4, is
    the reference row.

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
    from .plotting import _finished, _pyplot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4.5))
    for result in results.values():
        ax.loglog(result.steps, result.errors, "o-", label=result.label)
    ax.axvline(results["exact"].training_step, color="0.5", ls=":", lw=1, label="training step")
    ax.set_xlabel("inference step")
    ax.set_ylabel("relative L2 error of the forecast")
    ax.set_title(title or "convergence test")
    ax.legend(fontsize=8)
    return _finished(fig, path)


# --------------------------------------------------------------------------------------
# PINN failure modes (Krishnapriyan et al., NeurIPS 2021, Tables 1-3)

def _convection(value):
    from .pde import Convection

    return Convection(beta=value)


def _reaction(value):
    from .pde import Reaction

    return Reaction(rho=value)


def _reaction_diffusion(value):
    from .pde import ReactionDiffusion

    return ReactionDiffusion(nu=value, rho=5.0)


class PaperErrors(NamedTuple):
    """One row of a paper's table: the relative L2 errors it reports."""

    standard: float
    fix: float


class FailureMode(NamedTuple):
    """One of Krishnapriyan et al.'s (2021) tables.

    The fix cells are ``PINNRegressor(pde=make(value), strategy=fix, random_state=seed)``
    and nothing else; the standard cells use the paper's own settings,
    :data:`physml.strategies.PAPER_SETTINGS`."""

    make: Callable  #: the equation at a value of the swept coefficient
    coefficient: str  #: the swept coefficient
    fix: str  #: the paper's fix, a strategy name
    paper: dict  #: {value: PaperErrors}


def _rows(table):
    return {value: PaperErrors(*errors) for value, errors in table.items()}


FAILURE_MODES = {
    "convection": FailureMode(_convection, "beta", "curriculum", _rows(
        {20.0: (7.50e-1, 9.84e-3), 30.0: (8.97e-1, 2.02e-2), 40.0: (9.61e-1, 5.33e-2)})),
    "reaction": FailureMode(_reaction, "rho", "seq2seq", _rows(
        {5.0: (9.79e-1, 7.09e-2), 6.0: (9.88e-1, 7.78e-2), 7.0: (9.92e-1, 7.56e-2),
         8.0: (9.94e-1, 7.44e-2), 9.0: (9.95e-1, 8.63e-2), 10.0: (9.96e-1, 7.47e-2)})),
    "reaction-diffusion": FailureMode(_reaction_diffusion, "nu", "seq2seq", _rows(
        {2.0: (5.07e-1, 1.18e-2), 3.0: (7.98e-1, 1.56e-2), 4.0: (8.84e-1, 1.59e-2),
         5.0: (9.35e-1, 2.39e-2), 6.0: (9.60e-1, 2.69e-2)})),
}

#: ``--quick``: one case per system, a quarter of the iterations.
QUICK_CASES = {"convection": [20.0], "reaction": [5.0], "reaction-diffusion": [2.0]}


def failure_mode_runs(system, values=None, seeds=1, strategies=("standard", "fix"),
                      budget=1.0, n_jobs=1, threads=None, verbose=0, on_run=None,
                      first_seed=0):
    """Fit the standard PINN and the paper's fix for each value of the swept coefficient.

    Parameters
    ----------
    system : {"convection", "reaction", "reaction-diffusion"}
    values : sequence of float, default=None
        Coefficient values; the paper's table rows when None.
    seeds : int, default=1
        Seeds ``first_seed .. first_seed + seeds - 1`` per case (the network
        initialization and the collocation points).
    strategies : sequence of {"standard", "fix", "fix+lm"}
        ``"fix"`` is ``strategy="curriculum"`` for convection and ``strategy="seq2seq"``
        for the others, with the strategy's own training defaults; ``"fix+lm"`` the same
        with ``optimizer="lm"`` (Levenberg-Marquardt in every stage, after the
        curriculum's Adam warm-up); ``"standard"`` is
        the standard PINN with the paper's settings
        (:data:`physml.strategies.PAPER_SETTINGS`).
    budget : float, default=1.0
        Scales the iterations: the fix runs ``max_iter=budget`` x its strategy's default
        (``--quick`` uses 0.25); 1 sets nothing but ``pde``, ``strategy`` and
        ``random_state``.
    n_jobs : int, default=1
        Fits run in parallel through joblib (-1: one per core).
    threads : int or None, default=None
        Torch threads per fit, the estimator's ``n_jobs`` (``None``: its default, one
        thread, so a table gives the same numbers whatever ``n_jobs``).
    on_run : callable, optional
        Called with each fit's result as soon as it is available (to print progress).

    Returns
    -------
    list of dict
        One per fit: ``system``, ``value``, ``strategy``, ``seed``, ``error`` (relative
        L2 on the paper's 256 x 100 grid), ``abs_error``, ``n_iter``, ``seconds`` and the
        prediction ``u_hat`` with the grid ``X`` and exact ``u``.
    """
    from joblib import Parallel, delayed

    if system not in FAILURE_MODES:
        raise ValueError(f"system={system!r}; choose one of {sorted(FAILURE_MODES)}")
    paper = FAILURE_MODES[system].paper
    values = [float(v) for v in (values if values is not None else paper)]
    # Seed-major, so that an interrupted sweep has whole seeds.
    jobs = [(system, value, strategy, seed, budget, threads, verbose)
            for seed in range(first_seed, first_seed + seeds) for value in values
            for strategy in strategies]
    if n_jobs == 1:
        results = (_failure_mode_fit(*job) for job in jobs)
    else:
        results = Parallel(n_jobs=n_jobs, return_as="generator_unordered")(
            delayed(_failure_mode_fit)(*job) for job in jobs)
    runs = []
    for run in results:
        runs.append(run)
        if on_run is not None:
            on_run(run)
    order = {name: k for k, name in enumerate(strategies)}
    return sorted(runs, key=lambda r: (r["value"], order.get(
        "standard" if r["strategy"] == "standard" else "fix", 0), r["seed"]))


def _failure_mode_fit(system, value, strategy, seed, budget, threads, verbose):
    from sklearn.metrics import mean_absolute_error

    from .datasets import make_pde_data
    from .metrics import relative_l2_error
    from .pinn import PINNRegressor
    from .strategies import PAPER_SETTINGS, default_iter, resolve_strategy

    mode = FAILURE_MODES[system]
    make, fix_name = mode.make, mode.fix
    if strategy == "standard":
        chosen, settings = "standard", dict(PAPER_SETTINGS)
        settings["max_iter"] = max(int(round(settings["max_iter"] * budget)), 1)
    else:
        chosen, settings = fix_name, {}
        if strategy == "fix+lm":
            settings["optimizer"] = "lm"
        if budget != 1:
            defaults = resolve_strategy(fix_name).training()
            default = default_iter(defaults, settings.get("optimizer", defaults.optimizer))
            settings["max_iter"] = max(int(round(default * budget)), 1)
    pde = make(value)
    X0, u0 = pde.initial_data(256)
    X, u = make_pde_data(pde)
    start = time.perf_counter()
    est = PINNRegressor(pde=pde, strategy=chosen, random_state=seed, verbose=verbose,
                        n_jobs=threads, **settings).fit(X0, u0)
    seconds = time.perf_counter() - start
    u_hat = est.predict(X)
    return dict(system=system, value=value, seed=seed,
                strategy={"standard": "standard", "fix": fix_name}.get(
                    strategy, f"{fix_name}, optimizer=lm"),
                error=relative_l2_error(u, u_hat), abs_error=mean_absolute_error(u, u_hat),
                n_iter=est.n_iter_, seconds=seconds, X=X, u=u, u_hat=u_hat)


def failure_mode_table(runs):
    """Markdown: mean relative L2 error (spread over seeds) beside the paper's, per case."""
    system = runs[0]["system"]
    mode = FAILURE_MODES[system]
    name, paper = mode.coefficient, mode.paper
    lines = [f"| {name} | strategy | physml mean | min - max (seeds) | paper | met | "
             "seconds per fit |", "|---|---|---|---|---|---|---|"]
    for (value, strategy), group in _grouped(runs).items():
        errors = [r["error"] for r in group]
        mean = statistics.mean(errors)
        row = paper.get(value, PaperErrors(None, None))
        target = row.standard if strategy == "standard" else row.fix
        if target is None:
            met = "-"
        elif strategy == "standard":
            met = "fails, as in the paper" if mean >= 0.5 else "learns (paper: fails)"
        else:
            met = "yes" if mean <= target else "NO"
        lines.append(
            f"| {value:g} | {strategy} | {mean:.2e} | {min(errors):.2e} - {max(errors):.2e} "
            f"| {'-' if target is None else f'{target:.2e}'} | {met} | "
            f"{statistics.mean(r['seconds'] for r in group):.0f} |")
    return "\n".join(lines)


def failure_mode_rows(runs, fits_at_once=1):
    """The rows of the ``failure_modes`` results file: one per fit."""
    fields = ("system", "value", "strategy", "seed", "error", "abs_error", "n_iter",
              "seconds")
    return [dict({f: r[f] for f in fields}, fits_at_once=fits_at_once,
                 key=f"{r['system']} | {r['value']:g} | {r['strategy']} | seed {r['seed']}")
            for r in runs]


def _grouped(runs):
    groups = {}
    for run in runs:
        groups.setdefault((run["value"], run["strategy"]), []).append(run)
    return groups


def plot_failure_modes(runs, path=None):
    """Mean error against the coefficient, per strategy, beside the paper's (log scale)."""
    from .plotting import _finished, _pyplot

    plt = _pyplot()
    system = runs[0]["system"]
    name, paper = FAILURE_MODES[system].coefficient, FAILURE_MODES[system].paper
    fig, ax = plt.subplots(figsize=(5.5, 4))
    groups = _grouped(runs)
    for strategy in dict.fromkeys(s for _, s in groups):
        values = sorted(v for v, s in groups if s == strategy)
        means = [statistics.mean(r["error"] for r in groups[(v, strategy)]) for v in values]
        line, = ax.semilogy(values, means, "o-", label=f"physml {strategy}")
        published = [(v, paper[v].standard if strategy == "standard" else paper[v].fix)
                     for v in values if v in paper]
        if published:
            ax.semilogy(*zip(*published), "x--", color=line.get_color(),
                        label=f"paper {strategy}")
    ax.set_xlabel(name)
    ax.set_ylabel("relative L2 error")
    ax.set_title(system)
    ax.legend(fontsize=8)
    return _finished(fig, path)


def hardest_cases(runs):
    """For :func:`physml.plotting.plot_solutions`: the standard PINN and the fix at the
    largest coefficient value (seed 0)."""
    name = FAILURE_MODES[runs[0]["system"]].coefficient
    top = max(r["value"] for r in runs)
    return [(f"{r['system']} {name}={top:g}, {r['strategy']}", r["X"], r["u"], r["u_hat"])
            for r in runs if r["value"] == top and r["seed"] == 0]


# --------------------------------------------------------------------------------------
# Hard cases: exact constraints, causal training and adaptive sampling (issue 16)

def _allen_cahn(_=None):
    from .pde import AllenCahn

    return AllenCahn(d=1e-4)


def _burgers(_=None):
    from .pde import Burgers

    return Burgers()


class HardCase(NamedTuple):
    """One row of the hard-cases table (issue 16)."""

    make: Callable  #: the equation
    fix: str  #: the paper's fix, a strategy name
    target: float  #: the relative L2 error the causal cell must reach
    time_limit: float  #: seconds per fit on 2 cores
    published: dict  #: {source: relative L2 error}


HARD_CASES = {
    "convection beta=30": HardCase(lambda: _convection(30.0), "curriculum", 1e-3, 60, {
        "Krishnapriyan et al. 2021, curriculum": 2.02e-2}),
    "convection beta=50": HardCase(lambda: _convection(50.0), "curriculum", 1e-4, 300, {
        "PINNsFormer (ICLR 2024)": 2.7e-2,
        "Xu et al. 2025, float64 PINN": 7.2e-3,
        "Rathore et al. 2024 (beta=40), Adam+L-BFGS+NNCG": 1.94e-3}),
    "convection beta=80": HardCase(lambda: _convection(80.0), "curriculum", 1e-3, 300, {
        "Wang et al. 2023 (jaxpi), 200k Adam steps on a GPU": 6.88e-4}),
    "reaction rho=5": HardCase(lambda: _reaction(5.0), "seq2seq", 1e-2, 300, {
        "Krishnapriyan et al. 2021, seq2seq": 7.09e-2,
        "PINNsFormer (ICLR 2024)": 3.0e-2,
        "Rathore et al. 2024, Adam+L-BFGS+NNCG": 9.92e-3}),
    "allen-cahn d=1e-4": HardCase(_allen_cahn, "seq2seq", 2e-4, 300, {
        "Wang, Sankaran & Perdikaris 2022 (causal, GPU)": 1.43e-3,
        "jaxpi (hours on a GPU)": 5e-5}),
    "burgers nu=0.01/pi": HardCase(_burgers, "standard", 2e-4, 300, {
        "Raissi et al. 2019": 6.7e-4,
        "PINNacle 2024, best of 11 methods (Adam then L-BFGS)": 1.33e-2}),
}

#: The cells of the table: the estimator's parameters beside ``pde`` and ``random_state``.
HARD_VARIANTS = {
    "causal + exact": dict(strategy="causal"),  # exact constraints: the strategy's default
    "standard": dict(),
    "paper's fix": "fix",
}

#: The ablation: each fix removed in turn from the causal + exact cell.
ABLATIONS = {
    "all fixes": dict(),
    "constraints soft": dict(constraints="soft"),
    "no causal weights": dict(strategy=Causal(tolerances=(0.0,))),
    "uniform sampling": dict(sampling="uniform"),
    "L-BFGS history 100": dict(lbfgs_history_size=100),
    "float32": dict(dtype="float32"),
    "final phase 40 LM steps": dict(strategy=Causal(final_iter=40)),
    "final phase L-BFGS": dict(strategy=Causal(final_optimizer="lbfgs")),
    "4 x 50, final L-BFGS": dict(strategy=Causal(final_optimizer="lbfgs"),
                                 hidden_layer_sizes=(50, 50, 50, 50)),
    "plain MLP": dict(architecture="mlp"),
}

ABLATION_CASES = ("convection beta=50", "allen-cahn d=1e-4")


def hard_case_fit(case, variant, seed=0, budget=1.0, verbose=0, changes=None, threads=None):
    """One fit of a hard case: ``variant`` is a key of :data:`HARD_VARIANTS`, or
    ``"ablation"`` with ``changes`` (a value of :data:`ABLATIONS`) applied to the causal +
    exact cell. Returns a dict with the ``error`` (relative L2 on the 256 x 100 grid),
    ``seconds``, ``n_iter``, the grid, the prediction and the estimator."""
    make, fix = HARD_CASES[case].make, HARD_CASES[case].fix
    return _hard_case_fit(make(), case, fix, variant, seed, budget, verbose, changes, threads)


def _hard_case_fit(pde, case, fix, variant, seed, budget, verbose, changes, threads):
    from .datasets import make_pde_data
    from .metrics import relative_l2_error
    from .pinn import PINNRegressor
    from .strategies import resolve_strategy

    if variant == "ablation":
        params = dict(HARD_VARIANTS["causal + exact"])
        params.update(changes or {})
    else:
        params = HARD_VARIANTS[variant]
        params = dict(strategy=fix) if params == "fix" else dict(params)
    if budget != 1:
        strategy = resolve_strategy(params.get("strategy", "standard"))
        params["max_iter"] = max(int(round(strategy.training().max_iter * budget)), 1)
    X0, u0 = pde.initial_data(256)
    X, u = make_pde_data(pde)
    start = time.perf_counter()
    est = PINNRegressor(pde=pde, random_state=seed, verbose=verbose, n_jobs=threads,
                        **params).fit(X0, u0)
    seconds = time.perf_counter() - start
    u_hat = est.predict(X)
    return dict(case=case, variant=variant, seed=seed, error=relative_l2_error(u, u_hat),
                seconds=seconds, n_iter=est.n_iter_, X=X, u=u, u_hat=u_hat, estimator=est)


def hard_case_table(runs):
    """Markdown: per case and variant, the mean and worst error over seeds, the target
    (causal + exact cells), whether every seed met it, and the seconds per fit."""
    lines = ["| case | variant | mean | worst | seeds | target | met | seconds (mean, max) "
             "| limit |", "|---|---|---|---|---|---|---|---|---|"]
    groups = {}
    for run in runs:
        groups.setdefault((run["case"], run["variant"]), []).append(run)
    for (case, variant), group in groups.items():
        target, limit = HARD_CASES[case].target, HARD_CASES[case].time_limit
        errors = [r["error"] for r in group]
        seconds = [r["seconds"] for r in group]
        main = variant == "causal + exact"
        met = "-"
        if main:
            met = "yes" if max(errors) <= target and max(seconds) <= limit else (
                "NO (error)" if max(errors) > target else "NO (time)")
        lines.append(
            f"| {case} | {variant} | {statistics.mean(errors):.2e} | {max(errors):.2e} | "
            f"{len(group)} | {f'<= {target:.0e}' if main else '-'} | {met} | "
            f"{statistics.mean(seconds):.0f}, {max(seconds):.0f} | "
            f"{f'{limit} s' if main else '-'} |")
    return "\n".join(lines)


def published_table(cases=None):
    """Markdown: the published numbers the hard ``cases`` (default: all) are compared
    with."""
    lines = ["| case | source | relative L2 error |", "|---|---|---|"]
    for case, record in HARD_CASES.items():
        if cases is not None and case not in cases:
            continue
        for source, value in record.published.items():
            lines.append(f"| {case} | {source} | {value:.2e} |")
    return "\n".join(lines)


def ablation_table(runs):
    """Markdown: per ablation case, each fix removed in turn: error and seconds."""
    lines = ["| case | removed | error | seconds |", "|---|---|---|---|"]
    for run in runs:
        lines.append(f"| {run['case']} | {run['removed']} | {run['error']:.2e} | "
                     f"{run['seconds']:.0f} |")
    return "\n".join(lines)


def plot_ablation(runs, path=None):
    """Bar chart of the ablation (log scale), one group per case."""
    from .plotting import _finished, _pyplot

    plt = _pyplot()
    cases = list(dict.fromkeys(r["case"] for r in runs))
    fig, axes = plt.subplots(1, len(cases), figsize=(5.5 * len(cases), 4), squeeze=False)
    for ax, case in zip(axes[0], cases):
        group = [r for r in runs if r["case"] == case]
        ax.bar(range(len(group)), [r["error"] for r in group], color="C0")
        ax.set_xticks(range(len(group)), [r["removed"] for r in group], rotation=35,
                      ha="right", fontsize=8)
        ax.set_yscale("log")
        ax.axhline(HARD_CASES[case].target, color="C3", ls="--", lw=1, label="target")
        ax.set_ylabel("relative L2 error")
        ax.set_title(case)
        ax.legend(fontsize=8)
    return _finished(fig, path)


def plot_causal_weights(estimator, path=None, title=""):
    """The causal weights over training: one row per update, one column per time chunk
    (the first stage of a ``strategy="causal"`` fit)."""
    from .plotting import _finished, _pyplot

    plt = _pyplot()
    weights = estimator.stages_[0]["causal_weights"]
    fig, ax = plt.subplots(figsize=(5.5, 4))
    t0, t1 = estimator.pde.bounds[estimator.pde.time_index]
    image = ax.imshow(weights, aspect="auto", origin="lower", vmin=0, vmax=1,
                      extent=(t0, t1, 0, weights.shape[0]), cmap="viridis")
    fig.colorbar(image, ax=ax, label="causal weight")
    ax.set_xlabel("t (chunk)")
    ax.set_ylabel("update (every Causal.update_every iterations)")
    ax.set_title(title or "causal weights over training")
    return _finished(fig, path)
