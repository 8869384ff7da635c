"""Time an L-BFGS iteration of a PINN fit: torch.optim.LBFGS against physml's optimizer.

Both minimize the same closure (the convection PINN loss of ``PINNRegressor``: 4 x 50
tanh, 1000 collocation points) from the same starting parameters, with the same history
and the strong-Wolfe line search, interleaved in one process. Reported: milliseconds per
iteration, evaluations per iteration, and the optimizer's own share (iteration time minus
the loss evaluations). torch's ``LBFGS`` applies its memory with the two-loop recursion
(4 x history vector operations from Python), physml's with the compact form (a few
matrix-vector products). The last column adds physml's malloc setting
(``physml._base.keep_freed_memory``), which is process-wide, so it runs last; the
page faults column counts the fresh memory pages touched (what that setting removes).

    python benchmarks/bench_lbfgs.py [--threads 2] [--iterations 200] [--repeats 5]
"""

import argparse
import resource
import sys
import time
from pathlib import Path

import torch

from physml._base import keep_freed_memory
from physml._lbfgs import LBFGS
from physml.pde import Convection

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_speed import ours_closure, problem_for  # noqa: E402


def run(kind, problem, closure, start, iterations, history):
    torch.nn.utils.vector_to_parameters(start, problem.network.parameters())
    parameters = list(problem.network.parameters())
    evals, inside = [0], [0.0]

    def counted():
        evals[0] += 1
        begin = time.perf_counter()
        loss = closure()
        inside[0] += time.perf_counter() - begin
        return loss

    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    begin = time.perf_counter()
    if kind == "torch":
        opt = torch.optim.LBFGS(parameters, lr=1.0, max_iter=iterations,
                                max_eval=25 * iterations, history_size=history,
                                tolerance_grad=0.0, tolerance_change=0.0,
                                line_search_fn="strong_wolfe")
        opt.step(counted)
        n_iter = opt.state[parameters[0]]["n_iter"]
    else:
        opt = LBFGS(parameters, counted, history_size=history, tolerance_grad=0.0,
                    tolerance_change=0.0)
        for _ in range(iterations):
            if not opt.step():
                break
        n_iter = opt.n_iter
    seconds = time.perf_counter() - begin
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return dict(faults=faults / n_iter, per_iter=seconds / n_iter, evals=evals[0] / n_iter,
                per_eval=inside[0] / evals[0], own=(seconds - inside[0]) / n_iter)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; convection "
          f"beta = 30, 4 x 50 tanh, 1000 collocation points; {args.iterations} iterations, "
          f"fastest of {args.repeats}\n")
    print("| dtype | history | optimizer | ms per iteration | evaluations per iteration | "
          "ms per evaluation | optimizer's own ms per iteration | page faults per iteration | "
          "ratio to torch |")
    print("|---|---|---|---|---|---|---|---|---|")
    configs = [(dtype, history) for dtype in ("float32", "float64") for history in (50, 100)]
    results = {}
    for tuned in (False, True):
        if tuned:
            keep_freed_memory()
        for dtype, history in configs:
            pde = Convection(beta=30.0)
            _, problem = problem_for(pde, dtype)
            closure, _ = ours_closure(problem, pde)
            start = torch.nn.utils.parameters_to_vector(problem.network.parameters()).clone()
            kinds = ["physml"] if tuned else ["torch", "physml"]
            rows = {kind: [] for kind in kinds}
            for _ in range(args.repeats):  # interleaved: drifts of the machine hit both
                for kind in kinds:
                    rows[kind].append(run(kind, problem, closure, start, args.iterations,
                                          history))
            for kind in kinds:
                # The fastest repeat: the least disturbed by the rest of the machine.
                best = {key: min(r[key] for r in rows[kind]) for key in rows[kind][0]}
                name = kind + (" + malloc setting" if tuned else "")
                results[(dtype, history, name)] = best["per_iter"]
                ratio = best["per_iter"] / results[(dtype, history, "torch")]
                print(f"| {dtype} | {history} | {name} | {1e3 * best['per_iter']:.2f} | "
                      f"{best['evals']:.2f} | {1e3 * best['per_eval']:.2f} | "
                      f"{1e3 * best['own']:.2f} | {best['faults']:.0f} | {ratio:.2f}x |",
                      flush=True)
    return results


if __name__ == "__main__":
    main()
