"""Time one L-BFGS evaluation (loss + gradient) of physml's PINN trainer against plain PyTorch.

The plain way is what one writes from the paper: separate forward passes for collocation,
initial and boundary points, ``torch.autograd.grad(u, X, create_graph=True)`` for the input
derivatives (twice for ``u_xx``), then ``loss.backward()``. Ours is the closure that
``PINNRegressor`` hands to L-BFGS. Both run on the same network, points and dtype in the
same process, interleaved, and must agree on the loss and the gradient.

    python benchmarks/bench_speed.py [--repeats 15] [--dtype float32] [--threads 1]

``--threads`` defaults to one, what a fit runs on by default (``n_jobs=None``).
"""

import argparse
import statistics
import time

import torch

from physml import PINNRegressor
from physml._problem import _compiled
from physml._results import recorded_tables
from physml.pde import Burgers, Convection, Reaction, ReactionDiffusion
from physml.strategies import Standard


def problem_for(pde, dtype, n_collocation=1000):
    X0, u0 = pde.initial_data(256)
    est = PINNRegressor(pde=pde, dtype=dtype, n_collocation=n_collocation, max_iter=0,
                        random_state=0).fit(X0, u0)
    problem = est._problem(pde, X0, u0, est._training_settings(Standard()))
    return est, problem


def plain_closure(pde, network, X_c, t_b, X_obs, y_obs):
    """The straightforward PyTorch PINN loss: autograd.grad with create_graph."""
    (x0, x1), _ = pde.domain
    X_left = torch.stack([torch.full_like(t_b, x0), t_b], 1)
    X_right = torch.stack([torch.full_like(t_b, x1), t_b], 1)
    coefficients = pde.coefficients
    second_order = "u_xx" in pde.derivatives

    def closure():
        network.zero_grad()
        X = X_c.clone().requires_grad_(True)
        u = network(X)
        grad = torch.autograd.grad(u, X, torch.ones_like(u), create_graph=True)[0]
        d = {"u_x": grad[:, 0], "u_t": grad[:, 1]}
        if second_order:
            d["u_xx"] = torch.autograd.grad(d["u_x"], X, torch.ones_like(d["u_x"]),
                                            create_graph=True)[0][:, 0]
        r = pde.residual(X, u[:, 0], d, coefficients)
        if pde.periodic:
            left, right = X_left.clone().requires_grad_(True), X_right.clone().requires_grad_(True)
            u_left, u_right = network(left), network(right)
            boundary = ((u_left - u_right) ** 2).mean()
            if second_order:
                g_left = torch.autograd.grad(u_left, left, torch.ones_like(u_left),
                                             create_graph=True)[0][:, 0]
                g_right = torch.autograd.grad(u_right, right, torch.ones_like(u_right),
                                              create_graph=True)[0][:, 0]
                boundary = boundary + ((g_left - g_right) ** 2).mean()
        else:
            boundary = (network(X_left) ** 2).mean() + (network(X_right) ** 2).mean()
        loss = (((network(X_obs)[:, 0] - y_obs) ** 2).mean() + boundary + (r ** 2).mean())
        loss.backward()
        return loss

    return closure


def ours_closure(problem, pde, compile=False):
    loss_terms = problem.loss(pde, pde.domain, problem.X_obs, problem.y_obs,
                                    problem.config.n_collocation)
    if compile:
        loss_terms = _compiled(loss_terms)
    parameters = list(problem.network.parameters())

    def closure():
        for p in parameters:
            p.grad = None
        loss = sum(loss_terms().values())
        loss.backward()
        return loss

    return closure, loss_terms


def gradients(network):
    return torch.cat([p.grad.reshape(-1) for p in network.parameters()])


def time_closures(closures, repeats, inner=20):
    times = {name: [] for name in closures}
    for _ in range(repeats):
        for name, closure in closures.items():
            start = time.perf_counter()
            for _ in range(inner):
                closure()
            times[name].append((time.perf_counter() - start) / inner)
    return {name: statistics.median(t) for name, t in times.items()}


def bench(pde, dtype, repeats, compile=False):
    est, problem = problem_for(pde, dtype)
    # Draw ours' collocation points, then the very same ones again for the plain loop.
    problem.generator.manual_seed(0)
    ours, _ = ours_closure(problem, pde)
    problem.generator.manual_seed(0)
    X_c = problem.collocation_points(pde.domain, est.n_collocation)
    t_b = torch.linspace(*pde.domain[1], est.n_boundary, dtype=X_c.dtype)
    plain = plain_closure(pde, problem.network, X_c, t_b, problem.X_obs, problem.y_obs[:, 0])
    loss_ours = float(ours().detach())
    g_ours = gradients(problem.network)
    loss_plain = float(plain().detach())
    g_plain = gradients(problem.network)
    tol = 1e-4 if dtype == "float32" else 1e-10
    assert abs(loss_ours - loss_plain) <= tol * abs(loss_plain), (loss_ours, loss_plain)
    scale = g_plain.abs().max()
    assert float((g_ours - g_plain).abs().max() / scale) < 10 * tol, "gradients differ"
    closures = {"plain": plain, "physml": ours}
    if compile:
        problem.generator.manual_seed(0)
        compiled, _ = ours_closure(problem, pde, compile=True)
        start = time.perf_counter()
        compiled()
        compiled()  # the first backward compiles the backward graph
        closures["compiled"] = compiled
        print(f"  ({type(pde).__name__}: compiling took {time.perf_counter() - start:.0f} s)",
              flush=True)
        compiled()
        g_compiled = gradients(problem.network)
        assert float((g_compiled - g_plain).abs().max() / scale) < 10 * tol
    return time_closures(closures, repeats)


def bench_lbfgs(dtype, iterations=300, repeats=3):
    """The optimizer's own ms per L-BFGS iteration (history 100, strong Wolfe) on the
    convection PINN loss, its time less that of the loss evaluations:
    ``torch.optim.LBFGS`` (two-loop recursion) against physml's compact form, from the
    same start; with the loss evaluations per iteration and the loss each reaches.

    The two keep different curvature pairs (physml when ``s . y`` is positive relative to
    ``|s| |y|``, torch when it is above 1e-10), so their paths part and so does the number
    of line-search evaluations per iteration: the time net of the evaluations compares
    the implementations."""
    from physml._lbfgs import LBFGS

    pde = Convection(beta=30.0)
    est, problem = problem_for(pde, dtype)
    ours, _ = ours_closure(problem, pde)
    start = [p.detach().clone() for p in problem.network.parameters()]
    spent = {"seconds": 0.0, "calls": 0}

    def timed():
        begin = time.perf_counter()
        loss = ours()
        spent["seconds"] += time.perf_counter() - begin
        spent["calls"] += 1
        return loss

    rows = {}
    for _ in range(repeats):
        for name, cls in (("torch.optim.LBFGS", torch.optim.LBFGS), ("physml LBFGS", LBFGS)):
            with torch.no_grad():
                for p, p0 in zip(problem.network.parameters(), start):
                    p.copy_(p0)
            opt = cls(list(problem.network.parameters()), lr=1.0, max_iter=iterations,
                      max_eval=25 * iterations, history_size=100, tolerance_grad=0.0,
                      tolerance_change=0.0, line_search_fn="strong_wolfe")
            spent.update(seconds=0.0, calls=0)
            begin = time.perf_counter()
            opt.step(timed)
            elapsed = time.perf_counter() - begin
            n_iter = opt.state[next(problem.network.parameters())]["n_iter"]
            row = dict(total=1e3 * elapsed / n_iter,
                       own=1e3 * (elapsed - spent["seconds"]) / n_iter,
                       evaluations=spent["calls"] / n_iter, loss=float(ours().detach()))
            if name not in rows or row["own"] < rows[name]["own"]:
                rows[name] = row
    return rows


def bench_fit(iterations=500, repeats=3, history_size=50):
    """Seconds per L-BFGS iteration of a whole fit, as a user runs each: the bare
    ``PINNRegressor(pde, optimizer="lbfgs", strategy=Standard(early_dtype=None),
    dtype="float32")`` (threads as ``n_jobs=None`` chooses) against the paper's loop,
    ``torch.optim.LBFGS(lr=1, history_size=50, line_search_fn="strong_wolfe")`` on the
    plain closure (torch's default threads), convection beta = 30, 4 x 50 tanh, 1000
    collocation points, tolerances 0 so both spend ``iterations``. The best of
    ``repeats``, alternated."""
    pde = Convection(beta=30.0)
    X0, u0 = pde.initial_data(256)
    params = dict(pde=pde, strategy=Standard(early_dtype=None), optimizer="lbfgs",
                  dtype="float32", max_iter=iterations, tol=0.0,
                  lbfgs_history_size=history_size, n_collocation=1000, random_state=0)
    est, problem = problem_for(pde, "float32")
    X_c = problem.collocation_points(pde.domain, 1000)
    t_b = torch.linspace(*pde.domain[1], 100, dtype=X_c.dtype)
    best = {"physml": float("inf"), "plain": float("inf")}
    for _ in range(repeats):
        begin = time.perf_counter()
        fitted = PINNRegressor(**params).fit(X0, u0)
        best["physml"] = min(best["physml"], (time.perf_counter() - begin) / fitted.n_iter_)
        network = est._problem(pde, X0, u0, est._training_settings(Standard())).network
        closure = plain_closure(pde, network, X_c, t_b, problem.X_obs, problem.y_obs[:, 0])
        opt = torch.optim.LBFGS(network.parameters(), lr=1.0, max_iter=iterations,
                                max_eval=25 * iterations, history_size=history_size,
                                tolerance_grad=0.0, tolerance_change=0.0,
                                line_search_fn="strong_wolfe")
        begin = time.perf_counter()
        opt.step(closure)
        n_iter = opt.state[next(network.parameters())]["n_iter"]
        best["plain"] = min(best["plain"], (time.perf_counter() - begin) / n_iter)
    return best


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the torch.compile column (it needs a C++ compiler)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads of the per-evaluation tables (the whole-fit "
                             "comparison runs each side as a user would)")
    parser.add_argument("--fit-only", action="store_true",
                        help="only the whole-fit comparison")
    args = parser.parse_args(argv)
    default_threads = torch.get_num_threads()
    if args.fit_only:
        return {"fit": _print_fit(bench_fit())}
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.dtype}, "
          "4 x 50 tanh, 1000 collocation + 256 initial + 2 x 100 boundary points\n")
    compile = not args.no_compile
    rows = []
    pdes = [Convection(beta=30.0), Reaction(rho=5.0), ReactionDiffusion(nu=3.0, rho=5.0),
            Burgers()]
    if args.fit_only:
        pdes = []
    for pde in pdes:
        rows.append((pde, bench(pde, args.dtype, args.repeats, compile)))
    print("\n| equation | plain PyTorch (ms) | physml (ms) | speed-up |"
          + (" physml compile=True (ms) | speed-up |" if compile else ""))
    print("|---|---|---|---|" + ("---|---|" if compile else ""))
    ratios = {}
    for pde, t in rows:
        ratio = t["plain"] / t["physml"]
        line = f"| {pde!r} | {1e3 * t['plain']:.2f} | {1e3 * t['physml']:.2f} | {ratio:.2f}x |"
        ratios[type(pde).__name__] = {"eager": ratio}
        if compile:
            compiled = t["plain"] / t["compiled"]
            ratios[type(pde).__name__]["compiled"] = compiled
            line += f" {1e3 * t['compiled']:.2f} | {compiled:.2f}x |"
        print(line, flush=True)
    print("\nTarget: physml >= 1.5x faster than plain PyTorch per L-BFGS evaluation.")
    rows = bench_lbfgs(args.dtype)
    print("\n| L-BFGS, history 100, convection beta=30 | optimizer's own ms per iteration "
          "| ms per iteration with its loss evaluations | evaluations per iteration "
          "| loss after 300 iterations |")
    print("|---|---|---|---|---|")
    for name, r in rows.items():
        print(f"| {name} | {r['own']:.2f} | {r['total']:.2f} | {r['evaluations']:.2f} "
              f"| {r['loss']:.4e} |")
    ratio = rows["torch.optim.LBFGS"]["own"] / rows["physml LBFGS"]["own"]
    print(f"\nphysml's compact-form L-BFGS: {ratio:.2f}x torch.optim.LBFGS's own time per "
          "iteration")
    ratios["lbfgs"] = ratio
    torch.set_num_threads(default_threads)
    ratios["fit"] = _print_fit(bench_fit())
    return ratios


def _print_fit(fit):
    """Print the whole-fit comparison; return physml's time over the plain loop's."""
    ratio = fit["physml"] / fit["plain"]
    print("\n| a whole fit, convection beta=30, float32, L-BFGS history 50 | ms per L-BFGS "
          "iteration | physml / plain |")
    print("|---|---|---|")
    print(f"| plain PyTorch (torch.optim.LBFGS, autograd derivatives) | "
          f"{1e3 * fit['plain']:.2f} | |")
    print(f"| physml PINNRegressor(optimizer='lbfgs', strategy=Standard(early_dtype=None)) | "
          f"{1e3 * fit['physml']:.2f} | {ratio:.2f} |")
    print(f"\nphysml's time per L-BFGS iteration: {ratio:.2f} of the plain loop's "
          "(target: at most 0.67)", flush=True)
    return ratio


if __name__ == "__main__":
    with recorded_tables("speed"):
        main()
