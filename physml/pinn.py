"""PINNRegressor: a physics-informed neural network as a scikit-learn regressor."""

import dataclasses

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_array, check_consistent_length
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._base import (
    AUTO_OPTION,
    DEVICE,
    DTYPE,
    TorchPickleMixin,
    check_hidden_layer_sizes,
    clear_fitted,
    dtype_name,
    integers,
    reals,
    resolve_device,
    resolve_dtype,
    seeded,
    store_params,
    torch_seed,
    validate_params,
)
from ._checkpoint import LONG_FIT_CONSTRAINTS, LONG_FIT_DOC, checked_seed, open_checkpoint
from ._constraints import DistanceModel, ExactModel, exact_plan
from ._mlp import ACTIVATIONS, MLP, Activation, ModifiedMLP, Rescaled
from ._optimizers import OPTIMIZERS
from ._problem import PINNProblem, ProblemConfig, _transformed
from ._threads import N_JOBS, N_JOBS_DOC, estimator_threads, thread_budget
from .callbacks import CallbackList, check_callbacks
from .pde import PDE
from .strategies import (
    SAMPLING,
    STRATEGIES,
    PiecewiseInTime,
    Standard,
    Strategy,
    TrainingSettings,
    resolve_strategy,
    validate_strategy,
)

__all__ = ["PINNRegressor"]


#: The networks of ``architecture``.
ARCHITECTURES = {"mlp": MLP, "modified": ModifiedMLP}


class PINNRegressor(TorchPickleMixin, RegressorMixin, BaseEstimator):
    __doc__ = """Physics-informed neural network regressor (Raissi et al. 2019).

    Fits a network from the equation's coordinates to its outputs (``u(x, t)``, a system
    of ODEs ``y(t)``, a steady field ``u(x, y)``; see :class:`physml.pde.PDE` and the
    user guide "Stating an equation") to observed values (``fit(X, y)``: initial data,
    boundary data, sensors; NaN where an output is not observed) while penalizing the
    equation's residual at collocation points sampled in its domain, and the boundary
    conditions. The training strategy (standard, curriculum, time marching) is a
    parameter, as in Krishnapriyan et al. (NeurIPS 2021).

    The strategy also chooses how it trains: ``optimizer``, ``max_iter``,
    ``warmup_iter``, ``tol``, ``lbfgs_history_size`` and ``dtype`` default to
    ``"auto"``, which takes the strategy's defaults (documented on each strategy:
    float64, Adam then L-BFGS, budgets that reach the published numbers); a value you
    pass wins. What each stage used is recorded in ``stages_``. The paper's own
    settings, which reproduce its failures, are
    :data:`physml.strategies.PAPER_SETTINGS`. The defaults aim at accuracy, and a fit on
    the paper's problems takes minutes on a CPU (``verbose=1`` shows a progress bar per
    stage; the user guide's results tables give the seconds).

    Parameters
    ----------
    pde : PDE or None, default=None
        The equation (see :mod:`physml.pde`). ``None`` fits the data alone (an MLP
        regressor on any number of features and targets); the settings that act on an
        equation (a strategy other than ``"standard"``, ``constraints="exact"``,
        ``sampling="rad"``, ``learn_coefficients``) then raise a ValueError.
    strategy : str or strategy object, default="standard"
        How training proceeds; see :mod:`physml.strategies`.
    hidden_layer_sizes : tuple of int or "auto", default="auto"
        Widths of the hidden layers. ``"auto"``: the strategy's choice, the paper's
        4 x 50 for every strategy but ``"causal"``, whose Gauss-Newton final phase costs
        in proportion to the weights and takes 3 x 30 (see
        :class:`~physml.strategies.Causal`).
    activation : {"tanh", "sin", "sigmoid"}, default="tanh"
    architecture : {"auto", "mlp", "modified"}, default="auto"
        ``"mlp"``: a fully connected network. ``"modified"``: the modified MLP of Wang,
        Teng & Perdikaris (2021), two encoders of the inputs that gate every hidden layer
        (:class:`physml._mlp.ModifiedMLP`; the hidden layers must have one width). Its
        input derivatives come through autograd, about twice the MLP's time per loss
        evaluation. ``"auto"``: the strategy's choice, the modified MLP under
        ``"causal"`` (where hidden layers of one width allow it) and the MLP under the
        others; recorded in ``stages_[0]["architecture"]``.
    optimizer : {"auto", "lbfgs", "adam", "adam+lbfgs", "lm"}, default="auto"
        The optimizer of every stage, under any strategy. ``"adam+lbfgs"`` runs
        ``warmup_iter`` Adam steps (learning rate 1e-3) first. ``"lm"``:
        Levenberg-Marquardt (damped Gauss-Newton) steps on the loss's rows, each on new
        collocation points (drawn as ``sampling`` says); the Jacobian is formed up to
        20,000 trainable weights and replaced by conjugate gradients beyond.
        ``"auto"``: the strategy's choice (``"adam+lbfgs"``; ``"causal"`` adds a
        final Levenberg-Marquardt phase and ``"curriculum"`` trains its stage at the
        target by Levenberg-Marquardt, both up to 20,000 trainable weights; under
        ``"standard"``, a steady equation of one output on a :mod:`physml.geometry`
        trains by Levenberg-Marquardt where its steps are affordable,
        :func:`physml.strategies.lm_affordable`); a given optimizer trains
        every curriculum stage. What ran is in ``stages_``.
    learning_rate : float or None, default=None
        Step size: 1.0 for L-BFGS and 1e-3 for Adam when None.
    max_iter : int or "auto", default="auto"
        L-BFGS iterations (``"lbfgs"``, ``"adam+lbfgs"``), Adam steps (``"adam"``) or
        Levenberg-Marquardt steps (``"lm"``) per stage, before the strategy's per-stage
        factors. ``"auto"``: the strategy's, a 25th of its L-BFGS budget under ``"lm"``.
    warmup_iter : int or "auto", default="auto"
        Adam steps before L-BFGS with ``optimizer="adam+lbfgs"``, or before
        Levenberg-Marquardt's with ``"lm"``. ``"auto"``: the strategy's; with
        ``max_iter`` given, the strategy's ratio of the two; under ``"lm"`` none, except
        in the curriculum's stages, which keep the strategy's warm-up.
    tol : float or "auto", default="auto"
        L-BFGS ``tolerance_grad`` and ``tolerance_change`` (the paper's 1e-7; the
        strategies' defaults use 0 or 1e-10, so that L-BFGS spends its budget).
    lbfgs_history_size : int or "auto", default="auto"
        Number of past steps L-BFGS keeps to approximate the curvature (the paper's 50;
        the strategies' default 100).
    n_collocation : int or "auto", default="auto"
        Collocation points, drawn uniformly in the domain (seeded by ``random_state``), or
        as ``sampling`` says. ``"auto"``: the strategy's (1000; 2000 for ``"causal"``).
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
""" + N_JOBS_DOC + """    random_state : int, RandomState instance or None, default=None
        Seeds the network initialization and the collocation points.
    verbose : int, default=0
        ``1`` shows a progress bar per training stage.
""" + LONG_FIT_DOC + """    compile : bool, default=False
        Compile the loss and its gradient with :func:`torch.compile` (fuses the elementwise
        work; needs a C++ compiler on the CPU). The first evaluation then takes tens of
        seconds to compile, so it pays off for long fits and repeated fits of one shape.
        A loss whose input derivatives go through autograd cannot be compiled (a mixed
        derivative, ``architecture="modified"``, ``constraints="exact"``, an
        ``output_transform``): the fit then warns once and runs eagerly.
    learn_coefficients : tuple of str, default=()
        Coefficients of ``pde`` to learn from the data (an inverse problem): they become
        trainable parameters that start at the values in ``pde``. Those in
        ``pde.positive_coefficients`` (a viscosity, a diffusivity) are learned through
        their logarithm and stay positive. Fitted values land in ``coefficients_``, their
        trajectory (one value per loss evaluation) in ``history_``. The first stage of an
        inverse fit starts from the observations: the network is fitted to the data
        alone (Adam, then a quarter of the stage's L-BFGS iterations), then the
        coefficients alone to the equation on that fit (100 L-BFGS iterations, the
        network held), then both together (L-BFGS; no Adam warm-up). History entries of
        those first two phases hold NaN for the terms they do not compute.
    output_transform : callable or None, default=None
        ``output_transform(X, u) -> u`` on torch tensors, applied to the network's output
        (``u`` as the residual receives it: ``(n,)`` for one output, ``(n, n_outputs)``
        otherwise): a hard constraint, such as ``u0(x) + t * N`` for an initial condition
        that holds exactly. Use a module-level function so that the estimator pickles.
    input_scale : {"auto", True, False}, default="auto"
        Map the equation's box (a geometry's bounding box) onto ``[-1, 1]`` in every
        coordinate before the network. ``"auto"``: on a steady problem always (a tanh
        network's features are centred on 0; ``benchmarks/bench_domains.py`` measures
        the steady cases), in time when the box reaches beyond
        ``[-2 pi, 2 pi]`` (a coordinate ``t`` in ``[0, 10]``); the paper's problems are
        left as they are.
    output_scale : {"auto", True, False}, default="auto"
        Shift and scale the network's outputs by the observations' mean and spread (per
        output, over the observed values). ``"auto"``: when an output's ``|mean| +
        spread`` is outside ``[0.1, 10]`` (the Lorenz system's values reach 27).
    constraints : {"auto", "soft", "exact"}, default="auto"
        ``"soft"``: the boundary and initial conditions are loss terms. ``"exact"``: they
        hold by construction (:mod:`physml._constraints`): every periodic coordinate
        enters the network through the Fourier embedding of its period; the initial
        condition through ``u = u0(x) + s N(x, t)``, ``s = (t - t0) / (t1 - t0)``;
        Dirichlet ends of one spatial coordinate, constant in time and equal to ``u0``
        there, through a distance factor; on a steady problem on a geometry whose pieces
        hold Dirichlet values, ``u = g~ + phi N`` with ``phi`` an approximate distance to
        the pieces (R-functions) and ``g~`` their values interpolated between them (the
        values written for torch tensors, or constant on each piece). A ValueError says
        where this cannot apply (an
        ``output_transform`` is set too, a Neumann boundary, Dirichlet values that vary
        in time, an initial condition written for NumPy in more than one spatial
        dimension). ``"auto"``: the strategy's (``"exact"`` where it applies for
        ``"causal"``, and for ``"standard"`` on a steady equation on a geometry; soft
        where it cannot apply, and ``"soft"`` otherwise); what a fit used is in
        ``stages_[0]["constraints"]``.
    sampling : {"auto", "uniform", "sobol", "halton", "rad"}, default="auto"
        How collocation points are drawn each time they are redrawn: uniformly, as
        scrambled quasi-random Sobol' or Halton points (:mod:`scipy.stats.qmc`, seeded
        from ``random_state``; on a geometry, those outside it are left out), or by
        residual-based adaptive sampling (RAD, Wu et al. 2023: from a uniform pool 16
        times larger, with probability proportional to ``|r| / mean|r| + 1``).
        ``"auto"``: the strategy's (``"rad"`` for ``"causal"``, ``"uniform"`` otherwise).
    resample_every : int, None or "auto", default="auto"
        Draw new collocation points every this many iterations (None: the same points
        throughout). L-BFGS keeps its curvature model across them. ``"auto"``: the
        strategy's (100 for ``"causal"``, None otherwise, as in the paper).
    time_features : int or "auto", default="auto"
        With ``constraints="exact"``, time also enters the network through
        ``cos(pi k s), sin(pi k s)``, ``k = 1..time_features`` (a Fourier basis in time:
        fast oscillations in time are learned slowly from tanh units). ``"auto"``: 8 with
        ``constraints="exact"``, 0 otherwise.
    harmonics : int or "auto", default="auto"
        With ``constraints="exact"``, the harmonics ``k = 1..harmonics`` of each periodic
        coordinate's period that enter the network (``cos(k w x), sin(k w x)``); more
        harmonics represent sharp fronts and interfaces more easily, and harmonics the
        initial condition does not need admit wrong solutions of a fast wave. ``"auto"``:
        as many as the initial condition needs (the fewest whose trigonometric projection
        holds it to 1e-6), between 1 and 8: 1 for ``sin(x)``, 8 for the reaction's
        Gaussian bump and for Allen-Cahn.

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
        one per coefficient value for the curriculum, one or more per time block for
        seq2seq): its ``coefficients``, ``domain``, ``n_iter``, lowest ``loss``, whether it
        ``stopped`` early, and the settings it trained with (``optimizer``,
        ``max_iter``, ``warmup_iter``, ``tol``, ``lbfgs_history_size``, ``dtype``,
        ``constraints``, ``architecture``, ...).
        Seq2seq's blocks also record their check on fresh points (``held_out_ratio``)
        and number the trainings it added (``refinement``; see
        :class:`~physml.strategies.TimeMarching`).
    n_iter_ : int
        Optimizer iterations over all stages.
    coefficients_ : dict
        The equation's coefficients after fitting (learned ones at their fitted values).
    stopped_ : str or None
        ``"diverged"``, ``"interrupted"`` or ``"callback"`` when training ended early,
        else None.
    n_features_in_ : int
    n_outputs_ : int
        Number of outputs (the equation's ``outputs``; the columns of ``y`` without one).

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

    _parameter_constraints = {
        "pde": [PDE, None],
        "strategy": [StrOptions(set(STRATEGIES)), Strategy],
        "hidden_layer_sizes": [tuple, list, AUTO_OPTION],
        "activation": [StrOptions(set(ACTIVATIONS)), Activation],
        "architecture": [StrOptions({"auto", *ARCHITECTURES})],
        "optimizer": [StrOptions({"auto", *OPTIMIZERS})],
        "learning_rate": [reals(0, closed="neither"), None],
        "max_iter": [AUTO_OPTION, integers(0)],
        "warmup_iter": [AUTO_OPTION, integers(0)],
        "tol": [AUTO_OPTION, reals(0)],
        "lbfgs_history_size": [AUTO_OPTION, integers(1)],
        "n_collocation": [AUTO_OPTION, integers(1)],
        "n_boundary": [integers(1)],
        "residual_weight": [reals(0)],
        "dtype": [StrOptions({"auto", *DTYPE[0].options}), DTYPE[1]],
        "device": DEVICE,
        "n_jobs": N_JOBS,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "compile": ["boolean"],
        "learn_coefficients": [tuple, list],
        "output_transform": [callable, None],
        "input_scale": [AUTO_OPTION, "boolean"],
        "output_scale": [AUTO_OPTION, "boolean"],
        "constraints": [StrOptions({"auto", "soft", "exact"})],
        "sampling": [StrOptions({"auto", *SAMPLING})],
        "resample_every": [AUTO_OPTION, integers(1), None],
        "time_features": [AUTO_OPTION, integers(0)],
        "harmonics": [AUTO_OPTION, integers(1)],
        **LONG_FIT_CONSTRAINTS,
    }

    def __init__(self, *, pde=None, strategy="standard", hidden_layer_sizes="auto",
                 activation="tanh", architecture="auto", optimizer="auto", learning_rate=None,
                 max_iter="auto", warmup_iter="auto", tol="auto", lbfgs_history_size="auto",
                 n_collocation="auto", n_boundary=100, residual_weight=1.0, dtype="auto",
                 device="cpu", n_jobs=None,
                 random_state=None, verbose=0, compile=False, learn_coefficients=(),
                 output_transform=None, input_scale="auto", output_scale="auto",
                 constraints="auto", sampling="auto", resample_every="auto",
                 time_features="auto", harmonics="auto", warm_start=False, checkpoint=None,
                 checkpoint_every=60.0, callbacks=None):
        store_params(self, locals())

    def fit(self, X, y):
        """Fit the network to observations ``(X, y)`` and the equation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_coordinates)
            Observed points, columns in ``pde.coordinates`` order.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Observed outputs, columns in ``pde.outputs`` order. A NaN marks an output not
            observed at that row (partial observations).

        Returns
        -------
        self : PINNRegressor
        """
        validate_params(self)
        if self.pde is not None:
            validate_params(self.pde)
        if not isinstance(self.strategy, str):
            validate_strategy(self.strategy)
        if not isinstance(self.hidden_layer_sizes, str):
            check_hidden_layer_sizes(self.hidden_layer_sizes)
        pde = None if self.pde is None else self.pde.validate()
        self._validate_learned(pde)
        strategy = resolve_strategy(self.strategy)
        if pde is None:
            self._validate_without_pde(strategy)
        callbacks = CallbackList(check_callbacks(self.callbacks), self)
        start = self._warm_start_from()
        clear_fitted(self)
        X, y = self._validated_data(X, y, pde)
        settings = self._training_settings(strategy, warm=start is not None)
        checkpoint = open_checkpoint(
            self, X, y, start=None if start is None else
            [*start[0].state_dict().values(),
             np.array([value for _, value in sorted(start[1].items())], dtype=float)])
        seed = checked_seed(checkpoint, torch_seed(self.random_state))
        problem = self._problem(pde, X, y, settings, seed=seed, start=start,
                                checkpoint=checkpoint,
                                callbacks=callbacks if callbacks.callbacks else None)
        callbacks.model = lambda: problem.network
        with callbacks.running(checkpoint), thread_budget(self.n_jobs):
            if pde is None:
                model, reports = problem.network, [problem.train(None)]
            else:
                model, reports = strategy.run(problem, pde)
        stopped = next((r["stopped"] for r in reports if r["stopped"]), None)
        if checkpoint is not None and not checkpoint.complete \
                and stopped not in ("interrupted", "callback"):
            checkpoint.write(history=problem.history, complete=True)
        # Every fitted attribute is set here, from the problem and the strategy's reports.
        self.network_ = model
        if isinstance(model, PiecewiseInTime):
            self.time_blocks_ = model.blocks()
        self.history_ = problem.history
        self.stages_ = [{**r["stage"], "accepted": r.get("accepted", True)} for r in reports]
        self.n_iter_ = int(sum(r["n_iter"] for r in reports))
        self.stopped_ = stopped
        self.coefficients_ = dict(pde.coefficients) if pde is not None else {}
        self.coefficients_.update(problem.learned_values())
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True  # one column per output of the equation
        return tags

    def _problem(self, pde, X, y, settings, seed=None, start=None, checkpoint=None,
                 callbacks=None):
        """A fresh network (``start``'s weights on a warm start) and the problem it trains
        on, from the resolved settings."""
        device, dtype = resolve_device(self.device), resolve_dtype(settings.dtype)
        seed = torch_seed(self.random_state) if seed is None else seed
        plan = self._exact_plan(pde, settings.constraints)
        settings = dataclasses.replace(settings,
                                       constraints="soft" if plan is None else "exact")
        on_geometry = plan is not None and "geometry" in plan
        n_in = X.shape[1] if plan is None or on_geometry else ExactModel.n_features(plan)
        architecture = settings.architecture
        if architecture == "modified" and self.architecture == "auto" \
                and len(set(settings.hidden_layer_sizes)) > 1:
            architecture = "mlp"  # the gates need one width; "auto" does not insist
        settings = dataclasses.replace(settings, architecture=architecture)
        with seeded(seed, device):
            network = ARCHITECTURES[architecture](
                n_in, tuple(settings.hidden_layer_sizes), self.n_outputs_, self.activation)
        outputs = self._output_scaling(y)
        inputs = self._input_scaling(pde) if plan is None or on_geometry else None
        if plan is not None and outputs is not None:
            outputs = (np.zeros(self.n_outputs_), outputs[1])  # N is added to u0
        if outputs is not None or inputs is not None:
            outputs = outputs or (np.zeros(self.n_outputs_), np.ones(self.n_outputs_))
            network = Rescaled(network, *outputs, *(inputs or (None, None)))
        if plan is not None:
            network = (DistanceModel if on_geometry else ExactModel)(network, plan)
        network = network.to(device=device, dtype=dtype)
        if start is not None:
            try:
                network.load_state_dict(start[0].state_dict())
            except RuntimeError:
                raise ValueError(
                    "warm_start=True starts from the previous fit's network, and this fit "
                    "builds a network of another shape (hidden_layer_sizes, architecture, "
                    "constraints, harmonics or the data's scales changed): keep them, or "
                    "set warm_start=False") from None
        config = ProblemConfig(
            settings=settings, optimizer_given=self.optimizer != "auto",
            n_collocation=int(settings.n_collocation),
            n_boundary=int(self.n_boundary), residual_weight=float(self.residual_weight),
            learning_rate=self.learning_rate, learn_coefficients=tuple(self.learn_coefficients),
            output_transform=self.output_transform, compile=bool(self.compile),
            verbose=self.verbose, seed=seed, device=device, owner=type(self).__name__,
            checkpoint=checkpoint, callbacks=callbacks,
            start_coefficients={} if start is None else dict(start[1]))
        return PINNProblem(config, pde, network, X, y)

    def _exact_plan(self, pde, constraints):
        """What exact constraints build in, or None with soft ones. ``constraints`` is
        the resolved value; one that ``"auto"`` chose falls back to soft constraints
        where exact ones cannot apply, one the user asked for raises the ValueError."""
        if constraints == "soft" or pde is None:
            return None
        chosen = self.constraints == "auto"
        if self.output_transform is not None:
            if chosen:
                return None
            raise ValueError("constraints='exact' builds its own output transform; set "
                             "output_transform=None or constraints='soft'")
        harmonics = "auto" if isinstance(self.harmonics, str) else int(self.harmonics)
        try:
            return exact_plan(pde, len(pde.outputs), self._time_features(pde, constraints),
                              n_harmonics=harmonics)
        except ValueError:
            if chosen:
                return None
            raise

    def _time_features(self, pde, constraints):
        if isinstance(self.time_features, str):
            return 8 if constraints == "exact" and pde.time_index is not None else 0
        return int(self.time_features)

    def _input_scaling(self, pde):
        """``(center, half_width)`` of the domain's box, or None (see ``input_scale``)."""
        if pde is None or self.input_scale is None or self.input_scale is False:
            return None
        low = np.array([float(r[0]) for r in pde.bounds])
        high = np.array([float(r[1]) for r in pde.bounds])
        if self.input_scale == "auto":
            if pde.time_index is None:  # steady: always onto [-1, 1]
                if np.all(low == -1.0) and np.all(high == 1.0):
                    return None
            elif np.all(np.abs([low, high]) <= 2 * np.pi):
                return None
        return (low + high) / 2, (high - low) / 2

    def _output_scaling(self, y):
        """``(shift, scale)`` per output from the observations, or None (see
        ``output_scale``)."""
        if self.output_scale is None or self.output_scale is False:
            return None
        observed = np.isfinite(y)
        counts = observed.sum(0)
        filled = np.where(observed, y, 0.0)
        mean = filled.sum(0) / np.maximum(counts, 1)
        spread = np.sqrt((np.where(observed, y - mean, 0.0) ** 2).sum(0)
                         / np.maximum(counts, 1))
        magnitude = np.abs(mean) + spread
        if self.output_scale == "auto" and np.all((magnitude >= 0.1) & (magnitude <= 10)):
            return None
        # An output observed once or never: the scale of its own value, or of the others.
        fallback = np.max(np.where(counts > 1, spread, 0.0), initial=0.0) or 1.0
        scale = np.where(spread > 1e-8 * np.maximum(np.abs(mean), 1.0), spread,
                         np.maximum(np.abs(mean), fallback))
        return mean, scale

    def _validated_data(self, X, y, pde, reset=True):
        """``X`` as float64 (finite; one column per coordinate) and ``y`` as float64
        ``(n, n_outputs)`` (NaN: not observed); sets ``n_features_in_`` and
        ``n_outputs_``."""
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the target "
                             "y is None (pass the observations: initial data, sensors)")
        X = validate_data(self, X, reset=reset, dtype=np.float64)
        y = check_array(y, ensure_2d=False, dtype=np.float64, ensure_all_finite="allow-nan",
                        input_name="y")
        check_consistent_length(X, y)
        if y.ndim > 2:
            raise ValueError(f"y must be 1-D or 2-D, got shape {y.shape}")
        if np.isinf(y).any():
            raise ValueError("y contains infinity; mark an unobserved value with NaN")
        if pde is not None and X.shape[1] != len(pde.coordinates):
            raise ValueError(
                f"X has {X.shape[1]} columns, but pde={type(pde).__name__} has coordinates "
                f"{tuple(pde.coordinates)}: pass one column per coordinate, in that order")
        n_outputs = len(pde.outputs) if pde is not None else (1 if y.ndim == 1
                                                               else y.shape[1])
        columns = 1 if y.ndim == 1 else y.shape[1]
        if columns != n_outputs:
            raise ValueError(
                f"y has {columns} column(s), but pde={type(pde).__name__} has outputs "
                f"{tuple(pde.outputs)}: pass one column per output (NaN where one is not "
                "observed)")
        if pde is None and np.isnan(y).any():
            raise ValueError("y contains NaN; without a pde every value must be observed")
        if reset:
            self.n_outputs_ = n_outputs
        return X, y.reshape(len(y), n_outputs)

    def predict(self, X):
        """Predict the outputs at the rows of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_coordinates)

        Returns
        -------
        y : ndarray of shape (n_samples,) or (n_samples, n_outputs)
            ``(n_samples,)`` for one output.
        """
        check_is_fitted(self, "network_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        # Evaluate in float64 whatever the training dtype: a float32 matrix product rounds
        # differently for different batch sizes, and a row's prediction must not depend on
        # which other rows it is predicted with.
        device = next(self.network_.parameters()).device
        weights = {name: p.detach().double() for name, p in self.network_.named_parameters()}
        out = np.empty((X.shape[0], self.n_outputs_))
        transform = self.output_transform
        with torch.no_grad(), estimator_threads(self):
            for start in range(0, X.shape[0], 65536):
                part = torch.tensor(np.ascontiguousarray(X[start:start + 65536]),
                                    device=device)
                u = torch.func.functional_call(self.network_, weights, (part,))
                if transform is not None:
                    u = _transformed(transform, part, u)
                out[start:start + 65536] = u.cpu().numpy()
        return out[:, 0] if self.n_outputs_ == 1 else out

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
        pde = None if self.pde is None else self.pde.validate()
        X, y = self._validated_data(X, y, pde, reset=False)
        parameter = next(self.network_.parameters())
        settings = self._training_settings(resolve_strategy(self.strategy))
        settings = settings.scaled(dtype=dtype_name(parameter.dtype))
        problem = self._problem(None if pde is None else pde, X, y, settings)
        problem.network = self.network_
        if pde is not None:
            # Learned coefficients enter at their fitted values, as constants.
            pde = pde.with_coefficients(**{k: v for k, v in self.coefficients_.items()
                                           if k in pde.coefficient_names})
            problem.learned = {}
        terms = problem.loss(pde, pde.bounds if pde is not None else (),
                                   problem.X_obs, problem.y_obs, problem.config.n_collocation)
        return lambda: sum(terms().values())

    # ----------------------------------------------------------------------------------

    def _validate_without_pde(self, strategy):
        """With ``pde=None`` the fit is a regression on the data alone: a setting that only
        acts on an equation would be ignored, so it is refused instead."""
        if type(strategy) is not Standard:
            name = self.strategy if isinstance(self.strategy, str) else type(strategy).__name__
            raise ValueError(
                f"strategy={name!r} trains against an equation, and pde=None fits the data "
                "alone: pass a pde, or use strategy='standard'")
        if self.constraints == "exact":
            raise ValueError(f"constraints={self.constraints!r} builds an equation's "
                             "conditions in, and pde=None has none: pass a pde, or use "
                             "constraints='soft'")
        if self.sampling == "rad":
            raise ValueError("sampling='rad' places an equation's collocation points, and "
                             "pde=None has none: pass a pde, or leave sampling='auto'")

    def _validate_learned(self, pde):
        names = self.learn_coefficients
        if names and pde is None:
            raise ValueError("learn_coefficients needs a pde")
        for name in names:
            if name not in pde.coefficient_names:
                raise ValueError(
                    f"learn_coefficients: {name!r} is not a coefficient of "
                    f"{type(pde).__name__} {pde.coefficient_names}")
            value = pde.coefficients[name]
            if name in pde.positive_coefficients and not value > 0:
                raise ValueError(f"learn_coefficients: {name} starts at {value!r}, but it is "
                                 "positive by its physics; start from a positive guess")

    def _given_training(self):
        return {name: getattr(self, name)
                for name in ("optimizer", "max_iter", "warmup_iter", "tol",
                             "lbfgs_history_size", "dtype", "sampling", "resample_every",
                             "n_collocation", "hidden_layer_sizes", "constraints",
                             "architecture")}

    def _warm_start_from(self):
        """``(network, coefficients)`` of the fit a warm start continues, or None (a time
        marching fit continues from its first block's network)."""
        if not self.warm_start or getattr(self, "network_", None) is None:
            return None
        network = self.network_
        if isinstance(network, PiecewiseInTime):
            network = network.networks[0]
        return network, dict(getattr(self, "coefficients_", {}))

    def _training_settings(self, strategy, warm=False):
        """The strategy's training defaults with this estimator's explicit values in
        their place (``pde=None`` trains as the standard strategy); a warm start takes
        no Adam warm-up unless one is given (it only shakes a network out of the basin
        it starts in)."""
        defaults = (strategy if self.pde is not None else Standard()).training(self.pde)
        lm_warmup = self.pde is not None and strategy.lm_warmup
        given = self._given_training()
        settings = TrainingSettings.resolve(defaults, lm_warmup=lm_warmup, **given)
        if warm and given["warmup_iter"] == "auto":
            settings = dataclasses.replace(settings, warmup_iter=0)
        # torch dtypes are accepted for convenience; the record holds their names
        return settings.scaled(dtype=dtype_name(settings.dtype))


