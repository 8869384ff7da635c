"""A small closure-based trainer for losses that are not ``(y_pred, y)`` pairs (PINNs).

One loop serves L-BFGS, Adam, and Adam followed by L-BFGS. It records every loss
evaluation, shows progress, stops on a non-finite loss, and on Ctrl-C, keeping the best
parameters seen in both cases.
"""

import math

import torch

from ._base import BestParameters, Diverged, follow_load, progress, stops_cleanly, warn_if_stopped
from ._lbfgs import LBFGS

OPTIMIZERS = ("lbfgs", "adam", "adam+lbfgs")

# L-BFGS runs this many iterations per ``step`` call: the history carries over between calls,
# and the short calls let us report progress and react to Ctrl-C without touching the
# algorithm (one extra loss evaluation per call).
_LBFGS_CHUNK = 50


def minimize(loss_terms, parameters, *, optimizer, max_iter, learning_rate=None,
             warmup_iter=0, tol=1e-7, history_size=50, verbose=0, desc="fit", history=None,
             owner=None, refresh=None, refresh_every=None):
    """Minimize ``sum(loss_terms().values())`` over ``parameters``.

    ``loss_terms()`` returns a dict of named scalar tensors (the loss is their sum). Every
    evaluation is appended to ``history`` (a dict of lists). Returns a dict with ``n_iter``
    (optimizer iterations), ``n_eval``, and ``stopped`` (None, "diverged" or "interrupted").

    ``refresh(n_iter)``, when given, runs every ``refresh_every`` iterations (new collocation
    points, new causal weights): the loss changes there a little, its curvature hardly, so
    L-BFGS keeps its curvature pairs but forms none across the change (that gradient
    difference would mix two losses); the best-parameters record starts again (a loss on
    other points is not comparable). Restarting L-BFGS at each redraw would throw away
    what the iterations since the last one learned of the curvature.
    """
    parameters = [p for p in parameters if p.requires_grad]
    history = {} if history is None else history
    best = BestParameters(parameters)
    phases = []
    if optimizer in ("adam", "adam+lbfgs"):
        adam_steps = max_iter if optimizer == "adam" else warmup_iter
        adam_lr = learning_rate if (optimizer == "adam" and learning_rate) else 1e-3
        phases.append(("adam", adam_steps, adam_lr))
    if optimizer in ("lbfgs", "adam+lbfgs"):
        phases.append(("lbfgs", max_iter, learning_rate or 1.0))
    state = {"n_iter": 0, "n_eval": 0, "stopped": None, "phase": None}
    bar = progress(sum(p[1] for p in phases), verbose, desc)

    def refreshed(done, steps):
        nonlocal best
        if refresh is None or not refresh_every or done % refresh_every or done >= steps:
            return False
        refresh(done)
        best = BestParameters(parameters)
        return True

    def closure():
        follow_load()  # under n_jobs=None, the threads follow the machine's load
        for p in parameters:
            p.grad = None
        terms = loss_terms()
        loss = sum(terms.values())
        value = float(loss.detach())
        if not math.isfinite(value):
            raise Diverged(value)
        best.offer(value)
        loss.backward()
        state["n_eval"] += 1
        n_before = len(history.setdefault("loss", []))
        history["loss"].append(value)
        for name, term in terms.items():
            # A term first computed now (the boundary after an inverse problem's data-only
            # phase) is NaN at the evaluations before, so that it lines up with "loss".
            values = history.setdefault(name, [])
            values.extend([math.nan] * (n_before - len(values)))
            values.append(float(term.detach()))
        history.setdefault("optimizer", []).append(state["phase"])
        return loss

    with stops_cleanly(state, bar):
        for name, steps, lr in phases:
            state["phase"] = name
            if steps <= 0:
                continue
            if name == "adam":
                opt = torch.optim.Adam(parameters, lr=lr)
                for step in range(steps):
                    loss = opt.step(closure)
                    state["n_iter"] += 1
                    refreshed(step + 1, steps)
                    bar.update()
                    bar.set_postfix(loss=f"{float(loss.detach()):.3e}", refresh=False)
            else:
                def new_lbfgs(lr=lr):
                    return LBFGS(
                        parameters, lr=lr, max_iter=_LBFGS_CHUNK, max_eval=25 * _LBFGS_CHUNK,
                        history_size=history_size, tolerance_grad=tol, tolerance_change=tol,
                        line_search_fn="strong_wolfe",
                    )

                opt, done, period = new_lbfgs(), 0, _LBFGS_CHUNK
                if refresh is not None and refresh_every:
                    period = min(period, int(refresh_every))
                while done < steps:
                    chunk = min(period, steps - done)
                    if refresh is not None and refresh_every:
                        chunk = min(chunk, refresh_every - done % refresh_every)
                    opt.param_groups[0]["max_iter"] = chunk
                    before = opt.state[parameters[0]].get("n_iter", 0)
                    loss = opt.step(closure)
                    taken = opt.state[parameters[0]].get("n_iter", 0) - before
                    done += taken
                    state["n_iter"] += taken
                    bar.update(taken)
                    bar.set_postfix(loss=f"{float(loss.detach()):.3e}", refresh=False)
                    if taken < chunk:
                        if refresh is None or not refresh_every:
                            break  # converged: a tolerance was met inside the chunk
                        done += chunk - taken  # converged on these points: go on to new ones
                    if refreshed(done, steps):
                        opt.new_loss()
    # L-BFGS may end on a line-search trial point; the best point seen is never worse.
    best.restore()
    warn_if_stopped(state, owner, best.loss)
    state["best_loss"] = best.loss
    return state
