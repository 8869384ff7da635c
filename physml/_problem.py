"""The problem one PINN fit trains: points, loss terms and derivative plan.

Built by :class:`~physml.PINNRegressor` from a frozen :class:`ProblemConfig`, the data and
a fresh network; strategies (:mod:`physml.strategies`) call :meth:`PINNProblem.train` on
the equations, sub-domains and observations they choose, and return the model they leave
with the reports of their stages. The problem writes nothing on the estimator: ``fit``
reads ``problem.history`` and the reports, and sets every fitted attribute in one place.

Derivatives: the first and pure second derivatives of every output go through the
network's hand-written jets (:meth:`physml._mlp.MLP.jet`); an equation that reads a mixed
or third-order derivative, or an ``output_transform``, takes autograd for all of them
(both checked against each other in ``tests/test_pinn.py``).
"""

import dataclasses
import math
import warnings

import numpy as np
import torch

from ._base import average, dtype_name, resolve_dtype
from ._gauss_newton import GaussNewtonLoss, RowModel, levenberg_marquardt
from ._mlp import supports_jet
from ._trainer import minimize
from .pde._base import _as_outputs, parse_derivative


@dataclasses.dataclass(frozen=True)
class ProblemConfig:
    """What a fit fixes before training: the estimator's parameters, resolved."""

    settings: object  # strategies.TrainingSettings
    n_collocation: int
    n_boundary: int
    residual_weight: float
    learning_rate: float = None
    learn_coefficients: tuple = ()
    output_transform: object = None
    compile: bool = False
    verbose: int = 0
    seed: int = 0
    device: object = "cpu"
    owner: str = "PINNRegressor"


class PiecewiseInTime(torch.nn.Module):
    """One network per time block ``(edges[k], edges[k+1]]`` (the first block closed).

    What time marching leaves behind: ``forward`` sends each row to the network of the
    block its time (column ``time_index``) falls in.
    """

    def __init__(self, edges, networks, time_index=1):
        super().__init__()
        self.register_buffer("edges", torch.as_tensor(edges, dtype=torch.float64))
        self.networks = torch.nn.ModuleList(networks)
        self.time_index = int(time_index)

    def blocks(self):
        """The blocks as ``[(t_start, t_end), ...]``."""
        edges = self.edges.tolist()
        return list(zip(edges[:-1], edges[1:]))

    def block_of(self, t):
        inner = self.edges[1:-1].to(device=t.device)
        return torch.bucketize(t.to(inner.dtype).contiguous(), inner, right=False)

    def forward(self, X):
        which = self.block_of(X[:, self.time_index])
        out = None
        for k, network in enumerate(self.networks):
            rows = which == k
            if rows.any():
                part = network(X[rows])
                if out is None:
                    out = X.new_empty((X.shape[0], part.shape[1]))
                out[rows] = part
        return out


class CausalWeights:
    """The residual weighted in time (Wang, Sankaran & Perdikaris 2022): the time span is
    cut into ``n_chunks`` chunks; chunk i's mean squared residual ``L_i`` enters the loss
    with the weight ``w_i = exp(-eps * sum_{j<i} L_j / S)``, so that later times count
    only once the earlier ones are fitted; ``S`` is the total ``sum_i L_i`` at the first
    update (``scale=None``) or ``1 / scale``. The weights are held fixed between updates (every
    ``update_every`` iterations: L-BFGS needs one loss to minimize); ``eps`` walks through
    ``tols``, moving on when every weight exceeds ``advance_at``. Made by
    :class:`physml.strategies.Causal`; ``record`` keeps the weights of every update."""

    def __init__(self, n_chunks, tols, update_every, advance_at=0.99, scale=None):
        self.n_chunks, self.tols = int(n_chunks), [float(t) for t in tols]
        self.scale = scale
        self.update_every, self.advance_at = int(update_every), float(advance_at)
        self.level, self.weights, self.record, self.tol_record = 0, None, [], []

    def chunks(self, t_range, t_index):
        self.t0, self.t1 = map(float, t_range)
        self.t_index = t_index
        return self

    def _index(self, X):
        s = (X[:, self.t_index] - self.t0) / (self.t1 - self.t0)
        return (s * self.n_chunks).long().clamp(0, self.n_chunks - 1)

    def _chunk_means(self, squared, X):
        index = self._index(X)
        total = squared.new_zeros(self.n_chunks).index_add(0, index, squared)
        count = torch.bincount(index, minlength=self.n_chunks).clamp(min=1)
        return total / count.to(squared.dtype)

    def update(self, squared, X):
        """New weights from the squared residual at the current points."""
        L = self._chunk_means(squared.detach(), X)
        before = torch.cat([L.new_zeros(1), torch.cumsum(L, 0)[:-1]])
        if self.scale is None:
            # Relative to the first update's total: the tolerances hold for any equation's
            # units (convection's residual scales with beta^2).
            total = float(L.sum())
            self.scale = 1.0 / total if np.isfinite(total) and total > 0 else 1.0
        while True:
            weights = torch.exp(-self.tols[self.level] * self.scale * before)
            if (float(weights.min()) <= self.advance_at
                    or self.level == len(self.tols) - 1):
                break
            self.level += 1
        self.weights = weights
        self.record.append(weights.double().cpu().numpy())
        self.tol_record.append(self.tols[self.level])

    def weighted(self, squared, X):
        """``mean_i w_i L_i``."""
        return (self.weights.to(squared.dtype) * self._chunk_means(squared, X)).mean()


def derivative_plan(indices):
    """``(first, second)``: the coordinates whose first and pure second derivatives the
    derivative indices (tuples of coordinate columns) need, or None if one is mixed or of
    third order (autograd then computes them all)."""
    first, second = set(), set()
    for index in indices:
        if len(index) == 1:
            first.add(index[0])
        elif len(index) == 2 and index[0] == index[1]:
            first.add(index[0])
            second.add(index[0])
        else:
            return None
    return tuple(sorted(first)), tuple(sorted(second))


def autograd_derivatives(forward, X, n_d, names):
    """Outputs on every row of ``X`` and the named input derivatives (``name -> (output,
    coordinate indices)``) on its first ``n_d`` rows, through autograd (any order)."""
    X_d = X[:n_d].detach().requires_grad_(True)
    u_d = forward(X_d)
    u = torch.cat([u_d, forward(X[n_d:])]) if X.shape[0] > n_d else u_d
    cache = {}

    def derivative(output, index):
        key = (output, index)
        if key not in cache:
            lower = u_d[:, output] if len(index) == 1 else derivative(output, index[:-1])
            grad = torch.autograd.grad(lower.sum(), X_d, create_graph=True)[0]
            cache[key] = grad[:, index[-1]]
            if len(index) == 1:
                # one reverse sweep gives every first derivative of this output
                for column in range(X.shape[1]):
                    cache.setdefault((output, (column,)), grad[:, column])
        return cache[key]

    return u, {name: derivative(o, index) for name, (o, index) in names.items()}


#: How many times more uniform candidates than points residual-based sampling draws from.
#: Drawn without replacement, a region gets at most this many times its uniform share of
#: points: Allen-Cahn's early times and interfaces, where the residual is 10 to 100 times
#: the rest, need a pool several times the points (Wu et al. 2023 draw from a dense set).
#: The candidates' residual costs a few evaluations per redraw.
RAD_POOL = 16
#: A held-out check (:meth:`PINNProblem.held_out`) evaluates the residual at this many
#: times a point set's size of fresh points.
HELD_OUT_FACTOR = 10


class PINNProblem:
    """The loss of one PINN fit: observations, boundary points, collocation points.

    Strategies call :meth:`train` with the equation to train on (and, for time marching,
    the sub-domain and its observations); the network is shared, so each call warm-starts
    from the last. ``history`` holds one entry per loss evaluation.
    """

    def __init__(self, config, pde, network, X, y):
        self.config, self.pde, self.network = config, pde, network
        self.settings = config.settings
        dtype = resolve_dtype(self.settings.dtype)
        self.device, self.dtype, self.base_dtype = config.device, dtype, dtype
        y = np.array(y, dtype=float)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        # Kept in float64; the loss reads them in the precision of the stage it trains.
        self._obs = (torch.as_tensor(np.array(X, dtype=float), device=self.device),
                     torch.as_tensor(y, device=self.device))
        self.generator = torch.Generator().manual_seed(config.seed)
        self._held_out_generator = torch.Generator().manual_seed(config.seed + 1)
        self._points, self._faces = {}, {}
        self.history, self._n_stages = {}, 0
        self._said_eager = False  # compile=True could not apply, and the user was told
        # Learned coefficients: name -> (raw trainable tensor, transform to the value).
        self.learned = {}
        for name in config.learn_coefficients:
            value = float(pde.coefficients[name])
            positive = name in pde.positive_coefficients
            raw = torch.tensor(np.log(value) if positive else value, dtype=dtype,
                               device=self.device, requires_grad=True)
            self.learned[name] = (raw, torch.exp if positive else _identity)

    # Coefficients, precision, points --------------------------------------------------

    def coefficient_values(self, pde):
        """The coefficients the loss uses: the equation's, with learned ones as tensors."""
        values = dict(pde.coefficients)
        values.update({name: transform(raw) for name, (raw, transform) in self.learned.items()})
        return values

    def learned_values(self):
        with torch.no_grad():
            return {name: float(transform(raw)) for name, (raw, transform)
                    in self.learned.items()}

    def parameters(self):
        """The trainable tensors: the network's weights and the learned coefficients."""
        return [*self.network.parameters(), *(raw for raw, _ in self.learned.values())]

    @property
    def X_obs(self):
        return self._obs[0].to(self.dtype)

    @property
    def y_obs(self):
        return self._obs[1].to(self.dtype)

    def use_dtype(self, dtype):
        """Train in ``dtype`` from now on: the network and learned coefficients are
        converted in place (the points and observations are read from float64 copies)."""
        if dtype == self.dtype:
            return
        self.network.to(dtype=dtype)
        for raw, _ in self.learned.values():
            raw.data = raw.data.to(dtype)
        self.dtype = dtype

    def outputs(self, X):
        """The model's outputs ``(n, n_outputs)`` at rows ``X`` (the output transform
        applied)."""
        u = self.network(X)
        transform = self.config.output_transform
        return u if transform is None else _transformed(transform, X, u)

    def collocation_points(self, domain, n):
        """``n`` points uniform in ``domain``; the same points each time for the same domain
        and count (curriculum stages train on one point set, as in the paper)."""
        key = _points_key(domain, n)
        if key not in self._points:
            self._points[key] = self._draw(domain, n)
        return self._points[key].to(self.dtype)

    def held_out(self, pde, domain, n):
        """Whether the fit holds between its ``(domain, n)`` collocation points.

        Returns ``(ratio, X, squared)``: ``X`` holds ``HELD_OUT_FACTOR * n`` fresh points
        uniform in ``domain``, ``squared`` the summed squared residuals there, and
        ``ratio`` their mean over the mean at the training points (near 1 when the fit
        holds between its points; far above where a front is narrower than their
        spacing). The fresh points come from a generator of their own, so that a check
        leaves the training points' draws as they would be without it."""
        names, _ = self._derivative_names(pde, [])
        squared = self._squared_residual(pde, names)
        X = self._draw(domain, HELD_OUT_FACTOR * int(n), self._held_out_generator)
        fresh = squared(X.to(self.dtype))
        trained = squared(self.collocation_points(domain, n)).double().mean()
        ratio = float(fresh.double().mean() / trained.clamp(min=1e-300))
        return ratio, X, fresh

    def add_points(self, domain, n, X, squared):
        """Add the ``n`` fresh points of ``X`` with the largest squared residuals
        ``squared`` (as :meth:`held_out` returns them) to the ``(domain, n)`` collocation
        points (residual-based adaptive refinement, Lu et al. 2021, as DeepXDE does it);
        a later :meth:`train` with that domain and count trains on the old and the new.

        The largest rather than drawn in proportion to the residual (RAR-D, Wu et al.
        2023): a boundary layer a few points wide (the two-species problem's first time
        block) needs exactly the points where the residual peaks."""
        key = _points_key(domain, n)
        self.collocation_points(domain, n)  # drawn, if they were not yet
        chosen = X[torch.topk(squared, min(int(n), squared.shape[0])).indices]
        self._points[key] = torch.cat([self._points[key], chosen.to(self._points[key])])

    def _draw(self, domain, n, generator=None):
        """``n`` points uniform in ``domain`` (float64), from ``generator`` (the fit's)."""
        low = torch.tensor([float(r[0]) for r in domain], dtype=torch.float64)
        span = torch.tensor([float(r[1]) - float(r[0]) for r in domain], dtype=torch.float64)
        unit = torch.rand((n, len(domain)), generator=generator or self.generator,
                          dtype=torch.float64)
        return (low + unit * span).to(device=self.device)

    def boundary_faces(self, pde, domain):
        """The faces with a boundary condition on ``domain``: ``(column, side, kind, X,
        g)`` with rows ``X`` (float64) and the condition's values ``g`` (None for a
        periodic face)."""
        key = tuple(tuple(map(float, r)) for r in domain)
        if getattr(self.network, "builds_in_boundary", False):
            return []  # the model holds the boundary conditions by construction
        if key not in self._faces:
            faces = []
            for column, side, kind, X in pde.boundary_faces(self.config.n_boundary, domain):
                g = None
                if kind != "periodic":
                    g = _as_outputs(pde.boundary_condition(X), X.shape[0], len(pde.outputs),
                                    "boundary_condition")
                    g = torch.as_tensor(g, device=self.device)
                faces.append((column, side, kind, torch.as_tensor(X, device=self.device), g))
            self._faces[key] = faces
        return self._faces[key]

    # Training -------------------------------------------------------------------------

    def train(self, pde, desc="fit", domain=None, X_obs=None, y_obs=None, n_collocation=None,
              iter_factor=1.0, dtype=None, causal=None, resample=True, **changes):
        """Train the network on ``pde`` over ``domain`` with observations ``(X_obs, y_obs)``
        (the fit's by default) and ``n_collocation`` points (the fit's), for ``iter_factor``
        times the resolved iterations, in ``dtype`` (the resolved one when None);
        ``changes`` replace settings of this stage (``optimizer="lbfgs"``). ``causal``
        (a :class:`CausalWeights`) weights the residual in time; ``resample=False`` keeps
        the stage on fixed points whatever ``resample_every`` says.

        Returns the trainer's report with the stage's record under ``"stage"``."""
        settings = self.settings.scaled(iter_factor,
                                        None if dtype is None else dtype_name(dtype))
        settings = dataclasses.replace(settings, **changes)
        self.use_dtype(resolve_dtype(settings.dtype))
        X_obs = self.X_obs if X_obs is None else X_obs.to(self.dtype)
        y_obs = self.y_obs if y_obs is None else y_obs.to(self.dtype)
        domain = tuple(domain or (pde.domain if pde is not None else ()))
        resample_every = settings.resample_every if resample else None
        self.sampling = settings.sampling
        loss_terms = self.loss_terms(pde, domain, X_obs, y_obs,
                                     n_collocation or self.config.n_collocation,
                                     causal=causal, resample_every=resample_every)
        refresh = getattr(loss_terms, "refresh", None)
        every = math.gcd(int(resample_every or 0),
                         int(causal.update_every) if causal is not None else 0) or None
        if self.config.compile and getattr(loss_terms, "compilable", True):
            loss_terms = _compiled(loss_terms)
        elif self.config.compile and not self._said_eager:
            self._said_eager = True
            warnings.warn(
                f"{self.config.owner}: compile=True has no effect on this fit, which runs "
                "eagerly: its input derivatives come through autograd (a mixed derivative, "
                "a network without hand-written jets such as architecture='modified', or "
                "the chain rule of constraints='exact' or an output_transform), and "
                "torch.compile cannot differentiate them a second time", UserWarning,
                stacklevel=2)
        history = self.history
        before = len(history.get("loss", ()))
        if self.learned:
            loss_terms = self._recording(loss_terms, history)
        parameters = self.parameters()
        report = None
        if self.learned and self._n_stages == 0 and pde is not None and X_obs.shape[0]:
            report = self._start_from_observations(
                pde, domain, X_obs, y_obs, n_collocation or self.config.n_collocation,
                settings, desc, history)
            if settings.optimizer == "adam+lbfgs":
                # Adam's warm-up brings a random network into a basin; this one starts in
                # it, and Adam's first steps would only shake it out.
                settings = dataclasses.replace(settings, optimizer="lbfgs", warmup_iter=0)
        if report is None and settings.optimizer == "lm":
            report = self._gauss_newton(pde, domain, X_obs, y_obs,
                                        n_collocation or self.config.n_collocation,
                                        settings, desc, history)
        if report is None:  # (not stopped by Ctrl-C or a divergence in the first phases)
            report = minimize(
                loss_terms, parameters, optimizer=settings.optimizer,
                max_iter=settings.max_iter, learning_rate=self.config.learning_rate,
                warmup_iter=settings.warmup_iter, tol=settings.tol,
                history_size=settings.lbfgs_history_size, verbose=self.config.verbose,
                desc=desc, history=history, owner=self.config.owner,
                refresh=refresh, refresh_every=every if refresh is not None else None,
            )
        self._pad(history)
        history.setdefault("stage", []).extend(
            [self._n_stages] * (len(history.get("loss", ())) - before))
        self._n_stages += 1
        coefficients = dict(pde.coefficients) if pde is not None else {}
        report["stage"] = {"coefficients": coefficients, "domain": domain or None,
                           "n_iter": report["n_iter"], "loss": report["best_loss"],
                           "stopped": report["stopped"], **settings.as_dict()}
        if causal is not None:
            report["stage"]["causal_weights"] = np.array(causal.record)
            report["stage"]["causal_tol"] = list(causal.tol_record)
        return report

    def _gauss_newton(self, pde, domain, X_obs, y_obs, n_collocation, settings, desc,
                      history):
        """``settings.max_iter`` Levenberg-Marquardt steps on the plain loss (no causal
        weights), each on ``n_collocation`` new points in ``domain``, drawn as
        ``self.sampling`` says (:mod:`physml._gauss_newton`)."""
        faces = self.boundary_faces(pde, domain)
        names, slope_columns = self._derivative_names(pde, faces)
        model = RowModel(self, pde, names, slope_columns)
        loss = GaussNewtonLoss(model, self.config.residual_weight,
                               [(c, side, kind, X.to(self.dtype),
                                 None if g is None else g.to(self.dtype))
                                for c, side, kind, X, g in faces], X_obs, y_obs)
        squared_residual = self._squared_residual(pde, names)
        return levenberg_marquardt(
            loss, model.parameters(),
            lambda: self._resample(domain, n_collocation, squared_residual),
            max_iter=settings.max_iter, verbose=self.config.verbose, desc=desc,
            history=history, owner=self.config.owner)

    def _start_from_observations(self, pde, domain, X_obs, y_obs, n_collocation, settings,
                                 desc, history):
        """Where an inverse problem starts: fit the observations alone, then the learned
        coefficients alone to the equation on that fit (the network held), so that the
        joint training starts near the data and from coefficients that agree with it.

        Started from a random network and guessed coefficients, the residual dominates the
        loss and the joint optimization settles on a trivial solution of the equation
        (the Lorenz system at C1 = 0) far from the data; the estimate of the coefficients
        from a smooth fit of the data is the classical start of ODE parameter estimation
        (gradient matching; Ramsay et al. 2007)."""
        network_parameters = list(self.network.parameters())
        data = self._data_loss(X_obs, y_obs)
        common = dict(learning_rate=None, tol=settings.tol,
                      history_size=settings.lbfgs_history_size, verbose=self.config.verbose,
                      history=history, owner=self.config.owner)
        self._pad(history)
        first = minimize(self._recording(data, history), network_parameters,
                         optimizer=settings.optimizer, max_iter=settings.max_iter // 4,
                         warmup_iter=settings.warmup_iter,
                         desc=f"{desc}: observations first", **common)
        if first["stopped"]:
            self._pad(history)
            return first
        X_c = self.collocation_points(domain, n_collocation)
        names, _ = self._derivative_names(pde, [])
        u, d = autograd_derivatives(self.outputs, X_c, X_c.shape[0], names)
        u = (u[:, 0] if len(pde.outputs) == 1 else u).detach()
        d = {k: v.detach() for k, v in d.items()}

        def residual_only():
            r = pde.residual(X_c, u, d, self.coefficient_values(pde))
            r = r if isinstance(r, (tuple, list)) else (r,)
            return {"residual": sum(average(part.square()) for part in r)}

        second = minimize(self._recording(residual_only, history),
                          [raw for raw, _ in self.learned.values()], optimizer="lbfgs",
                          max_iter=100, desc=f"{desc}: coefficients on that fit", **common)
        self._pad(history)
        return second if second["stopped"] else None

    @staticmethod
    def _pad(history):
        """Give every term a value at every evaluation so far (NaN where an evaluation did
        not compute it: the phases before an inverse problem's joint training)."""
        n = len(history.get("loss", ()))
        for key, values in history.items():
            if key != "stage" and len(values) < n:
                values.extend([float("nan")] * (n - len(values)))

    def _recording(self, loss_terms, history):
        """Append the learned coefficients' values to ``history`` at every evaluation."""
        def recorded():
            terms = loss_terms()
            for name, value in self.learned_values().items():
                history.setdefault(name, []).append(value)
            return terms

        return recorded

    def loss_terms(self, pde, domain, X_obs, y_obs, n_collocation, causal=None,
                   resample_every=None):
        """A closure returning the named loss terms (their sum is the loss); with
        ``resample_every`` or ``causal`` it has a ``refresh(done)``, called by the trainer,
        that draws new collocation points (uniform or residual-based, ``self.sampling``)
        every ``resample_every`` iterations and updates the causal weights every
        ``causal.update_every``."""
        if pde is None:
            return self._data_loss(X_obs, y_obs)
        return self._physics_loss(pde, domain, X_obs, y_obs, n_collocation, causal=causal,
                                  resample_every=resample_every)

    def _data_loss(self, X_obs, y_obs):
        data = _data_term(y_obs)

        def loss_terms():
            return {"data": data(self.outputs(X_obs))}

        return loss_terms

    def _derivative_names(self, pde, faces):
        """``name -> (output, coordinate indices)``: the residual's derivatives and the first
        derivatives the boundary needs (the normal derivative on a Neumann face, and the
        slope across a periodic one when the equation is second order in its coordinate)."""
        coordinates, outputs = tuple(pde.coordinates), tuple(pde.outputs)
        names = {name: parse_derivative(name, coordinates, outputs) for name in pde.derivatives}
        boundary = set()
        for column, _, kind, _, _ in faces:
            second_order = any(index.count(column) >= 2 for _, index in names.values())
            if kind == "neumann" or (kind == "periodic" and second_order):
                boundary.add(column)
        for column in sorted(boundary):
            for o, output in enumerate(outputs):
                names.setdefault(f"{output}_{coordinates[column]}", (o, (column,)))
        return names, boundary

    def _physics_loss(self, pde, domain, X_obs, y_obs, n_collocation, causal=None,
                      resample_every=None):
        network, weight = self.network, self.config.residual_weight
        # A model with exact constraints differentiates its network and combines (like an
        # output transform) the network's output with what it builds in.
        transform = self.config.output_transform or getattr(network, "combine", None)
        single = len(pde.outputs) == 1
        X_c = self.collocation_points(domain, n_collocation)
        faces = self.boundary_faces(pde, domain)
        names, slope_columns = self._derivative_names(pde, faces)
        X_faces = [X.to(self.dtype) for *_, X, _ in faces]
        g_faces = [None if g is None else g.to(self.dtype) for *_, g in faces]
        n_c = X_c.shape[0]
        n_faces = sum(X.shape[0] for X in X_faces)
        n_d = n_c + (n_faces if slope_columns else 0)
        points = {"X_c": X_c, "X_all": torch.cat([X_c, *X_faces, X_obs])}
        plan = derivative_plan([index for _, index in names.values()])
        fast = plan is not None and supports_jet(network)
        data = _data_term(y_obs)
        check_residual(pde, self, X_c[:4], names)
        chunks = None
        if causal is not None:
            t_index = pde.time_index
            if t_index is None:
                raise ValueError(f"causal weights need a time coordinate 't': "
                                 f"{type(pde).__name__} is steady")
            chunks = causal.chunks(domain[t_index], t_index)

        def residuals(X_c, u, d):
            return self._summed_squares(pde, X_c, u, d)

        def derivatives():
            X_all = points["X_all"]
            if not fast:
                return autograd_derivatives(self.outputs, X_all, n_d, names)
            first, second = plan
            u, D = network.jet(X_all, n_d, first, second)
            rows = {(c,): i for i, c in enumerate(first)}
            rows.update({(c, c): len(first) + i for i, c in enumerate(second)})
            if transform is not None:
                return _transformed_jet(transform, X_all, n_d, u, D, rows, names)
            return u, {name: D[rows[index], :, o] for name, (o, index) in names.items()}

        def loss_terms():
            u, d = derivatives()
            u_c = u[:n_c, 0] if single else u[:n_c]
            X_c = points["X_c"]
            squared = residuals(X_c, u_c, {k: v[:n_c] for k, v in d.items()})
            if chunks is None:
                residual = average(squared)
            else:
                residual = chunks.weighted(squared, X_c)
            terms = {"residual": weight * residual}
            if faces:
                terms["boundary"] = self._boundary_term(pde, faces, u, d, n_c, g_faces,
                                                        slope_columns)
            if X_obs.shape[0]:
                terms["data"] = data(u[n_c + n_faces:])
            return terms

        # torch.compile cannot differentiate autograd's input derivatives a second time,
        # and a transform's chain rule (exact constraints, output_transform) takes them
        loss_terms.compilable = fast and transform is None
        if not (resample_every or chunks is not None):
            return loss_terms

        squared_residual = self._squared_residual(pde, names)

        def refresh(done):
            if resample_every and done % resample_every == 0:
                X_c = self._resample(domain, n_c, squared_residual)
                points["X_c"] = X_c
                points["X_all"] = torch.cat([X_c, *X_faces, X_obs])
            if chunks is not None and done % chunks.update_every == 0:
                chunks.update(squared_residual(points["X_c"]), points["X_c"])

        loss_terms.refresh = refresh
        if chunks is not None:
            chunks.update(squared_residual(points["X_c"]), points["X_c"])
        return loss_terms

    def _squared_residual(self, pde, names):
        """``X -> `` the summed squared residuals at the rows of ``X`` (no graph kept)."""
        single = len(pde.outputs) == 1

        def squared_residual(X):
            out = []
            for start in range(0, X.shape[0], 8192):
                part = X[start:start + 8192]
                u, d = autograd_derivatives(self.outputs, part, part.shape[0], names)
                u = u[:, 0] if single else u
                out.append(self._summed_squares(pde, part, u, d).detach())
            return torch.cat(out)

        return squared_residual

    def _summed_squares(self, pde, X, u, d):
        """The equations' squared residuals at the rows of ``X``, summed over equations."""
        r = pde.residual(X, u, d, self.coefficient_values(pde))
        r = r if isinstance(r, (tuple, list)) else (r,)
        return sum(part.square() for part in r)

    def _resample(self, domain, n, squared_residual):
        """``n`` new collocation points: uniform, or residual-based (RAD, Wu et al. 2023:
        from a uniform pool ``RAD_POOL`` times larger, drawn without replacement with
        probability proportional to ``|r| / mean|r| + 1``)."""
        if self.sampling == "uniform":
            return self._draw(domain, n).to(self.dtype)
        pool = self._draw(domain, RAD_POOL * n).to(self.dtype)
        return pool[residual_draw(squared_residual(pool), n, self.generator)]

    @staticmethod
    def _boundary_term(pde, faces, u, d, n_c, g_faces, slope_columns):
        """The boundary loss: per face pair, ``u_min - u_max`` (and the slope when the
        equation is second order in that coordinate) for a periodic coordinate; per face,
        ``u - g`` (Dirichlet) or the outward normal derivative ``- g`` (Neumann)."""
        outputs, coordinates = pde.outputs, pde.coordinates
        total, start, values = 0.0, n_c, []
        for (column, side, kind, X, _), g in zip(faces, g_faces):
            rows = slice(start, start + X.shape[0])
            start += X.shape[0]
            slope = [f"{o}_{coordinates[column]}" for o in outputs]
            if kind == "periodic":
                values.append((u[rows], torch.stack([d[s][rows] for s in slope], 1)
                               if column in slope_columns else None))
                if side == 1:
                    (u0, s0), (u1, s1) = values
                    total = total + average((u0 - u1).square())
                    if s0 is not None:
                        total = total + average((s0 - s1).square())
                    values = []
            elif kind == "dirichlet":
                total = total + average((u[rows] - g).square())
            else:  # neumann: the outward normal derivative
                normal = torch.stack([d[s][rows] for s in slope], 1)
                total = total + average(((normal if side else -normal) - g).square())
        return total


def residual_draw(squared, n, generator):
    """The indices of ``n`` of the points whose squared residuals are ``squared``, drawn
    without replacement with probability proportional to ``|r| / mean|r| + 1`` (RAD, Wu et
    al. 2023: the residual's peaks get most of them, and every point keeps a chance)."""
    magnitude = squared.sqrt().double().cpu()
    density = magnitude / average(magnitude).clamp(min=1e-300) + 1.0
    density = torch.where(torch.isfinite(density), density, torch.ones_like(density))
    n = min(int(n), density.shape[0])
    chosen = torch.multinomial(density, n, replacement=False, generator=generator)
    return chosen.to(squared.device)


def _points_key(domain, n):
    return tuple(tuple(map(float, r)) for r in domain), int(n)


def check_residual(pde, problem, X, names):
    """Evaluate the residual once on a few rows and raise a ValueError naming what is wrong
    (the number of equations, a shape) before any training."""
    if X.shape[0] == 0:
        return
    u, d = autograd_derivatives(problem.outputs, X, X.shape[0], names)
    u = u[:, 0] if len(pde.outputs) == 1 else u
    with torch.no_grad():
        r = pde.residual(X, u, d, problem.coefficient_values(pde))
    parts = r if isinstance(r, (tuple, list)) else (r,)
    if len(parts) != len(pde.outputs):
        raise ValueError(
            f"{type(pde).__name__}.residual returned {len(parts)} equation(s) for "
            f"{len(pde.outputs)} output(s) {tuple(pde.outputs)}: return one tensor per "
            "equation (a tuple for a system)")
    for k, part in enumerate(parts):
        shape = tuple(getattr(part, "shape", ()))
        if not torch.is_tensor(part) or shape != (X.shape[0],):
            raise ValueError(
                f"{type(pde).__name__}.residual: equation {k} has shape {shape} for "
                f"{X.shape[0]} points; each equation must be a tensor of shape (n,)")


def _data_term(y_obs):
    """The observations' loss: per output, the mean squared error over the rows where it is
    observed (a NaN in ``y_obs`` is an output not observed at that row), summed over the
    outputs as the residual is over the equations."""
    observed = torch.isfinite(y_obs)
    if bool(observed.all()):
        if y_obs.shape[1] == 1:
            return lambda u: average((u - y_obs).square())
        return lambda u: (u - y_obs).square().mean(0).sum()
    target = torch.where(observed, y_obs, torch.zeros_like(y_obs))
    count = observed.sum(0).clamp(min=1)
    return lambda u: (((u - target).square() * observed).sum(0) / count).sum()


def _transformed_jet(transform, X, n_d, N, D, rows, names):
    """The outputs ``u = transform(X, N)`` and their named derivatives, from the network's
    jet ``(N, D)`` by the chain rule: autograd differentiates only the (elementwise)
    transform, the network's derivatives come from its hand-written jet.

    Along coordinate i, ``u_i = f_X_i + f_N . N_i`` and ``u_ii = d/dX_i (f_X_i + f_N . N_i)
    + (d/dN (f_X_i + f_N . N_i)) . N_i + f_N . N_ii``, ``N_i`` held fixed inside the
    partial derivatives."""
    X_d = X[:n_d].detach().requires_grad_(True)
    N_d = N[:n_d]
    u_d = _transformed(transform, X_d, N_d)
    u = torch.cat([u_d, _transformed(transform, X[n_d:], N[n_d:])]) if X.shape[0] > n_d \
        else u_d

    def partials(value):
        gX, gN = torch.autograd.grad(value.sum(), (X_d, N_d), create_graph=True,
                                     allow_unused=True)
        return (torch.zeros_like(X_d) if gX is None else gX,
                torch.zeros_like(N_d) if gN is None else gN)

    first, out = {}, {}
    for name, (o, index) in names.items():
        column = index[0]
        if (o, column) not in first:
            gX, gN = partials(u_d[:, o])
            slope = gX[:, column] + (gN * D[rows[(column,)]]).sum(1)
            first[(o, column)] = (slope, gN)
        slope, gN = first[(o, column)]
        if len(index) == 1:
            out[name] = slope
        else:
            hX, hN = partials(slope)
            N_i = D[rows[(column,)]]
            out[name] = (hX[:, column] + (hN * N_i).sum(1)
                         + (gN * D[rows[(column, column)]]).sum(1))
    return u, out


def _transformed(transform, X, u):
    out = transform(X, u[:, 0] if u.shape[1] == 1 else u)
    return out.reshape(u.shape) if out.dim() == 1 else out


def _identity(value):
    return value


def _compiled(loss_terms):
    import torch._dynamo

    # Each fit (and each curriculum stage) compiles its own closure; let them all be cached
    # instead of falling back to eager after dynamo's default of 8.
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    return torch.compile(loss_terms, dynamic=False)
