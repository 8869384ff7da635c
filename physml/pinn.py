"""PINNRegressor: a physics-informed neural network as a scikit-learn regressor."""

import dataclasses

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    TorchPickleMixin,
    check_hidden_layer_sizes,
    dtype_name,
    check_integer,
    check_positive,
    resolve_device,
    resolve_dtype,
    seeded,
    thread_budget,
    torch_seed,
)
from ._mlp import MLP, resolve_activation
from ._trainer import minimize, validate_optimizer
from .pde import PDE
from .pde._base import parse_derivative
from .strategies import (
    Standard,
    TrainingSettings,
    check_training_settings,
    resolve_strategy,
)


class PINNRegressor(TorchPickleMixin, RegressorMixin, BaseEstimator):
    """Physics-informed neural network regressor (Raissi et al. 2019).

    Fits a network ``u(x, t)`` to observed values (``fit(X, y)``: initial data, sensors)
    while penalizing the PDE residual at collocation points sampled in the equation's
    domain, and the boundary conditions. The training strategy (standard, curriculum,
    time marching) is a parameter, as in Krishnapriyan et al. (NeurIPS 2021).

    The strategy also chooses how it trains: ``optimizer``, ``max_iter``,
    ``warmup_iter``, ``tol``, ``lbfgs_history_size`` and ``dtype`` default to
    ``"auto"``, which takes the strategy's defaults (documented on each strategy:
    float64, Adam then L-BFGS, budgets that reach the published numbers); a value you
    pass wins. What each stage used is recorded in ``stages_``. The paper's own
    settings, which reproduce its failures, are
    :data:`physml.strategies.PAPER_SETTINGS`. The defaults aim at accuracy: a fit on
    the paper's problems takes one to five minutes on two cores (``verbose=1`` shows
    a progress bar per stage).

    Parameters
    ----------
    pde : PDE or None, default=None
        The equation (see :mod:`physml.pde`). ``None`` fits the data alone (an MLP
        regressor on any number of features).
    strategy : str or strategy object, default="standard"
        How training proceeds; see :mod:`physml.strategies`.
    hidden_layer_sizes : tuple of int, default=(50, 50, 50, 50)
        Widths of the hidden layers (the paper's 4 x 50).
    activation : {"tanh", "sin", "sigmoid"}, default="tanh"
    optimizer : {"auto", "lbfgs", "adam", "adam+lbfgs"}, default="auto"
        ``"adam+lbfgs"`` runs ``warmup_iter`` Adam steps (learning rate 1e-3) first.
        ``"auto"``: the strategy's choice (``"adam+lbfgs"`` for every shipped strategy).
    learning_rate : float or None, default=None
        Step size: 1.0 for L-BFGS and 1e-3 for Adam when None.
    max_iter : int or "auto", default="auto"
        L-BFGS iterations (``"lbfgs"``, ``"adam+lbfgs"``) or Adam steps (``"adam"``) per
        stage, before the strategy's per-stage factors.
    warmup_iter : int or "auto", default="auto"
        Adam steps before L-BFGS with ``optimizer="adam+lbfgs"``. ``"auto"``: the
        strategy's; with ``max_iter`` given, the strategy's ratio of the two.
    tol : float or "auto", default="auto"
        L-BFGS ``tolerance_grad`` and ``tolerance_change`` (the paper's 1e-7; the
        strategies' defaults use 0 or 1e-10, so that L-BFGS spends its budget).
    lbfgs_history_size : int or "auto", default="auto"
        Number of past steps L-BFGS keeps to approximate the curvature (the paper's 50;
        the strategies' default 100).
    n_collocation : int, default=1000
        Collocation points, drawn uniformly in the domain (seeded by ``random_state``).
    n_boundary : int, default=100
        Boundary times, evenly spaced in ``[t_min, t_max]``.
    residual_weight : float, default=1.0
        Weight of the mean squared residual in the loss.
    dtype : {"auto", "float32", "float64"}, default="auto"
        Precision of the fitted network. ``"auto"``: the strategy's (float64 for every
        shipped strategy; the standard strategy and the curriculum run their early
        iterations or stages in float32 first, see ``Standard(early_dtype=)`` and
        ``Curriculum(stage_dtype=)``).
    device : str or torch.device, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the network initialization and the collocation points.
    verbose : int, default=0
        ``1`` shows a progress bar per training stage.
    compile : bool, default=False
        Compile the loss and its gradient with :func:`torch.compile` (fuses the elementwise
        work; needs a C++ compiler on the CPU). The first evaluation then takes tens of
        seconds to compile, so it pays off for long fits and repeated fits of one shape.
    learn_coefficients : tuple of str, default=()
        Coefficients of ``pde`` to learn from the data (an inverse problem): they become
        trainable parameters that start at the values in ``pde``. Those in
        ``pde.positive_coefficients`` (a viscosity, a diffusivity) are learned through
        their logarithm and stay positive. Fitted values land in ``coefficients_``, their
        trajectory (one value per loss evaluation) in ``history_``.

    Attributes
    ----------
    network_ : torch.nn.Module
        The fitted network.
    history_ : dict of list
        One entry per loss evaluation: ``loss`` and its terms (``data``, ``boundary``,
        ``residual``), the ``optimizer`` phase and the training ``stage``. L-BFGS may
        evaluate several times an iteration.
    stages_ : list of dict
        One entry per training stage (one per precision phase for the standard strategy,
        one per coefficient value for the curriculum, one per time block for seq2seq):
        its ``coefficients``, ``domain``, ``n_iter``, lowest ``loss``, whether it
        ``stopped`` early, and the settings it trained with (``optimizer``,
        ``max_iter``, ``warmup_iter``, ``tol``, ``lbfgs_history_size``, ``dtype``).
    n_iter_ : int
        Optimizer iterations over all stages.
    coefficients_ : dict
        The equation's coefficients after fitting (learned ones at their fitted values).
    stopped_ : str or None
        ``"diverged"`` or ``"interrupted"`` when training ended early, else None.
    n_features_in_ : int

    See Also
    --------
    physml.pde.PDE : how to state an equation.
    physml.datasets.make_pde_data : the paper's evaluation grid with the reference solution.

    Notes
    -----
    The loss is ``data MSE + boundary MSE + residual_weight * residual MSE``. The boundary
    term is ``u(x_min, t) - u(x_max, t)`` (and the same for ``u_x`` when the equation is
    second order in x) for periodic equations, and ``u - g`` on both ends for Dirichlet ones.

    Input derivatives are propagated through the network by hand (forward Taylor jets, or
    one reverse sweep for first derivatives) with a hand-written backward pass, which is
    faster than differentiating twice through autograd; see ``benchmarks/bench_speed.py``.

    References
    ----------
    .. [1] M. Raissi, P. Perdikaris, G. E. Karniadakis, "Physics-informed neural networks",
       J. Comput. Phys. 378 (2019).
    .. [2] A. S. Krishnapriyan, A. Gholami, S. Zhe, R. M. Kirby, M. W. Mahoney,
       "Characterizing possible failure modes in physics-informed neural networks",
       NeurIPS 2021.

    Examples
    --------
    >>> from physml import PINNRegressor
    >>> from physml.datasets import make_pde_data
    >>> from physml.metrics import relative_l2_error
    >>> from physml.pde import Convection
    >>> pde = Convection(beta=1.0)
    >>> X0, u0 = pde.initial_data(n_points=64)
    >>> est = PINNRegressor(pde=pde, hidden_layer_sizes=(20, 20), max_iter=200,
    ...                     n_collocation=200, random_state=0).fit(X0, u0)
    >>> X, u = make_pde_data(pde)
    >>> relative_l2_error(u, est.predict(X)) < 0.1
    True
    """

    def __init__(self, *, pde=None, strategy="standard", hidden_layer_sizes=(50, 50, 50, 50),
                 activation="tanh", optimizer="auto", learning_rate=None, max_iter="auto",
                 warmup_iter="auto", tol="auto", lbfgs_history_size="auto",
                 n_collocation=1000, n_boundary=100, residual_weight=1.0, dtype="auto",
                 device="cpu",
                 random_state=None, verbose=0, compile=False, learn_coefficients=()):
        self.pde = pde
        self.strategy = strategy
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.warmup_iter = warmup_iter
        self.tol = tol
        self.lbfgs_history_size = lbfgs_history_size
        self.n_collocation = n_collocation
        self.n_boundary = n_boundary
        self.residual_weight = residual_weight
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
        self.compile = compile
        self.learn_coefficients = learn_coefficients

    def fit(self, X, y):
        """Fit the network to observations ``(X, y)`` and the equation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_coordinates)
            Observed points, columns in ``pde.coordinates`` order (``x``, ``t``).
        y : array-like of shape (n_samples,)
            Observed ``u``.

        Returns
        -------
        self : PINNRegressor
        """
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        pde = self._validated_pde()
        if pde is not None and X.shape[1] != len(pde.coordinates):
            raise ValueError(
                f"X has {X.shape[1]} columns, but pde={type(pde).__name__} has coordinates "
                f"{pde.coordinates}: pass one column per coordinate, in that order"
            )
        self._validate_hyperparameters()
        self._validate_learned(pde)
        strategy = resolve_strategy(self.strategy)
        settings = self._training_settings(strategy)
        device, dtype = resolve_device(self.device), resolve_dtype(settings.dtype)
        seed = torch_seed(self.random_state)
        with seeded(seed, device):
            network = MLP(X.shape[1], tuple(self.hidden_layer_sizes), 1, self.activation)
        self.network_ = network.to(device=device, dtype=dtype)
        self.history_, self.stages_ = {}, []
        problem = PINNProblem(self, X, y, seed, device, settings)
        with thread_budget():
            reports = (strategy.run(problem, pde) if pde is not None
                       else [problem.train(None)])
        # A strategy may leave a different model than it started with (time marching leaves
        # one network per time block).
        self.network_ = problem.network
        if isinstance(problem.network, PiecewiseInTime):
            self.time_blocks_ = problem.network.blocks()
        for report, stage in zip(reports, self.stages_):
            stage["accepted"] = report.get("accepted", True)
        self.n_iter_ = int(sum(r["n_iter"] for r in reports))
        self.stopped_ = next((r["stopped"] for r in reports if r["stopped"]), None)
        self.coefficients_ = dict(pde.coefficients) if pde is not None else {}
        self.coefficients_.update(problem.learned_values())
        return self

    def predict(self, X):
        """Predict ``u`` at the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_coordinates)

        Returns
        -------
        u : ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        # Evaluate in float64 whatever the training dtype: a float32 matrix product rounds
        # differently for different batch sizes, and a row's prediction must not depend on
        # which other rows it is predicted with.
        device = next(self.network_.parameters()).device
        weights = {name: p.detach().double() for name, p in self.network_.named_parameters()}
        out = np.empty(X.shape[0])
        with torch.no_grad():
            for start in range(0, X.shape[0], 65536):
                part = torch.tensor(np.ascontiguousarray(X[start:start + 65536]),
                                    device=device)
                u = torch.func.functional_call(self.network_, weights, (part,))
                out[start:start + 65536] = u[:, 0].cpu().numpy()
        return out

    def training_loss(self, X, y):
        """The loss the network was trained on, as a function of its current parameters.

        The target equation over its whole domain, with the fit's collocation points (the
        same ``random_state``), boundary points and the observations ``(X, y)``; used by
        :func:`physml.diagnostics.loss_landscape`.

        Returns
        -------
        callable
            ``loss()`` returns a scalar tensor (the sum of the loss terms).
        """
        check_is_fitted(self, "network_")
        X, y = validate_data(self, X, y, reset=False, y_numeric=True, dtype=np.float64)
        parameter = next(self.network_.parameters())
        settings = self._training_settings(resolve_strategy(self.strategy))
        settings = settings.scaled(dtype=dtype_name(parameter.dtype))
        problem = PINNProblem(self, X, y, torch_seed(self.random_state), parameter.device,
                              settings)
        pde = self._validated_pde()
        if pde is not None:
            # Learned coefficients enter at their fitted values, as constants.
            pde = pde.with_coefficients(**{k: v for k, v in self.coefficients_.items()
                                           if k in pde.coefficient_names})
            problem.learned = {}
        terms = (problem._data_loss(problem.X_obs, problem.y_obs) if pde is None else
                 problem._physics_loss(pde, pde.domain, problem.X_obs, problem.y_obs,
                                       self.n_collocation))
        return lambda: sum(terms().values())

    # ----------------------------------------------------------------------------------

    def _validated_pde(self):
        if self.pde is None:
            return None
        if not isinstance(self.pde, PDE):
            raise TypeError(
                f"pde must be a physml.pde.PDE instance or None, got {type(self.pde).__name__}"
            )
        return self.pde.validate()

    def _validate_learned(self, pde):
        names = self.learn_coefficients
        if isinstance(names, str) or not isinstance(names, (tuple, list)):
            raise TypeError(f"learn_coefficients must be a tuple of coefficient names, got "
                            f"{names!r}")
        if names and pde is None:
            raise ValueError("learn_coefficients needs a pde")
        for name in names:
            if name not in pde.coefficient_names:
                raise ValueError(
                    f"learn_coefficients: {name!r} is not a coefficient of "
                    f"{type(pde).__name__} {pde.coefficient_names}")
            value = getattr(pde, name)
            if name in pde.positive_coefficients and not value > 0:
                raise ValueError(f"learn_coefficients: {name} starts at {value!r}, but it is "
                                 "positive by its physics; start from a positive guess")

    def _validate_hyperparameters(self):
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        resolve_activation(self.activation)
        if self.optimizer != "auto":
            validate_optimizer(self.optimizer)
        check_training_settings(**self._given_training())
        if self.dtype != "auto":
            resolve_dtype(self.dtype)
        for name in ("n_collocation", "n_boundary"):
            check_integer(name, getattr(self, name), 1)
        check_positive("residual_weight", self.residual_weight, allow_zero=True)
        if self.learning_rate is not None:
            check_positive("learning_rate", self.learning_rate)

    def _given_training(self):
        return {name: getattr(self, name)
                for name in ("optimizer", "max_iter", "warmup_iter", "tol",
                             "lbfgs_history_size", "dtype")}

    def _training_settings(self, strategy):
        """The strategy's training defaults with this estimator's explicit values in
        their place (``pde=None`` trains as the standard strategy)."""
        defaults = (strategy if self.pde is not None else Standard()).training()
        settings = TrainingSettings.resolve(defaults, **self._given_training())
        # torch dtypes are accepted for convenience; the record holds their names
        return settings.scaled(dtype=dtype_name(settings.dtype))


class PiecewiseInTime(torch.nn.Module):
    """One network per time block ``(edges[k], edges[k+1]]`` (the first block closed).

    What time marching leaves behind: ``forward`` sends each row to the network of the
    block its time falls in.
    """

    def __init__(self, edges, networks):
        super().__init__()
        self.register_buffer("edges", torch.as_tensor(edges, dtype=torch.float64))
        self.networks = torch.nn.ModuleList(networks)

    def blocks(self):
        """The blocks as ``[(t_start, t_end), ...]``."""
        edges = self.edges.tolist()
        return list(zip(edges[:-1], edges[1:]))

    def block_of(self, t):
        inner = self.edges[1:-1].to(device=t.device)
        return torch.bucketize(t.to(inner.dtype).contiguous(), inner, right=False)

    def forward(self, X):
        which = self.block_of(X[:, 1])
        out = X.new_empty((X.shape[0], 1))
        for k, network in enumerate(self.networks):
            rows = which == k
            if rows.any():
                out[rows] = network(X[rows])
        return out


def derivative_plan(pde):
    """Which first and pure second derivatives a PDE needs, or None if it needs others."""
    first, second = set(), set()
    for name in pde.derivatives:
        index = parse_derivative(name, pde.coordinates)
        if len(index) == 1:
            first.add(index[0])
        elif len(index) == 2 and index[0] == index[1]:
            first.add(index[0])
            second.add(index[0])
        else:
            return None
    return tuple(sorted(first)), tuple(sorted(second))


class PINNProblem:
    """The loss of one PINN fit: observations, boundary points, collocation points.

    Strategies call :meth:`train` with the equation to train on (and, for time marching,
    the sub-domain and its initial data); the network is shared, so each call warm-starts
    from the last.
    """

    def __init__(self, estimator, X, y, seed, device, settings):
        self.estimator = estimator
        self.network = estimator.network_
        self.settings = settings
        dtype = resolve_dtype(settings.dtype)
        self.device, self.dtype, self.base_dtype = device, dtype, dtype
        # Kept in float64; the loss reads them in the precision of the stage it trains.
        self._obs = (torch.as_tensor(np.array(X, dtype=float), device=device),
                     torch.as_tensor(np.array(y, dtype=float), device=device).reshape(-1))
        self.generator = torch.Generator().manual_seed(seed)
        self._points = {}
        # Learned coefficients: name -> (raw trainable tensor, transform to the value).
        self.learned = {}
        pde = estimator.pde
        for name in getattr(estimator, "learn_coefficients", ()):
            value = float(getattr(pde, name))
            positive = name in pde.positive_coefficients
            raw = torch.tensor(np.log(value) if positive else value, dtype=dtype,
                               device=device, requires_grad=True)
            self.learned[name] = (raw, torch.exp if positive else (lambda r: r))

    def coefficient_values(self, pde):
        """The coefficients the loss uses: the equation's, with learned ones as tensors."""
        values = dict(pde.coefficients)
        values.update({name: transform(raw) for name, (raw, transform) in self.learned.items()})
        return values

    def learned_values(self):
        with torch.no_grad():
            return {name: float(transform(raw)) for name, (raw, transform)
                    in self.learned.items()}

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

    def _tensor(self, values):
        return torch.as_tensor(np.array(values, dtype=float), dtype=self.dtype,
                               device=self.device)

    def collocation_points(self, domain, n):
        """``n`` points uniform in ``domain``; the same points each time for the same domain
        and count (curriculum stages train on one point set, as in the paper)."""
        key = (tuple(map(float, domain[0])), tuple(map(float, domain[1])), int(n))
        if key not in self._points:
            self._points[key] = self._draw(domain, n)
        return self._points[key].to(self.dtype)

    def _draw(self, domain, n):
        (x0, x1), (t0, t1) = domain
        unit = torch.rand((n, 2), generator=self.generator, dtype=torch.float64)
        low = torch.tensor([x0, t0], dtype=torch.float64)
        span = torch.tensor([x1 - x0, t1 - t0], dtype=torch.float64)
        return (low + unit * span).to(device=self.device)

    def train(self, pde, desc="fit", domain=None, X_obs=None, y_obs=None, n_collocation=None,
              iter_factor=1.0, dtype=None, **changes):
        """Train ``self.network`` on ``pde`` over ``domain`` with observations ``(X_obs, y_obs)``
        (the estimator's data by default) and ``n_collocation`` points (the estimator's), for
        ``iter_factor`` times the resolved iterations, in ``dtype`` (the resolved one when
        None); ``changes`` replace settings of this stage (``optimizer="lbfgs"``)."""
        settings = self.settings.scaled(iter_factor,
                                        None if dtype is None else dtype_name(dtype))
        settings = dataclasses.replace(settings, **changes)
        self.use_dtype(resolve_dtype(settings.dtype))
        if X_obs is not None:
            X_obs, y_obs = X_obs.to(self.dtype), y_obs.to(self.dtype)
        est = self.estimator
        X_obs = self.X_obs if X_obs is None else X_obs
        y_obs = self.y_obs if y_obs is None else y_obs
        domain = domain or (pde.domain if pde is not None else None)
        loss_terms = (self._data_loss(X_obs, y_obs) if pde is None
                      else self._physics_loss(pde, domain, X_obs, y_obs,
                                              n_collocation or est.n_collocation))
        if est.compile:
            loss_terms = _compiled(loss_terms)
        history = est.history_
        before = len(history.get("loss", ()))
        if self.learned:
            loss_terms = self._recording(loss_terms, history)
        parameters = [*self.network.parameters(), *(raw for raw, _ in self.learned.values())]
        report = minimize(
            loss_terms, parameters, optimizer=settings.optimizer,
            max_iter=settings.max_iter, learning_rate=est.learning_rate,
            warmup_iter=settings.warmup_iter, tol=settings.tol,
            history_size=settings.lbfgs_history_size, verbose=est.verbose, desc=desc,
            history=history, owner=est,
        )
        stage = len(est.stages_)
        history.setdefault("stage", []).extend([stage] * (len(history.get("loss", ())) - before))
        report["coefficients"] = dict(pde.coefficients) if pde is not None else {}
        est.stages_.append({"coefficients": report["coefficients"], "domain": domain,
                            "n_iter": report["n_iter"], "loss": report["best_loss"],
                            "stopped": report["stopped"], **settings.as_dict()})
        return report

    def _recording(self, loss_terms, history):
        """Append the learned coefficients' values to ``history`` at every evaluation."""
        def recorded():
            terms = loss_terms()
            for name, value in self.learned_values().items():
                history.setdefault(name, []).append(value)
            return terms

        return recorded

    def _data_loss(self, X_obs, y_obs):
        network = self.network

        def loss_terms():
            return {"data": (network(X_obs)[:, 0] - y_obs).square().mean()}

        return loss_terms

    def _physics_loss(self, pde, domain, X_obs, y_obs, n_collocation):
        est, network = self.estimator, self.network
        (x0, x1), (t0, t1) = domain
        X_c = self.collocation_points(domain, n_collocation)
        t_b = torch.linspace(t0, t1, est.n_boundary, dtype=self.dtype, device=self.device)
        X_left = torch.stack([torch.full_like(t_b, x0), t_b], 1)
        X_right = torch.stack([torch.full_like(t_b, x1), t_b], 1)
        plan = derivative_plan(pde)
        periodic_slope = pde.periodic and any(
            parse_derivative(name, pde.coordinates).count(0) >= 2 for name in pde.derivatives)
        n_c, n_b = X_c.shape[0], t_b.shape[0]
        n_d = n_c + (2 * n_b if periodic_slope else 0)
        X_all = torch.cat([X_c, X_left, X_right, X_obs])
        weight = est.residual_weight
        if not pde.periodic:
            g_left = self._tensor(pde.boundary_condition(np.full(n_b, x0), t_b.cpu().numpy()))
            g_right = self._tensor(pde.boundary_condition(np.full(n_b, x1), t_b.cpu().numpy()))
        names = {name: parse_derivative(name, pde.coordinates) for name in pde.derivatives}
        if periodic_slope and "u_x" not in names:
            names["u_x"] = (0,)

        def derivatives():
            if plan is None or not hasattr(network, "jet"):
                return _autograd_derivatives(network, X_all, n_d, names)
            first, second = plan
            if periodic_slope and 0 not in first:
                first = tuple(sorted({0, *first}))
            u, D = network.jet(X_all, n_d, first, second)
            d = {}
            for name, index in names.items():
                row = (first.index(index[0]) if len(index) == 1
                       else len(first) + second.index(index[0]))
                d[name] = D[row, :, 0]
            return u[:, 0], d

        def loss_terms():
            u, d = derivatives()
            u_c = u[:n_c]
            r = pde.residual(X_c, u_c, {k: v[:n_c] for k, v in d.items()},
                             self.coefficient_values(pde))
            u_left, u_right = u[n_c:n_c + n_b], u[n_c + n_b:n_c + 2 * n_b]
            if pde.periodic:
                boundary = (u_left - u_right).square().mean()
                if periodic_slope:
                    ux = d["u_x"]
                    boundary = boundary + (ux[n_c:n_c + n_b] - ux[n_c + n_b:]).square().mean()
            else:
                boundary = ((u_left - g_left).square().mean()
                            + (u_right - g_right).square().mean())
            terms = {"boundary": boundary, "residual": weight * r.square().mean()}
            if X_obs.shape[0]:
                terms["data"] = (u[n_c + 2 * n_b:] - y_obs).square().mean()
            return terms

        return loss_terms


def _compiled(loss_terms):
    import torch._dynamo

    # Each fit (and each curriculum stage) compiles its own closure; let them all be cached
    # instead of falling back to eager after dynamo's default of 8.
    torch._dynamo.config.cache_size_limit = max(torch._dynamo.config.cache_size_limit, 64)
    return torch.compile(loss_terms, dynamic=False)


def _autograd_derivatives(network, X, n_d, names):
    """Input derivatives of any order through autograd (the general, slower path)."""
    X_d = X[:n_d].detach().requires_grad_(True)
    u_d = network(X_d)[:, 0]
    u = torch.cat([u_d, network(X[n_d:])[:, 0]])
    cache = {(): u_d}

    def derivative(index):
        if index not in cache:
            lower = derivative(index[:-1])
            grad = torch.autograd.grad(lower.sum(), X_d, create_graph=True)[0]
            cache[index] = grad[:, index[-1]]
        return cache[index]

    return u, {name: derivative(index) for name, index in names.items()}
