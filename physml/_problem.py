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
from scipy.stats import qmc

from ._base import average, dtype_name, resolve_dtype
from ._checkpoint import GeneratorState, checkpoint_silent
from ._loss import Field, PINNLoss, Term, network_point_model, parts_of
from ._mlp import MLP, supports_jet
from ._optimizers import LM_ITER_RATIO, continued, minimize, optimize
from .pde._base import PieceSide, _as_outputs, parse_derivative, robin_coefficient
from .strategies import Scope


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
    optimizer_given: bool = False  # the estimator's optimizer set, not "auto"
    checkpoint: object = None  # a physml._checkpoint.Checkpoint
    callbacks: object = None  # a physml.callbacks.CallbackList
    start_coefficients: dict = dataclasses.field(default_factory=dict)  # a warm start's


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


def autograd_derivatives(forward, X, n_d, names, graph=True):
    """Outputs on every row of ``X`` and the named input derivatives (``name -> (output,
    coordinate indices)``) on its first ``n_d`` rows, through autograd (any order).
    ``graph=False``: values only, no graph kept beyond what the higher derivatives need."""
    X_d = X[:n_d].detach().requires_grad_(True)
    u_d = forward(X_d)
    u = torch.cat([u_d, forward(X[n_d:])]) if X.shape[0] > n_d else u_d
    cache = {}

    def differentiated(output, index):
        # whether a requested derivative is taken of this one (the first sweep gives
        # every first derivative of the output, so any second derivative takes it)
        return any(o == output and len(i) > len(index)
                   and (len(index) == 1 or i[:len(index)] == index)
                   for o, i in names.values())

    def derivative(output, index):
        key = (output, index)
        if key not in cache:
            lower = u_d[:, output] if len(index) == 1 else derivative(output, index[:-1])
            keep = graph or differentiated(output, index)
            grad = torch.autograd.grad(lower.sum(), X_d, create_graph=keep,
                                       retain_graph=True)[0]  # (other outputs' sweeps)
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
            value = float(config.start_coefficients.get(name, pde.coefficients[name]))
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
        """``n`` points uniform in ``domain`` (float64), from ``generator`` (the fit's);
        where the equation's domain holds a geometry, uniform in its part of the box
        ``domain`` (drawn in the box, those outside the geometry rejected)."""
        low = torch.tensor([float(r[0]) for r in domain], dtype=torch.float64)
        span = torch.tensor([float(r[1]) - float(r[0]) for r in domain], dtype=torch.float64)
        unit = self._unit_draws(len(domain), generator)
        if self.pde is None or not self.pde.geometries:
            return (low + unit(n) * span).to(device=self.device)
        kept, found, tried = [], 0, 0
        while found < n:
            batch = max(2 * (n - found) * (tried // max(found, 1) if found else 1), 64)
            X = low + unit(batch) * span
            X = X[torch.as_tensor(self.pde.inside(X.numpy()))]
            kept.append(X)
            found, tried = found + X.shape[0], tried + batch
            if tried > 10_000_000 and not found:
                raise ValueError(f"no collocation point of {n} lies in the domain of "
                                 f"{type(self.pde).__name__} within {domain}")
        return torch.cat(kept)[:n].to(device=self.device)

    def _unit_draws(self, dim, generator=None):
        """``n -> (n, dim)`` points in the unit cube: uniform from ``generator`` (the
        fit's), or, for the fit's own draws under ``sampling="sobol"`` or ``"halton"``,
        scrambled quasi-random points seeded from it."""
        generator = generator or self.generator
        kind = getattr(self, "sampling", "uniform")
        if kind not in ("sobol", "halton") or generator is not self.generator:
            return lambda n: torch.rand((n, dim), generator=generator, dtype=torch.float64)
        seed = int(torch.randint(2 ** 31 - 1, (1,), generator=generator))
        engine = (qmc.Sobol if kind == "sobol" else qmc.Halton)(d=dim, scramble=True,
                                                                 seed=seed)

        def draw(n):
            with warnings.catch_warnings():  # Sobol' balance is best in powers of two
                warnings.simplefilter("ignore", UserWarning)
                return torch.as_tensor(engine.random(n), dtype=torch.float64)
        return draw

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
                if X.shape[0] == 0 and kind != "periodic":
                    continue  # a face wholly outside the domain's geometry
                g = None
                if isinstance(side, PieceSide):  # a geometry's piece: its outward normals
                    g = pde.boundary_values(X, side.piece)
                    side = torch.as_tensor(side.normals, device=self.device)
                elif kind != "periodic":
                    g = _as_outputs(pde.boundary_condition(X), X.shape[0], len(pde.outputs),
                                    "boundary_condition")
                g = None if g is None else torch.as_tensor(g, device=self.device)
                faces.append((column, side, kind, torch.as_tensor(X, device=self.device), g))
            self._faces[key] = faces
        return self._faces[key]

    # Training -------------------------------------------------------------------------

    def train(self, pde, scope=None, *, desc="fit", iter_factor=1.0, dtype=None, causal=None,
              resample=True, **changes):
        """Train the network on ``pde`` within ``scope`` (a
        :class:`~physml.strategies.Scope`: its domain, observations and collocation budget,
        the fit's where it leaves them None), for ``iter_factor`` times the scope's
        iterations, in ``dtype`` (the resolved one when None); ``changes`` replace
        settings of this stage (``optimizer="lbfgs"``). ``causal`` (a
        :class:`~physml.strategies.CausalWeights`) weights the residual in time;
        ``resample=False`` keeps the stage on fixed points whatever ``resample_every``
        says.

        Returns the optimizer's report with the stage's record under ``"stage"``."""
        scope = scope or Scope()
        domain, X_obs, y_obs = scope.domain, scope.X_obs, scope.y_obs
        n_collocation = scope.n_collocation
        iter_factor = iter_factor * scope.iter_factor
        settings = self.settings.scaled(iter_factor,
                                        None if dtype is None else dtype_name(dtype))
        settings = dataclasses.replace(settings, **changes)
        self.use_dtype(resolve_dtype(settings.dtype))
        X_obs = self.X_obs if X_obs is None else X_obs.to(self.dtype)
        y_obs = self.y_obs if y_obs is None else y_obs.to(self.dtype)
        domain = tuple(domain or (pde.bounds if pde is not None else ()))
        resample_every = settings.resample_every if resample else None
        self.sampling = settings.sampling
        n_collocation = n_collocation or self.config.n_collocation
        loss = self.loss(pde, domain, X_obs, y_obs, n_collocation, causal=causal,
                         resample_every=resample_every)
        objective = loss
        if self.config.compile and loss.compilable and settings.optimizer != "lm":
            objective = _compiled(loss)
        elif self.config.compile and not self._said_eager:
            self._said_eager = True
            warnings.warn(
                f"{self.config.owner}: compile=True has no effect on this fit, which runs "
                "eagerly: its input derivatives come through autograd (a mixed derivative, "
                "a network without hand-written jets such as architecture='modified', or "
                "the chain rule of constraints='exact' or an output_transform), or its "
                "optimizer is 'lm', and torch.compile cannot differentiate them a second "
                "time", UserWarning, stacklevel=2)
        history = self.history
        before = len(history.get("loss", ()))
        callbacks, checkpoint = self.config.callbacks, self.config.checkpoint
        replayed = checkpoint is not None and checkpoint.replaying
        stage = {"index": self._n_stages, "desc": desc}
        if callbacks is not None and not replayed:
            callbacks.stage_begin(stage)
        resumable = dict(checkpoint=checkpoint, restorables=[GeneratorState(self.generator)],
                         on_record=None if callbacks is None else self._on_record)
        if self.learned:
            objective = self._recording(objective, history)
            loss.observe = lambda: self._record_learned(history)
        report = None
        if self.learned and self._n_stages == 0 and pde is not None and X_obs.shape[0]:
            report = self._start_from_observations(pde, domain, X_obs, y_obs, n_collocation,
                                                   settings, desc, history, resumable)
            # Adam's warm-up brings a random network into a basin; this one starts in it.
            settings = dataclasses.replace(settings, optimizer=continued(settings.optimizer),
                                           warmup_iter=0)
        if report is None:  # (not stopped by Ctrl-C or a divergence in the first phases)
            every = math.gcd(int(resample_every or 0),
                             int(causal.update_every) if causal is not None else 0) or None
            report = optimize(
                loss, self.parameters(), optimizer=settings.optimizer, objective=objective,
                max_iter=settings.max_iter, learning_rate=self.config.learning_rate,
                warmup_iter=settings.warmup_iter, tol=settings.tol,
                history_size=settings.lbfgs_history_size, verbose=self.config.verbose,
                desc=desc, history=history, owner=self.config.owner,
                refresh=loss.refresh, refresh_every=every if loss.refresh else None,
                **dict(resumable, restorables=[*resumable["restorables"], loss]))
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
        if callbacks is not None and not checkpoint_silent(checkpoint):
            callbacks.stage_end({**stage, **report["stage"]})
        return report

    def _on_record(self, row):
        self.config.callbacks.record({**row, "stage": self._n_stages})

    def _start_from_observations(self, pde, domain, X_obs, y_obs, n_collocation, settings,
                                 desc, history, resumable):
        """Where an inverse problem starts: fit the observations alone, then the learned
        coefficients alone to the equation on that fit (the network held), so that the
        joint training starts near the data and from coefficients that agree with it.

        Started from a random network and guessed coefficients, the residual dominates the
        loss and the joint optimization settles on a trivial solution of the equation
        (the Lorenz system at C1 = 0) far from the data; the estimate of the coefficients
        from a smooth fit of the data is the classical start of ODE parameter estimation
        (gradient matching; Ramsay et al. 2007)."""
        network_parameters = list(self.network.parameters())
        data = self.loss(None, (), X_obs, y_obs, 0)
        common = dict(learning_rate=None, tol=settings.tol,
                      history_size=settings.lbfgs_history_size, verbose=self.config.verbose,
                      history=history, owner=self.config.owner, **resumable)
        self._pad(history)
        # The observations' fit is a plain regression: under Levenberg-Marquardt it runs
        # L-BFGS for a quarter of the budget the LM steps stand for (LM_ITER_RATIO).
        lm = settings.optimizer == "lm"
        first = minimize(self._recording(data, history), network_parameters,
                         optimizer="lbfgs" if lm else settings.optimizer,
                         max_iter=(settings.max_iter * (LM_ITER_RATIO if lm else 1)) // 4,
                         warmup_iter=settings.warmup_iter,
                         desc=f"{desc}: observations first", **common)
        if first["stopped"]:
            self._pad(history)
            return first
        X_c = self.collocation_points(domain, n_collocation)
        names, _ = self._derivative_names(pde, [])
        u, d = autograd_derivatives(self.outputs, X_c, X_c.shape[0], names)
        fields = [Field(X_c, u.detach(), {k: v.detach() for k, v in d.items()})]
        rows = residual_rows(pde)

        def residual_only():
            parts = parts_of(rows(fields, (), self.coefficient_values(pde)))
            return {"residual": sum(average(part.square()) for part in parts)}

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
            self._record_learned(history)
            return terms

        return recorded

    def _record_learned(self, history):
        for name, value in self.learned_values().items():
            history.setdefault(name, []).append(value)

    # The loss --------------------------------------------------------------------------

    def loss(self, pde, domain, X_obs, y_obs, n_collocation, causal=None,
             resample_every=None):
        """The loss of a stage (a :class:`physml._loss.PINNLoss`): the residual of ``pde``
        at ``n_collocation`` points in ``domain`` (weighted in time by ``causal``), its
        boundary conditions, the observations ``(X_obs, y_obs)``; the observations alone
        when ``pde`` is None.

        With ``resample_every`` or ``causal`` its ``refresh(done)``, called by the
        first-order optimizers, draws new collocation points (uniform or residual-based,
        ``self.sampling``) every ``resample_every`` iterations and updates the causal
        weights every ``causal.update_every``; its ``resample()``, called by
        Levenberg-Marquardt before every step, does both."""
        if pde is None:
            loss = PINNLoss([data_term(X_obs, y_obs)], {},
                            lambda X, n_d: (self.outputs(X), {}), self._point_model(),
                            self._coefficients_of(None))
            loss.compilable = True
            return loss
        X_c = self.collocation_points(domain, n_collocation)
        faces = self.boundary_faces(pde, domain)
        names, slope_columns = self._derivative_names(pde, faces)
        check_residual(pde, self, X_c[:4], names)
        chunks = None
        if causal is not None:
            t_index = pde.time_index
            if t_index is None:
                raise ValueError(f"causal weights need a time coordinate 't': "
                                 f"{type(pde).__name__} is steady")
            chunks = causal.chunks(domain[t_index], t_index)
        residual = Term("residual", (X_c,), residual_rows(pde),
                        derivatives=tuple(pde.derivatives),
                        weight=self.config.residual_weight, weighting=chunks)
        terms = [residual, *boundary_terms(pde, faces, slope_columns, self.dtype)]
        if X_obs.shape[0]:
            terms.append(data_term(X_obs, y_obs))
        plan = derivative_plan([index for _, index in names.values()])
        fast = plan is not None and supports_jet(self.network)
        loss = PINNLoss(terms, names, self._batched_derivatives(names, plan, fast),
                        self._point_model(), self._coefficients_of(pde))
        if fast and not self.learned:
            loss.jets = _jet_network(self.network)
        # torch.compile cannot differentiate autograd's input derivatives a second time,
        # and a transform's chain rule (exact constraints, output_transform) takes them;
        # a distance model keeps its point-only fields in a cache keyed on the points
        transform = self.config.output_transform or getattr(self.network, "combine", None)
        loss.compilable = fast and transform is None and not getattr(
            self.network, "builds_in_boundary", False)
        squared_residual = self._squared_residual(pde, names)

        def redraw():
            loss.replace_points(residual, (self._resample(domain, X_c.shape[0],
                                                          squared_residual),))

        def update_weights():
            X = residual.points[0]
            chunks.update(squared_residual(X), X)

        def refresh(done):
            if resample_every and done % resample_every == 0:
                redraw()
            if chunks is not None and done % chunks.update_every == 0:
                update_weights()

        def resample():
            redraw()
            if chunks is not None:
                update_weights()

        loss.resample = resample
        if resample_every or chunks is not None:
            loss.refresh = refresh
        if chunks is not None:
            update_weights()
        return loss

    def _point_model(self):
        n_network = sum(1 for _ in self.network.parameters())
        return network_point_model(self.network, n_network, self.config.output_transform)

    def _coefficients_of(self, pde):
        """``params -> coefficients``: the equation's, learned ones from ``params`` (the
        row evaluator) or the live tensors (``params`` None)."""
        if pde is None:
            return lambda params=None: {}
        n_network = sum(1 for _ in self.network.parameters())
        learned = list(self.learned.items())

        def coefficients(params=None):
            if params is None:
                return self.coefficient_values(pde)
            values = dict(pde.coefficients)
            for j, (name, (_, transform)) in enumerate(learned):
                values[name] = transform(params[n_network + j])
            return values

        return coefficients

    def _batched_derivatives(self, names, plan, fast):
        """``(X, n_d) -> (u, {name: derivative})``: the outputs on every row of ``X`` and
        the named derivatives on its first ``n_d`` rows, through the network's jets where
        ``fast`` (else autograd)."""
        network = self.network
        transform = self.config.output_transform or getattr(network, "combine", None)

        def derivatives(X, n_d):
            if not fast:
                return autograd_derivatives(self.outputs, X, n_d, names)
            first, second = plan
            u, D = network.jet(X, n_d, first, second)
            rows = {(c,): i for i, c in enumerate(first)}
            rows.update({(c, c): len(first) + i for i, c in enumerate(second)})
            if transform is not None:
                return _transformed_jet(transform, X, n_d, u, D, rows, names)
            return u, {name: D[rows[index], :, o] for name, (o, index) in names.items()}

        return derivatives

    def _derivative_names(self, pde, faces):
        """``name -> (output, coordinate indices)``: the residual's derivatives and the first
        derivatives the boundary needs (the normal derivative on a Neumann face, and the
        slope across a periodic one when the equation is second order in its coordinate)."""
        coordinates, outputs = tuple(pde.coordinates), tuple(pde.outputs)
        names = {name: parse_derivative(name, coordinates, outputs) for name in pde.derivatives}
        boundary = set()
        for column, _, kind, _, _ in faces:
            if isinstance(column, tuple):  # a geometry's piece: the gradient along its normals
                boundary.update(column if kind == "neumann" or robin_coefficient(kind)
                                is not None else ())
                continue
            second_order = any(index.count(column) >= 2 for _, index in names.values())
            if kind == "neumann" or robin_coefficient(kind) is not None or (
                    kind == "periodic" and second_order):
                boundary.add(column)
        for column in sorted(boundary):
            for o, output in enumerate(outputs):
                names.setdefault(f"{output}_{coordinates[column]}", (o, (column,)))
        return names, boundary

    def _squared_residual(self, pde, names):
        """``X -> `` the summed squared residuals at the rows of ``X`` (no graph kept)."""
        rows = residual_rows(pde)

        def squared_residual(X):
            out = []
            for start in range(0, X.shape[0], 8192):
                part = X[start:start + 8192]
                u, d = autograd_derivatives(self.outputs, part, part.shape[0], names,
                                            graph=False)
                parts = parts_of(rows([Field(part, u, d)], (), self.coefficient_values(pde)))
                out.append(sum(p.square() for p in parts).detach())
            return torch.cat(out)

        return squared_residual

    def _resample(self, domain, n, squared_residual):
        """``n`` new collocation points: uniform, or residual-based (RAD, Wu et al. 2023:
        from a uniform pool ``RAD_POOL`` times larger, drawn without replacement with
        probability proportional to ``|r| / mean|r| + 1``)."""
        if self.sampling != "rad":
            return self._draw(domain, n).to(self.dtype)
        pool = self._draw(domain, RAD_POOL * n).to(self.dtype)
        return pool[residual_draw(squared_residual(pool), n, self.generator)]


# The terms of a PINN's loss: each written once, for both evaluators (physml._loss). ----

def residual_rows(pde):
    """The residual term's rows: the equations of ``pde`` at the points (one part per
    equation)."""
    single = len(pde.outputs) == 1

    def rows(fields, extras, coefficients):
        f = fields[0]
        return pde.residual(f.X, f.u[:, 0] if single else f.u, f.d, coefficients)

    return rows


def boundary_terms(pde, faces, slope_columns, dtype):
    """The boundary's terms, one per face (a pair of faces for a periodic coordinate):
    ``u(low) - u(high)`` and, when the equation is second order in that coordinate, the
    same for the slope; ``u - g`` on a Dirichlet face; the outward normal derivative
    ``- g`` on a Neumann face. Each is the mean over its points and outputs."""
    outputs, coordinates = pde.outputs, pde.coordinates
    terms, low = [], None
    for column, side, kind, X, g in faces:
        X = X.to(dtype)
        if isinstance(column, tuple):  # a geometry's piece
            terms.append(_piece_term(outputs, [coordinates[c] for c in column], kind, X,
                                     side.to(dtype), g.to(dtype)))
            continue
        slope = tuple(f"{o}_{coordinates[column]}" for o in outputs)
        if kind == "periodic":
            if side == 0:
                low = X
                continue
            terms.append(Term("boundary", (low, X), _periodic_rows, average_parts=True))
            if column in slope_columns:
                terms.append(Term("boundary", (low, X), _periodic_slope_rows(slope),
                                  derivatives=slope, average_parts=True))
        elif kind == "dirichlet":
            terms.append(_piece_term(outputs, (), kind, X, None, g.to(dtype)))
        elif robin_coefficient(kind) is not None:  # du/dn + a u = g
            normal = torch.full((X.shape[0], 1), 1.0 if side else -1.0, dtype=dtype,
                                device=X.device)  # the outward normal along its axis
            terms.append(_piece_term(outputs, [coordinates[column]], kind, X, normal,
                                     g.to(dtype)))
        else:  # neumann: the outward normal derivative
            terms.append(Term("boundary", (X,), _neumann_rows(slope, side),
                              extras=(g.to(dtype),), derivatives=slope, average_parts=True))
    return terms


def _piece_term(outputs, coordinates, kind, X, normals, g):
    """A boundary piece's term (a geometry's piece or a box's Dirichlet face): ``u - g``
    (Dirichlet) or the outward normal derivative ``n . grad u - g`` (Neumann, along
    ``coordinates``) at its rows, the mean over the rows and the outputs that hold a
    condition there (a NaN in ``g`` leaves that output free at that row)."""
    conditioned = torch.isfinite(g)
    target = torch.where(conditioned, g, torch.zeros_like(g))
    if kind == "dirichlet" and bool(conditioned.all()):
        return Term("boundary", (X,), _dirichlet_rows, extras=(target,), average_parts=True)
    count = conditioned.sum(0).clamp(min=1).to(g.dtype)
    n_outputs = max(int(conditioned.any(0).sum()), 1)
    scale = conditioned.to(g.dtype) / (count * n_outputs).sqrt()
    if kind == "dirichlet":
        return Term("boundary", (X,), _masked_rows, extras=(target, scale), reduction="sum")
    gradient = tuple(tuple(f"{o}_{c}" for c in coordinates) for o in outputs)
    return Term("boundary", (X,), _normal_derivative_rows(gradient, robin_coefficient(kind)),
                extras=(target, scale, normals), reduction="sum",
                derivatives=tuple(name for names in gradient for name in names))


def _normal_derivative_rows(gradient, robin=None):
    """``n . grad u - g``, or ``n . grad u + a u - g`` for a Robin condition."""
    def rows(fields, extras, coefficients):
        d, normals = fields[0].d, extras[2]
        normal = torch.stack([sum(normals[:, k] * d[name] for k, name in enumerate(names))
                              for names in gradient], 1)
        if robin is not None:
            normal = normal + robin * fields[0].u
        return (normal - extras[0]) * extras[1]
    return rows


def _periodic_rows(fields, extras, coefficients):
    return fields[0].u - fields[1].u


def _periodic_slope_rows(slope):
    def rows(fields, extras, coefficients):
        return torch.stack([fields[0].d[s] for s in slope], 1) - torch.stack(
            [fields[1].d[s] for s in slope], 1)
    return rows


def _dirichlet_rows(fields, extras, coefficients):
    return fields[0].u - extras[0]


def _neumann_rows(slope, side):
    def rows(fields, extras, coefficients):
        normal = torch.stack([fields[0].d[s] for s in slope], 1)
        return (normal if side else -normal) - extras[0]
    return rows


def data_term(X_obs, y_obs):
    """The observations' term: per output, the mean squared error over the rows where it
    is observed (a NaN in ``y_obs`` is an output not observed at that row), summed over
    the outputs as the residual is over the equations."""
    observed = torch.isfinite(y_obs)
    if bool(observed.all()):
        return Term("data", (X_obs,), _dirichlet_rows, extras=(y_obs,))
    target = torch.where(observed, y_obs, torch.zeros_like(y_obs))
    count = observed.sum(0).clamp(min=1)
    scale = observed.to(y_obs.dtype) / count.to(y_obs.dtype).sqrt()
    return Term("data", (X_obs,), _masked_rows, extras=(target, scale), reduction="sum")


def _masked_rows(fields, extras, coefficients):
    return (fields[0].u - extras[0]) * extras[1]


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
    """``transform(X, u)`` as ``(n, n_outputs)``; a ValueError where it returns another
    shape (checked before training, on the rows :func:`check_residual` evaluates)."""
    n, k = u.shape
    out = transform(X, u[:, 0] if k == 1 else u)
    shape = tuple(getattr(out, "shape", ()))
    if shape != (n, k) and not (k == 1 and shape == (n,)):
        expected = f"({n},)" if k == 1 else f"({n}, {k})"
        hint = ""
        if k == 1 and n > 1 and shape == (n, n):
            hint = (": a column of X written as X[:, 0:1] (shape (n, 1)) broadcasts against "
                    "the (n,) output; write X[:, 0]")
        raise ValueError(f"output_transform returned shape {shape} for {n} points and {k} "
                         f"output(s); expected {expected} (u as the residual receives it: "
                         f"(n,) for one output, (n, n_outputs) otherwise){hint}")
    return out.reshape(u.shape) if out.dim() == 1 else out


def _jet_network(network):
    """The :class:`physml._mlp.MLP` inside ``network`` (through wrappers' ``network``)
    that holds all of its trainable weights, or None."""
    inner = network
    while not isinstance(inner, MLP):
        inner = getattr(inner, "network", None)
        if not isinstance(inner, torch.nn.Module):
            return None
    if [id(p) for p in network.parameters()] != [id(p) for p in inner.parameters()]:
        return None
    return inner


def _identity(value):
    return value


def _compiled(loss):
    """``loss`` (its batched value) compiled by :func:`torch.compile`; each call runs with
    dynamo's cache raised to 64 graphs (each fit and each curriculum stage compiles its
    own, and dynamo's default of 8 would fall back to eager), the user's limit untouched
    outside."""
    import torch._dynamo

    loss._stack()
    compiled = torch.compile(lambda: loss(), dynamic=False)
    limit = max(torch._dynamo.config.cache_size_limit, 64)

    def terms():
        with torch._dynamo.config.patch(cache_size_limit=limit):
            return compiled()

    return terms
