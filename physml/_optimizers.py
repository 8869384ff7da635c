"""The optimizers of losses that are not ``(y_pred, y)`` pairs (PINNs, ODE-Nets), behind
one call.

:func:`optimize` runs ``optimizer`` (a name of :data:`OPTIMIZERS`) on a loss:

- ``"adam"``, ``"lbfgs"``, ``"adam+lbfgs"``: :func:`minimize`, on the loss's batched value
  (a callable returning named scalar terms, their gradient by autograd);
- ``"lm"``: :func:`levenberg_marquardt`, on the loss's rows and their Jacobian (a
  :class:`physml._loss.PINNLoss`), damped Gauss-Newton steps (after ``warmup_iter`` Adam
  steps where it is positive, as ``"adam+lbfgs"`` takes them); beyond
  :data:`DENSE_MAX_WEIGHTS` trainable weights the step is solved by conjugate gradients
  on ``J^T J`` from Jacobian-vector products, without forming ``J``.

Every optimizer records each loss evaluation in ``history`` (the loss, its terms, the
optimizer's name), shows progress, stops on a non-finite loss and on Ctrl-C with the
best (first-order) or last accepted (Gauss-Newton) parameters, and returns the same
report: ``n_iter``, ``n_eval``, ``stopped``, ``best_loss``.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import torch

from ._base import BestParameters, Diverged, progress, stops_cleanly, warn_if_stopped
from ._checkpoint import begin_call
from ._lbfgs import LBFGS
from ._threads import _mkl_local_threads, follow_load

#: The optimizers :func:`optimize` runs; ``PINNRegressor(optimizer=...)`` takes these and
#: ``"auto"`` (the strategy's choice).
OPTIMIZERS = ("lbfgs", "adam", "adam+lbfgs", "lm")

#: Up to this many trainable weights a Gauss-Newton step forms the Jacobian and solves
#: with it densely (``n^2 P`` operations for ``n`` rows and ``P`` weights: 2,000 rows and
#: 20,000 weights are 320 MB of Jacobian in float64); beyond, by conjugate gradients.
DENSE_MAX_WEIGHTS = 20_000


#: What continues a fit already in its basin (a second precision phase, a refinement,
#: an inverse problem's joint phase after its start from the observations): Adam's
#: warm-up only shakes a network out of a basin it is in.
CONTINUED = {"adam": "adam", "lbfgs": "lbfgs", "adam+lbfgs": "lbfgs", "lm": "lm"}

#: Iterations of an optimizer against L-BFGS's: a Levenberg-Marquardt step solves with
#: the exact Gauss-Newton curvature, and ``max_iter="auto"`` under ``optimizer="lm"``
#: takes the strategy's L-BFGS budget over this (1000 L-BFGS iterations: 40 steps).
LM_ITER_RATIO = 25


def continued(optimizer):
    """The optimizer that continues a fit ``optimizer`` started (:data:`CONTINUED`)."""
    return CONTINUED[optimizer]


def optimize(loss, parameters, *, optimizer, max_iter, **options):
    """Minimize ``loss`` over ``parameters`` with ``optimizer``; the report of
    :func:`minimize` or :func:`levenberg_marquardt` (which take ``options``)."""
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"optimizer={optimizer!r} is not supported; choose one of "
                         f"{sorted(OPTIMIZERS)}")
    if optimizer == "lm":
        shared = {k: v for k, v in options.items()
                  if k in ("verbose", "desc", "history", "owner", "checkpoint", "restorables",
                           "on_record")}
        warmup = options.get("warmup_iter") or 0
        if warmup <= 0:
            return levenberg_marquardt(loss, parameters, max_iter=max_iter, **shared)
        # Adam's steps first, as "adam+lbfgs" takes them, on the batched evaluator
        first = minimize(options.get("objective", loss), parameters, optimizer="adam",
                         max_iter=warmup, **shared)
        if first["stopped"]:
            return first
        report = levenberg_marquardt(loss, parameters, max_iter=max_iter, **shared)
        report["n_iter"] += first["n_iter"]
        report["n_eval"] += first["n_eval"]
        return report
    return minimize(options.pop("objective", loss), parameters, optimizer=optimizer,
                    max_iter=max_iter, **options)

# L-BFGS runs this many iterations per ``step`` call: the history carries over between calls,
# and the short calls let us report progress and react to Ctrl-C without touching the
# algorithm (one extra loss evaluation per call).
_LBFGS_CHUNK = 50


def minimize(loss_terms, parameters, *, optimizer, max_iter, learning_rate=None,
             warmup_iter=0, tol=1e-7, history_size=50, verbose=0, desc="fit", history=None,
             owner=None, refresh=None, refresh_every=None, checkpoint=None, restorables=(),
             on_record=None):
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

    ``checkpoint`` (a :class:`physml._checkpoint.Checkpoint`) makes the call resumable:
    a call it holds finished is skipped (its end put back), one it holds under way
    continues from its saved state, and the state is written after an Adam step or an
    L-BFGS chunk when the checkpoint is due; ``restorables`` (objects with
    ``state_dict`` and ``load_state_dict``: the loss's points, random generators) are
    saved with it. ``on_record(row)`` sees each evaluation's history row as it is
    logged.
    """
    parameters = [p for p in parameters if p.requires_grad]
    history = {} if history is None else history
    call = begin_call(checkpoint, parameters, history, restorables)
    if call.report is not None:
        return call.report
    resumed = call.resumed or {}
    best = BestParameters(parameters)
    phases = []
    if optimizer in ("adam", "adam+lbfgs"):
        adam_steps = max_iter if optimizer == "adam" else warmup_iter
        adam_lr = learning_rate if (optimizer == "adam" and learning_rate) else 1e-3
        phases.append(("adam", adam_steps, adam_lr))
    if optimizer in ("lbfgs", "adam+lbfgs"):
        phases.append(("lbfgs", max_iter, learning_rate or 1.0))
    state = {"n_iter": 0, "n_eval": 0, "stopped": None, "phase": None}
    if resumed:
        state.update(resumed["counts"])
        best.loss, best.vector = resumed["best"]
    bar = progress(sum(p[1] for p in phases), verbose, desc)
    bar.update(state["n_iter"])

    def save_if_due(k, done, optimizer_state):
        if call.due():
            call.save({"phase": k, "done": done, "optimizer": optimizer_state,
                       "counts": {"n_iter": state["n_iter"], "n_eval": state["n_eval"]},
                       "best": (best.loss, best.vector)})

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
        record(history, value, {name: float(term.detach()) for name, term in terms.items()},
               state["phase"], on_record)
        return loss

    with stops_cleanly(state, bar):
        for k, (name, steps, lr) in enumerate(phases):
            if k < resumed.get("phase", 0):
                continue
            first = resumed.get("done", 0) if k == resumed.get("phase", 0) else 0
            state["phase"] = name
            if steps <= 0:
                continue
            if name == "adam":
                opt = torch.optim.Adam(parameters, lr=lr)
                if first:
                    opt.load_state_dict(resumed["optimizer"])
                for step in range(first, steps):
                    loss = opt.step(closure)
                    state["n_iter"] += 1
                    refreshed(step + 1, steps)
                    bar.update()
                    bar.set_postfix(loss=f"{float(loss.detach()):.3e}", refresh=False)
                    save_if_due(k, step + 1, opt.state_dict())
            else:
                def new_lbfgs(lr=lr):
                    return LBFGS(
                        parameters, lr=lr, max_iter=_LBFGS_CHUNK, max_eval=25 * _LBFGS_CHUNK,
                        history_size=history_size, tolerance_grad=tol, tolerance_change=tol,
                        line_search_fn="strong_wolfe",
                    )

                opt, done, period = new_lbfgs(), first, _LBFGS_CHUNK
                if first:
                    opt.state[parameters[0]].update(resumed["optimizer"])
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
                    save_if_due(k, done, dict(opt.state[parameters[0]]))
    # L-BFGS may end on a line-search trial point; the best point seen is never worse.
    best.restore()
    warn_if_stopped(state, owner, best.loss)
    state["best_loss"] = best.loss
    return call.finish(state)


def record(history, value, terms, optimizer, on_record=None):
    """Append one evaluation to ``history``: the loss, its named terms (floats) and the
    optimizer's name; ``on_record`` (the callbacks) sees the row."""
    n_before = len(history.setdefault("loss", []))
    history["loss"].append(value)
    for name, term in terms.items():
        # A term first computed now (the boundary after an inverse problem's data-only
        # phase) is NaN at the evaluations before, so that it lines up with "loss".
        values = history.setdefault(name, [])
        values.extend([math.nan] * (n_before - len(values)))
        values.append(term)
    history.setdefault("optimizer", []).append(optimizer)
    if on_record is not None:
        on_record({"loss": value, **terms, "optimizer": optimizer})


# Levenberg-Marquardt ------------------------------------------------------------------

#: Most increases of the damping tried for one step before the fit stops (the loss cannot
#: be lowered along any damped Gauss-Newton direction: converged to rounding).
_MAX_TRIALS = 12


#: Row blocks of :func:`gram_lower`: the lower triangle in panels of 1, 2, ..., 8 blocks is
#: 9/16 of the full product's work.
_GRAM_BLOCKS = 8


def gram_lower(J):
    """The lower triangle of ``J J^T`` (zeros above: what a Cholesky factorization reads),
    in row panels (block ``i`` against blocks ``0..i``: a little over half the work of
    the full product). The panels are shared between two threads where torch has two,
    each product by MKL on one thread, so that its bits do not depend on the thread count
    (a product MKL splits itself across threads would round differently on each count)."""
    n = J.shape[0]
    K = J.new_zeros((n, n))
    edges = [n * b // _GRAM_BLOCKS for b in range(_GRAM_BLOCKS + 1)]
    panels = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    setter = _mkl_local_threads() if J.device.type == "cpu" else None

    def panel(bounds):
        a, b = bounds
        K[a:b, :b] = J[a:b] @ J[:b].t()

    if setter is not None and torch.get_num_threads() > 1 and n >= 2:
        # the panels, largest first, each to the thread with less work so far
        shares, work = ([], []), [0, 0]
        for bounds in sorted(panels, key=lambda ab: -(ab[1] - ab[0]) * ab[1]):
            i = work.index(min(work))
            shares[i].append(bounds)
            work[i] += (bounds[1] - bounds[0]) * bounds[1]

        def share(bounds_list):
            setter(1)
            for bounds in bounds_list:
                panel(bounds)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(share, shares))
    else:
        # one thread (MKL's count is then one too), or not MKL: in the calling thread
        for bounds in panels:
            panel(bounds)
    return K.tril_()  # (the diagonal blocks' upper parts are filled too)


class _DenseStep:
    """The damped Gauss-Newton step from the formed Jacobian: ``-(J^T J + lambda I)^-1
    J^T r``, as ``-J^T (J J^T + lambda I)^-1 r`` when there are fewer rows than weights."""

    def __init__(self, rows, J):
        # Rows that no weight moves (observations at t0 under exact constraints) leave
        # the step as it is: solve without them.
        moved = J.ne(0).any(1)
        if not bool(moved.all()):
            J, rows = J[moved], rows[moved]
        self.rows, self.J = rows, J
        self.small = J.shape[0] < J.shape[1]
        self.K = gram_lower(J) if self.small else gram_lower(J.t().contiguous())
        self.g = None if self.small else J.t() @ rows
        self.scale = float(self.K.diagonal().mean())
        self.solved = float(rows.square().sum())  # (without the rows dropped above)

    def __call__(self, damping):
        """The step, or None where the damped system is not positive definite."""
        M = self.K.clone()
        M.diagonal().add_(damping)
        L, info = torch.linalg.cholesky_ex(M)
        if int(info) != 0:
            return None
        if self.small:
            return -(self.J.t() @ torch.cholesky_solve(self.rows[:, None], L)[:, 0])
        return -torch.cholesky_solve(self.g[:, None], L)[:, 0]

    def predicted(self, delta):
        """The decrease of the squared rows the linearized model predicts."""
        return self.solved - float((self.rows + self.J @ delta).square().sum())


class _MatrixFreeStep:
    """The same step by conjugate gradients on ``(J^T J + lambda I) delta = -J^T r``, with
    ``J v`` and ``J^T u`` from forward- and reverse-mode products of the rows (the
    Jacobian is never formed: memory in proportion to the rows, not rows x weights)."""

    def __init__(self, rows_of, params, max_cg=100, cg_tol=1e-6):
        flat = torch.cat([p.reshape(-1) for p in params])
        shapes, sizes = [p.shape for p in params], [p.numel() for p in params]

        def unflat(v):
            return tuple(part.reshape(shape) for part, shape in zip(torch.split(v, sizes),
                                                                    shapes))

        def of_flat(v):
            return rows_of(unflat(v))

        self._of_flat, self._flat = of_flat, flat
        rows, self._vjp = torch.func.vjp(of_flat, flat)
        self.rows = rows.detach()
        self.g = self._vjp(self.rows)[0].detach()
        self.max_cg, self.cg_tol = int(max_cg), float(cg_tol)
        # the mean of J^T J's diagonal from one Rademacher probe z (E |J z|^2 = trace):
        # it only sets the first damping
        probe = torch.sign(torch.randn(flat.shape, generator=torch.Generator().manual_seed(0),
                                       dtype=flat.dtype)).to(flat.device)
        self.scale = float(self._jvp(probe).square().sum()) / flat.numel()
        self.solved = float(self.rows.square().sum())

    def _jvp(self, v):
        # torch.func.jvp, not linearize: the rows hold nested forward-mode derivatives
        return torch.func.jvp(self._of_flat, (self._flat,), (v,))[1].detach()

    def _normal(self, v, damping):
        return self._vjp(self._jvp(v))[0] + damping * v

    def __call__(self, damping):
        b = -self.g
        x = torch.zeros_like(b)
        r = b.clone()
        p = r.clone()
        rr = float(r @ r)
        stop = (self.cg_tol ** 2) * rr
        for _ in range(self.max_cg):
            Ap = self._normal(p, damping)
            alpha = rr / float(p @ Ap)
            x = x + alpha * p
            r = r - alpha * Ap
            new = float(r @ r)
            if new <= stop:
                break
            p = r + (new / rr) * p
            rr = new
        return x.detach()

    def predicted(self, delta):
        return self.solved - float((self.rows + self._jvp(delta)).square().sum())


def levenberg_marquardt(loss, parameters, *, max_iter, verbose=0, desc="fit", history=None,
                        owner=None, dense_max_weights=None, checkpoint=None, restorables=(),
                        on_record=None):
    """Minimize ``loss`` (a :class:`physml._loss.PINNLoss`) over ``parameters`` by
    Levenberg-Marquardt steps (Levenberg 1944, Marquardt 1963), each on new collocation
    points (``loss.resample()``, which sees the parameters of the last step taken) where
    the loss draws them.

    Gauss-Newton models the loss ``sum_i rho_i(theta)^2`` by linearizing its rows,
    ``rho(theta + delta) ~ rho + J delta``, and takes the step that minimizes the model,
    damped::

        delta = -(J^T J + lambda I)^-1 J^T rho = -J^T (J J^T + lambda I)^-1 rho

    (the second form when there are fewer rows than weights). ``J^T J`` is the curvature
    L-BFGS approximates from a few hundred gradient differences; here it is exact for the
    linearized rows, so a step goes much further. The damping follows the gain ratio of
    each step (Madsen, Nielsen & Tingleff 2004). New points at each step: with fewer rows
    than weights the linearized model could fit the residual at fixed points exactly,
    and fresh points make every step generalize. A step is kept only if it lowers the
    loss on the points it was computed on; otherwise ``lambda`` grows and the step is
    tried again. Up to ``dense_max_weights`` (:data:`DENSE_MAX_WEIGHTS`) trainable
    weights the Jacobian is formed; beyond, the step comes from conjugate gradients.

    Records every step in ``history`` (the loss and its terms on that step's points,
    ``"optimizer"`` ``"lm"``); stops on a loss that is not finite or on Ctrl-C with the
    parameters of the last step taken. ``checkpoint``, ``restorables`` and ``on_record``
    as :func:`minimize` takes them (the state is written after a step). Returns the
    report of :func:`minimize`."""
    history = {} if history is None else history
    parameters = [p for p in parameters if p.requires_grad]
    call = begin_call(checkpoint, parameters, history, restorables)
    if call.report is not None:
        return call.report
    resumed = call.resumed or {}
    params = tuple(p.detach().clone() for p in parameters)
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    limit = DENSE_MAX_WEIGHTS if dense_max_weights is None else dense_max_weights
    dense = sum(sizes) <= limit
    state = {"n_iter": 0, "n_eval": 0, "stopped": None, "best_loss": math.nan}
    bar = progress(max_iter, verbose, desc)
    damping, growth, step = None, 2.0, None
    if resumed:
        damping, growth = resumed["damping"], resumed["growth"]
        state.update(resumed["counts"])
    bar.update(state["n_iter"])
    resample = getattr(loss, "resample", None)

    def stepped(delta):
        parts = torch.split(delta, sizes)
        return tuple(p + part.reshape(shape) for p, part, shape in zip(params, parts, shapes))

    def hold(values):
        with torch.no_grad():
            for p, q in zip(parameters, values):
                p.copy_(q)

    def trial_loss(trial):
        # the batched evaluator at the trial (its fast derivatives; the rows squared
        # sum to the same loss): the live tensors hold the trial meanwhile
        hold(trial)
        try:
            return float(sum(value.detach() for value in loss().values()))
        finally:
            hold(params)

    with stops_cleanly(state, bar):
        for _ in range(state["n_iter"], max_iter):
            follow_load()  # under n_jobs=None, the threads follow the machine's load
            if resample is not None:
                resample()
            if dense:
                rows, J, terms = loss.jacobian(params, out=None if step is None else step.J)
                step = _DenseStep(rows, J)
            else:
                step = _MatrixFreeStep(loss.row_function(), params)
                rows, terms = step.rows, loss.rows(params)[1]
            value = float(rows.square().sum())
            state["n_eval"] += 1
            if not math.isfinite(value):
                raise Diverged(value)
            record(history, value, terms, "lm", on_record)
            if getattr(loss, "observe", None) is not None:
                loss.observe()  # what else the loss records per evaluation (learned values)
            state["best_loss"] = value  # at the parameters held until a step is taken
            if damping is None:  # scaled to the curvature's size
                damping = 1e-3 * step.scale
            accepted = False
            for _ in range(_MAX_TRIALS):  # (the trial's loss counts every row)
                delta = step(damping)
                if delta is not None:
                    trial = stepped(delta)
                    new = trial_loss(trial)
                    state["n_eval"] += 1
                    # the gain against the linear model's (Madsen, Nielsen & Tingleff
                    # 2004): a good model lowers the damping, a poor one raises it
                    predicted = step.predicted(delta)
                    gain = (value - new) / predicted if predicted > 0 else -1.0
                    if math.isfinite(new) and new < value:
                        params, accepted = trial, True
                        damping *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
                        damping = max(damping, 1e-15 * step.scale)
                        growth = 2.0
                        break
                damping *= growth
                growth *= 2.0
            state["n_iter"] += 1
            state["best_loss"] = new if accepted else value
            hold(params)
            bar.update()
            bar.set_postfix(loss=f"{value:.3e}", refresh=False)
            if not accepted:
                break  # no damped step lowers the loss: converged to rounding
            if call.due():
                call.save({"damping": damping, "growth": growth,
                           "counts": {k: state[k] for k in ("n_iter", "n_eval", "best_loss")}})
    warn_if_stopped(state, owner, state["best_loss"])
    return call.finish(state)
