"""ODENetForecaster: learn a vector field from trajectories, forecast at any time step."""

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.metrics import r2_score
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._base import (
    DEVICE,
    DTYPE,
    TorchPickleMixin,
    average,
    check_hidden_layer_sizes,
    clear_fitted,
    integers,
    reals,
    resolve_device,
    resolve_dtype,
    seeded,
    store_params,
    torch_seed,
    validate_params,
)
from ._checkpoint import (
    LONG_FIT_CONSTRAINTS,
    LONG_FIT_DOC,
    checked_seed,
    open_checkpoint,
)
from ._mlp import ACTIVATIONS, MLP, Activation
from ._optimizers import minimize
from ._threads import N_JOBS, N_JOBS_DOC, estimator_threads, thread_budget
from .callbacks import CallbackList, check_callbacks
from .integrators import integrate, integrator_constraint, resolve_integrator, rk_step

__all__ = ["ODENetForecaster", "KnownVectorField"]


def _as_trajectories(X):
    """``(n_timepoints, n_features)`` or ``(n_trajectories, n_timepoints, n_features)`` -> 3-D."""
    X = check_array(X, allow_nd=True, ensure_2d=True, dtype=np.float64,
                    input_name="X", ensure_min_samples=1)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3:
        raise ValueError(
            f"X must be a trajectory (n_timepoints, n_features) or a panel (n_trajectories, "
            f"n_timepoints, n_features); got an array with {X.ndim} dimensions"
        )
    if X.shape[1] < 2:
        raise ValueError(
            f"X has {X.shape[1]} sample (time point) per trajectory; at least 2 are needed to "
            "learn a step"
        )
    return X


def _steps_between(span, step):
    """Equal sub-steps no longer than ``step`` covering ``span``."""
    n = max(int(np.ceil(span / step - 1e-9)), 1)
    return n, span / n


class _Forecasting:
    """Integration of a vector field from states to times with any step and scheme."""

    def _field(self):
        raise NotImplementedError

    def forecast(self, x0, t, *, step=None, integrator=None):
        """Integrate from initial states to the times ``t``.

        Parameters
        ----------
        x0 : array-like of shape (n_features,) or (n_states, n_features)
        t : array-like of shape (n_times,)
            Non-decreasing times, starting at or after 0 (the time of ``x0``).
        step : float, default=None
            Largest integration step; the training ``dt`` when None. Each interval between
            consecutive times is covered by equal sub-steps no longer than ``step``.
        integrator : str or ButcherTableau, default=None
            The training integrator when None.

        Returns
        -------
        X : ndarray of shape (n_times, n_features) or (n_states, n_times, n_features)
        """
        field, dtype, device = self._field()
        step = self._dt() if step is None else float(step)
        if not (np.isfinite(step) and step > 0):
            raise ValueError(f"step must be a positive number, got {step!r}")
        tableau = resolve_integrator(self._integrator() if integrator is None else integrator)
        x0 = np.asarray(x0, dtype=float)
        single = x0.ndim == 1
        x0 = np.atleast_2d(x0)
        if x0.shape[1] != self._n_features():
            raise ValueError(f"x0 has {x0.shape[1]} features, expected {self._n_features()}")
        t = np.asarray(t, dtype=float).ravel()
        if t.size == 0 or t[0] < 0 or np.any(np.diff(t) < 0) or not np.all(np.isfinite(t)):
            raise ValueError("t must be finite, non-decreasing and start at or after 0")
        out = np.empty((x0.shape[0], t.size, x0.shape[1]))
        with torch.no_grad(), estimator_threads(self):
            x = torch.as_tensor(x0, dtype=dtype, device=device)
            now = 0.0
            for i, target in enumerate(t):
                if target > now:
                    n, h = _steps_between(target - now, step)
                    x = integrate(lambda _, s: field(s), x, h, n, tableau, now)
                    now = target
                out[:, i] = x.double().cpu().numpy()
        return out[0] if single else out


class ODENetForecaster(TorchPickleMixin, _Forecasting, BaseEstimator):
    __doc__ = """ODE-Net: a vector field ``G`` learned so that one integrator step matches the data.

    ``x(t + dt) = x(t) + scheme[G, dt](x(t))``, ``G`` a small MLP, trained on one-step-ahead
    mean squared error (or on ``rollout_steps`` steps) with Adam at the sampling interval
    ``dt``. After fitting, :meth:`forecast` integrates ``G`` with any step and any scheme;
    :func:`physml.diagnostics.convergence_test` and :func:`physml.metrics.check_continuity`
    tell whether ``G`` is a continuous vector field or a map that only works at ``dt``
    (Queiruga et al. 2020; Krishnapriyan et al. 2023).

    Parameters
    ----------
    integrator : str or ButcherTableau, default="rk4"
        Training scheme: ``"euler"``, ``"midpoint"``, ``"heun"`` (``"rk2"``), ``"rk4"``
        (classic), ``"rk4_38"``, ``"ssprk3"``, or a :class:`~physml.integrators.ButcherTableau`.
    dt : float, default=0.1
        Sampling interval of the training trajectories.
    hidden_layer_sizes : tuple of int, default=(50,)
    activation : {"tanh", "sin", "sigmoid"}, default="tanh"
    learning_rate : float, default=1e-3
        Adam step size (full batch).
    max_iter : int, default=5000
        Adam steps.
    rollout_steps : int, default=1
        Steps of the multi-step loss: the model is rolled out this many steps from every
        sample and compared with the data at each.
    dtype : {"float64", "float32"}, default="float64"
    device : str or torch.device, default="cpu"
""" + N_JOBS_DOC + """    random_state : int, RandomState instance or None, default=None
    verbose : int, default=0
""" + LONG_FIT_DOC + """
    Attributes
    ----------
    network_ : torch.nn.Module
        ``G``.
    history_ : dict of list
        The loss at every Adam step.
    n_iter_ : int
    stopped_ : str or None
        ``"diverged"``, ``"interrupted"`` or ``"callback"`` when training ended early,
        else None.
    n_features_in_ : int

    Examples
    --------
    >>> from physml import ODENetForecaster
    >>> from physml.datasets import make_harmonic_oscillator
    >>> X, t = make_harmonic_oscillator(n_trajectories=4, dt=0.5, random_state=0)
    >>> est = ODENetForecaster(integrator="rk4", dt=0.5, max_iter=300,
    ...                        random_state=0).fit(X)
    >>> est.forecast(X[0, 0], t[:3], step=0.05).shape
    (3, 2)
    """

    _parameter_constraints = {
        "integrator": integrator_constraint(),
        "dt": [reals(0, closed="neither")],
        "hidden_layer_sizes": [tuple, list],
        "activation": [StrOptions(set(ACTIVATIONS)), Activation],
        "learning_rate": [reals(0, closed="neither")],
        "max_iter": [integers(0)],
        "rollout_steps": [integers(1)],
        "dtype": DTYPE,
        "device": DEVICE,
        "n_jobs": N_JOBS,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        **LONG_FIT_CONSTRAINTS,
    }

    def __init__(self, *, integrator="rk4", dt=0.1, hidden_layer_sizes=(50,), activation="tanh",
                 learning_rate=1e-3, max_iter=5000, rollout_steps=1, dtype="float64",
                 device="cpu", n_jobs=None, random_state=None, verbose=0, warm_start=False,
                 checkpoint=None, checkpoint_every=60.0, callbacks=None):
        store_params(self, locals())

    def fit(self, X, y=None):
        """Learn ``G`` from trajectories sampled every ``dt``.

        Parameters
        ----------
        X : array-like of shape (n_timepoints, n_features) or \
(n_trajectories, n_timepoints, n_features)
        y : None
            Ignored (the targets are the next samples of each trajectory).

        Returns
        -------
        self : ODENetForecaster
        """
        validate_params(self)
        check_hidden_layer_sizes(self.hidden_layer_sizes)
        callbacks = CallbackList(check_callbacks(self.callbacks), self)
        start = getattr(self, "network_", None) if self.warm_start else None
        clear_fitted(self)
        tableau = resolve_integrator(self.integrator)
        X = _as_trajectories(X)
        self.n_features_in_ = X.shape[2]
        r = min(int(self.rollout_steps), X.shape[1] - 1)
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        data = torch.tensor(np.ascontiguousarray(X), dtype=dtype, device=device)
        starts = data[:, : data.shape[1] - r].reshape(-1, data.shape[2])
        targets = torch.stack([data[:, k: data.shape[1] - r + k] for k in range(1, r + 1)])
        targets = targets.reshape(r, -1, data.shape[2])
        checkpoint = open_checkpoint(
            self, X, start=None if start is None else list(start.state_dict().values()))
        with seeded(checked_seed(checkpoint, torch_seed(self.random_state)), device):
            network = MLP(self.n_features_in_, tuple(self.hidden_layer_sizes),
                          self.n_features_in_, self.activation)
        network = network.to(device=device, dtype=dtype)
        if start is not None:
            try:
                network.load_state_dict(start.state_dict())
            except RuntimeError:
                raise ValueError("warm_start=True starts from the previous fit's network, "
                                 "and this fit's has another shape (hidden_layer_sizes or "
                                 "the number of features changed): keep them, or set "
                                 "warm_start=False") from None
        h = float(self.dt)

        def loss_terms():
            x, total = starts, 0.0
            for k in range(r):
                x = rk_step(lambda _, s: network(s), x, h, tableau)
                total = total + average((x - targets[k]).square())
            return {"one_step" if r == 1 else "rollout": total / r}

        history = {}
        callbacks.model = lambda: network
        listening = bool(callbacks.callbacks)
        stage = {"index": 0, "desc": f"ODE-Net ({tableau.name})"}
        with callbacks.running(checkpoint), thread_budget(self.n_jobs):
            if listening:
                callbacks.stage_begin(stage)
            report = minimize(loss_terms, network.parameters(), optimizer="adam",
                              max_iter=int(self.max_iter), learning_rate=self.learning_rate,
                              verbose=self.verbose, desc=stage["desc"], history=history,
                              owner=self, checkpoint=checkpoint,
                              on_record=callbacks.record if listening else None)
            if listening:
                callbacks.stage_end({**stage, "n_iter": report["n_iter"],
                                     "loss": report["best_loss"], "stopped": report["stopped"]})
        if checkpoint is not None and not checkpoint.complete \
                and report["stopped"] not in ("interrupted", "callback"):
            checkpoint.write(history=history, complete=True)
        self.network_, self.history_ = network, history
        self.n_iter_ = report["n_iter"]
        self.stopped_ = report["stopped"]
        return self

    def predict(self, X):
        """The state one ``dt`` after each row of ``X`` (training integrator).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        tableau, h = resolve_integrator(self.integrator), float(self.dt)
        return self._evaluate(X, lambda G, x: rk_step(lambda _, s: G(s), x, h, tableau))

    def vector_field(self, X):
        """``G(X)``, the learned right-hand side ``dx/dt``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        ndarray of shape (n_samples, n_features)
        """
        return self._evaluate(X, lambda G, x: G(x))

    def _evaluate(self, X, function):
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        field, dtype, device = self._field()
        with torch.no_grad(), estimator_threads(self):
            out = function(field, torch.as_tensor(np.ascontiguousarray(X), dtype=dtype,
                                                  device=device))
        return out.double().cpu().numpy()

    def score(self, X, y=None):
        """R² of the one-step-ahead predictions along the trajectories in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_timepoints, n_features) or \
(n_trajectories, n_timepoints, n_features)
        y : None
            Ignored.

        Returns
        -------
        float
        """
        check_is_fitted(self, "network_")
        X = _as_trajectories(X)
        starts = X[:, :-1].reshape(-1, X.shape[2])
        return r2_score(X[:, 1:].reshape(-1, X.shape[2]), self.predict(starts))

    def _field(self):
        check_is_fitted(self, "network_")
        parameter = next(self.network_.parameters())
        return self.network_, parameter.dtype, parameter.device

    def _dt(self):
        return float(self.dt)

    def _integrator(self):
        return self.integrator

    def _n_features(self):
        return self.n_features_in_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = False
        return tags


class KnownVectorField(_Forecasting):
    """A known right-hand side ``f(x)``, forecast like a fitted ODE-Net (for comparisons).

    Parameters
    ----------
    function : callable
        ``f(x)`` on a torch tensor of shape ``(n, n_features)``.
    n_features : int
    dt : float
        The reference step (plays the role of the training step).
    integrator : str or ButcherTableau, default="rk4"

    Examples
    --------
    >>> import numpy as np
    >>> from physml.odenet import KnownVectorField
    >>> oscillator = KnownVectorField(lambda x: x.flip(-1) * x.new_tensor([1.0, -1.0]),
    ...                               n_features=2, dt=0.5)
    >>> x = oscillator.forecast([1.0, 0.0], [np.pi], step=1e-2)
    >>> bool(np.allclose(x, [-1.0, 0.0], atol=1e-8))
    True
    """

    def __init__(self, function, n_features, dt, integrator="rk4", dtype="float64"):
        self.function = function
        self.n_features = n_features
        self.dt = dt
        self.integrator = integrator
        self.dtype = dtype

    def _field(self):
        return self.function, resolve_dtype(self.dtype), torch.device("cpu")

    def _dt(self):
        return float(self.dt)

    def _integrator(self):
        return self.integrator

    def _n_features(self):
        return self.n_features
