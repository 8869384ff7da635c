"""Levenberg-Marquardt (damped Gauss-Newton) for a PINN's loss, a sum of mean squares.

A PINN's loss is ``sum_i rho_i(theta)^2`` over rows ``rho``: the residual of each equation
at each collocation point, scaled by ``sqrt(weight / n)``, the boundary mismatches, the
observations' errors. Gauss-Newton models the loss by linearizing the rows,
``rho(theta + delta) ~ rho + J delta``, and takes the step that minimizes the model,
damped (Levenberg 1944, Marquardt 1963)::

    delta = -(J^T J + lambda I)^-1 J^T rho = -J^T (J J^T + lambda I)^-1 rho

(the second form when there are fewer rows than weights). ``J^T J`` is the curvature
L-BFGS approximates from a few hundred gradient differences; here it is exact for the
linearized rows, so a step goes much further (the hard-cases ablation in the user
guide's "When a PINN fails" measures by how much). The price is the Jacobian, one row
per residual, and a dense solve: ``n^2 P`` operations for ``n`` rows and ``P`` weights,
so the method suits networks of a few thousand weights. The damping follows the gain
ratio of each step (Madsen, Nielsen & Tingleff 2004).

Each row is written for one point with :mod:`torch.func` (the model's input derivatives by
nested forward mode), and ``vmap(jacrev(...))`` gives the rows' Jacobian over all points
at once. Each step draws new collocation points: with fewer rows
than weights the linearized model could fit the residual at fixed points exactly, and
fresh points make every step generalize; they are drawn as the estimator's ``sampling``
says (residual-based by default for :class:`~physml.strategies.Causal`, which a shock
needs). A step is kept only if it lowers the loss on the points it was computed on;
otherwise ``lambda`` grows and the step is tried again.
"""

import math
from concurrent.futures import ThreadPoolExecutor

import torch
from torch.func import functional_call, jacfwd, jacrev, vmap

from ._base import (
    Diverged,
    _mkl_local_threads,
    follow_load,
    progress,
    stops_cleanly,
    warn_if_stopped,
)

#: Most increases of the damping tried for one step before the fit stops (the loss cannot
#: be lowered along any damped Gauss-Newton direction: converged to rounding).
_MAX_TRIALS = 12


def _jets(u_point, order):
    """``x -> (u, Du, D2u, ...)`` up to ``order``: the value and the derivative tensors of
    a point function ``u_point(x) -> (n_outputs,)`` (``D^k u`` of shape ``(n_outputs,) +
    (d,) * k``), by nested forward mode, each lower order computed once."""
    def level(k):
        if k == 0:
            def f(x):
                u = u_point(x)
                return u, (u,)
            return f
        inner = level(k - 1)

        def f(x):
            top, lower = jacfwd(inner, has_aux=True)(x)
            return top, (*lower, top)
        return f

    def jets(x):
        return level(order)(x)[1]
    return jets


class RowModel:
    """The rows of a PINN's loss as functions of the parameters, for one point each.

    Parameters
    ----------
    problem : PINNProblem
        Gives the network, the output transform and the learned coefficients.
    pde : PDE
        The equation.
    names : dict
        ``name -> (output, coordinate indices)``: the residual's derivatives.
    slope_columns : set
        Periodic coordinates whose slope also matches across the faces.
    """

    def __init__(self, problem, pde, names, slope_columns):
        self.problem, self.pde, self.names = problem, pde, names
        self.slope_columns = slope_columns
        network = problem.network
        self.network_names = [name for name, _ in network.named_parameters()]
        self.learned = list(problem.learned.items())
        self.order = max([len(index) for _, index in names.values()] + [1])
        self.single = len(pde.outputs) == 1

    def parameters(self):
        return self.problem.parameters()

    def _u_point(self, params, x):
        weights = dict(zip(self.network_names, params[:len(self.network_names)]))
        u = functional_call(self.problem.network, weights, (x[None],)).reshape(1, -1)
        transform = self.problem.config.output_transform
        if transform is not None:
            out = transform(x[None], u[:, 0] if u.shape[1] == 1 else u)
            u = out.reshape(1, -1)
        return u[0]

    def _coefficients(self, params):
        values = dict(self.pde.coefficients)
        start = len(self.network_names)
        for j, (name, (_, transform)) in enumerate(self.learned):
            values[name] = transform(params[start + j])
        return values

    def residual(self, params, x):
        """The equations' residuals at one point: ``(n_equations,)``."""
        jets = _jets(lambda z: self._u_point(params, z), self.order)(x)
        d = {}
        for name, (o, index) in self.names.items():
            d[name] = jets[len(index)][(o, *index)][None]
        u = jets[0][None]
        r = self.pde.residual(x[None], u[:, 0] if self.single else u, d,
                              self._coefficients(params))
        r = r if isinstance(r, (tuple, list)) else (r,)
        return torch.cat([part.reshape(-1) for part in r])

    def value(self, params, x):
        return self._u_point(params, x)

    def slope(self, params, x, column):
        """The first derivative of every output along ``column`` at one point."""
        return jacfwd(lambda z: self._u_point(params, z))(x)[:, column]


class GaussNewtonLoss:
    """A PINN loss as row blocks: each block is a point function, its points and a scale;
    ``rows(params)`` and ``jacobian(params)`` evaluate every block over its points.

    The blocks mirror ``PINNProblem``'s loss terms: ``weight * mean over points of the
    summed squared residuals``, per boundary face the mean squared mismatch, and the
    observations' mean squared error per output (NaN rows masked).
    """

    def __init__(self, model, weight, faces, X_obs, y_obs):
        self.model = model
        self.weight = weight
        self.blocks = []  # (term, function(params, *points) -> rows, points, scale)
        pending = None
        for column, side, kind, X, g in faces:
            n_out = len(model.pde.outputs)
            scale = 1.0 / math.sqrt(X.shape[0] * n_out)
            if kind == "periodic":
                if side == 0:
                    pending = X
                    continue
                self.blocks.append(("boundary", lambda p, a, b: model.value(p, a)
                                    - model.value(p, b), (pending, X), scale))
                if column in model.slope_columns:
                    self.blocks.append(
                        ("boundary", lambda p, a, b, c=column: model.slope(p, a, c)
                         - model.slope(p, b, c), (pending, X), scale))
            elif kind == "dirichlet":
                self.blocks.append(("boundary", lambda p, x, g: model.value(p, x) - g,
                                    (X, g), scale))
            else:
                sign = 1.0 if side else -1.0
                self.blocks.append(
                    ("boundary", lambda p, x, g, c=column, s=sign: s * model.slope(p, x, c)
                     - g, (X, g), scale))
        if X_obs.shape[0]:
            observed = torch.isfinite(y_obs)
            target = torch.where(observed, y_obs, torch.zeros_like(y_obs))
            observed = observed.to(y_obs.dtype)
            count = observed.sum(0).clamp(min=1)
            # (u - y)^2 summed over outputs, each output's mean over its observed rows
            per_output = observed / count.sqrt()
            self.blocks.append(("data", lambda p, x, y, m: (model.value(p, x) - y) * m,
                                (X_obs, target, per_output), 1.0))
        self.collocation = None

    def _all_blocks(self):
        X_c = self.collocation
        scale = math.sqrt(self.weight / X_c.shape[0])
        return [("residual", self.model.residual, (X_c,), scale), *self.blocks]

    def rows(self, params):
        """Every row, and the loss per term: ``(rows, {term: value})``."""
        out, terms = [], {}
        with torch.no_grad():
            for term, function, points, scale in self._all_blocks():
                values = vmap(function, in_dims=(None,) + (0,) * len(points))(
                    params, *points).reshape(-1) * scale
                out.append(values)
                terms[term] = terms.get(term, 0.0) + float(values.square().sum())
        return torch.cat(out), terms

    def jacobian(self, params):
        """The rows, their Jacobian ``(n_rows, n_weights)`` and the loss per term."""
        rows, blocks, terms = [], [], {}
        for term, function, points, scale in self._all_blocks():
            def value(p, *x, f=function):
                v = f(p, *x)
                return v, v
            jac, val = vmap(jacrev(value, has_aux=True),
                            in_dims=(None,) + (0,) * len(points))(params, *points)
            n = val.numel()
            val = val.reshape(-1) * scale
            rows.append(val)
            blocks.append(torch.cat([j.reshape(n, -1) for j in jac], 1) * scale)
            terms[term] = terms.get(term, 0.0) + float(val.square().sum())
        return torch.cat(rows), torch.cat(blocks), terms


def gram(J):
    """``J J^T``, its two row halves computed at once where torch has two threads, each
    product by MKL on one thread, so that its bits do not depend on the thread count (a
    product MKL splits itself across threads would round differently on each count)."""
    n = J.shape[0]
    K = J.new_empty((n, n))
    halves = [(0, n // 2), (n // 2, n)]
    setter = _mkl_local_threads() if J.device.type == "cpu" else None

    def half(bounds, own_thread):
        if own_thread and setter is not None:
            setter(1)
        torch.mm(J[bounds[0]:bounds[1]], J.t(), out=K[bounds[0]:bounds[1]])

    if setter is not None and torch.get_num_threads() > 1 and n >= 2:
        with ThreadPoolExecutor(2) as pool:
            list(pool.map(half, halves, [True, True]))
    else:
        # one thread (MKL's count is then one too), or not MKL: in the calling thread
        for bounds in halves:
            half(bounds, False)
    return K


def levenberg_marquardt(loss, parameters, draw, *, max_iter, verbose=0, desc="fit",
                        history=None, owner=None):
    """Minimize ``loss`` (a :class:`GaussNewtonLoss`) over ``parameters`` by
    Levenberg-Marquardt steps, new collocation points (``draw()``, which sees the
    parameters of the last step taken) at each.

    Records every step in ``history`` (the loss and its terms on that step's points,
    ``"optimizer"`` ``"lm"``); stops on a loss that is not finite or on Ctrl-C with the
    parameters of the last step taken. Returns the trainer's report (``n_iter``,
    ``n_eval``, ``stopped``, ``best_loss``)."""
    history = {} if history is None else history
    params = tuple(p.detach().clone() for p in parameters)
    shapes = [p.shape for p in params]
    sizes = [p.numel() for p in params]
    state = {"n_iter": 0, "n_eval": 0, "stopped": None, "best_loss": math.nan}
    bar = progress(max_iter, verbose, desc)
    damping, growth = None, 2.0

    def record(value, terms):
        n_before = len(history.setdefault("loss", []))
        history["loss"].append(value)
        for name, term in terms.items():
            values = history.setdefault(name, [])
            values.extend([math.nan] * (n_before - len(values)))
            values.append(term)
        history.setdefault("optimizer", []).append("lm")

    def stepped(delta):
        parts = torch.split(delta, sizes)
        return tuple(p + part.reshape(shape) for p, part, shape in zip(params, parts, shapes))

    with stops_cleanly(state, bar):
        for _ in range(max_iter):
            follow_load()  # under n_jobs=None, the threads follow the machine's load
            loss.collocation = draw()
            rows, J, terms = loss.jacobian(params)
            value = float(rows.square().sum())
            state["n_eval"] += 1
            if not math.isfinite(value):
                raise Diverged(value)
            record(value, terms)
            state["best_loss"] = value  # at the parameters held until a step is taken
            # Rows that no weight moves (observations at t0 under exact constraints) leave
            # the step as it is: solve without them.
            moved = J.abs().amax(1) > 0
            if not bool(moved.all()):
                J, rows = J[moved], rows[moved]
            n, P = J.shape
            small = n < P
            K = gram(J) if small else gram(J.t().contiguous())
            g = None if small else J.t() @ rows
            solved = float(rows.square().sum())  # (without the rows dropped above)
            if damping is None:  # scaled to the curvature's size
                damping = 1e-3 * float(K.diagonal().mean())
            accepted = False
            for _ in range(_MAX_TRIALS):  # (the trial's loss counts every row)
                M = K.clone()
                M.diagonal().add_(damping)
                L, info = torch.linalg.cholesky_ex(M)
                if int(info) == 0:
                    if small:
                        delta = -(J.t() @ torch.cholesky_solve(rows[:, None], L)[:, 0])
                    else:
                        delta = -torch.cholesky_solve(g[:, None], L)[:, 0]
                    trial = stepped(delta)
                    new_rows, _ = loss.rows(trial)
                    state["n_eval"] += 1
                    new = float(new_rows.square().sum())
                    # the gain against the linear model's (Madsen, Nielsen & Tingleff
                    # 2004): a good model lowers the damping, a poor one raises it
                    predicted = solved - float((rows + J @ delta).square().sum())
                    gain = (value - new) / predicted if predicted > 0 else -1.0
                    if math.isfinite(new) and new < value:
                        params, accepted = trial, True
                        damping *= max(1.0 / 3.0, 1.0 - (2.0 * gain - 1.0) ** 3)
                        damping = max(damping, 1e-15 * float(K.diagonal().mean()))
                        growth = 2.0
                        break
                damping *= growth
                growth *= 2.0
            state["n_iter"] += 1
            state["best_loss"] = new if accepted else value
            with torch.no_grad():
                for p, q in zip(parameters, params):
                    p.copy_(q)
            bar.update()
            bar.set_postfix(loss=f"{value:.3e}", refresh=False)
            if not accepted:
                break  # no damped step lowers the loss: converged to rounding
    warn_if_stopped(state, owner, state["best_loss"])
    return state

