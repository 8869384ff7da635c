"""How a PINN is trained: strategies are parameter objects that drive the trainer.

A strategy's ``run(problem, pde, scope)`` receives the fit's problem
(:class:`physml._problem.PINNProblem`: its network, settings, points and loss) and a
:class:`Scope`, what an enclosing strategy fixes (a time block's domain, initial data,
collocation budget and iteration factor; the whole fit's by default). It decides which
equations to train on, over which sub-domains and in what order, each by
``problem.train(pde, scope, ...)``, and returns the model it leaves with the reports of
its stages: ``(model, reports)``. So strategies nest: ``TimeMarching(within=Curriculum())``
runs a curriculum inside each time block. The state a strategy keeps while it trains
(:class:`CausalWeights`; the blocks of :class:`PiecewiseInTime`) is defined here, with the
strategy.
"""

import dataclasses

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import StrOptions

from ._base import AUTO_OPTION, DTYPE, dtype_name, integers, reals, validate_params
from ._optimizers import DENSE_MAX_WEIGHTS, LM_ITER_RATIO, OPTIMIZERS, continued
from .pde._base import FACES_PER_DIMENSION

__all__ = ["Strategy", "Scope", "Standard", "Curriculum", "TimeMarching", "Causal",
           "TrainingSettings", "PAPER_SETTINGS", "STRATEGIES", "SAMPLING", "resolve_strategy",
           "lm_affordable", "LM_STEP_BUDGET"]

AUTO = "auto"


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
    :class:`Causal`; ``record`` keeps the weights of every update."""

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

    #: The term of the loss (:class:`physml._loss.Term`'s ``weighting``).
    reduce = weighted

    def row_weights(self, X):
        """``(n,)``: the weight of each row's squared residual in :meth:`weighted`,
        ``w_i / (n_chunks * count_i)`` for a row in chunk i (the rows of
        Levenberg-Marquardt)."""
        index = self._index(X)
        count = torch.bincount(index, minlength=self.n_chunks).clamp(min=1)
        weights = self.weights.to(X.dtype) / (count.to(X.dtype) * self.n_chunks)
        return weights[index]


@dataclasses.dataclass(frozen=True)
class Scope:
    """What an enclosing strategy fixes for every training a strategy runs.

    ``domain`` (a box of ``(min, max)`` pairs), the observations ``(X_obs, y_obs)`` and
    the collocation budget ``n_collocation`` default (None) to the fit's; ``iter_factor``
    scales every stage's iterations; ``label`` starts every progress bar's text.
    """

    domain: tuple = None
    X_obs: object = None
    y_obs: object = None
    n_collocation: int = None
    iter_factor: float = 1.0
    label: str = ""

    def within(self, **changes):
        """This scope with ``changes``; ``iter_factor`` multiplies, ``label`` appends."""
        if "iter_factor" in changes:
            changes["iter_factor"] = self.iter_factor * changes["iter_factor"]
        if "label" in changes:
            changes["label"] = self.label + changes["label"]
        return dataclasses.replace(self, **changes)


@dataclasses.dataclass(frozen=True)
class TrainingSettings:
    """How one training stage runs: the estimator parameters a strategy chooses.

    The field names are :class:`~physml.PINNRegressor`'s parameters. A strategy holds
    its defaults in ``training_defaults``; the estimator's ``"auto"`` values take them,
    and an explicit value always wins (:meth:`resolve`).
    """

    optimizer: str
    max_iter: int
    warmup_iter: int
    tol: float
    lbfgs_history_size: int
    dtype: str
    sampling: str = "uniform"
    resample_every: int = None
    n_collocation: int = 1000
    hidden_layer_sizes: tuple = (50, 50, 50, 50)
    constraints: str = "soft"
    architecture: str = "mlp"

    @classmethod
    def resolve(cls, defaults, lm_warmup=False, **given):
        """``defaults`` with every given value that is not ``"auto"`` in its place.

        ``warmup_iter="auto"`` keeps the defaults' ratio of Adam steps to ``max_iter``
        when ``max_iter`` is given (``max_iter=200`` on a 500/1000 default: 100 Adam
        steps), so that a shorter fit is shorter in both phases. Under
        ``optimizer="lm"`` it is no Adam steps, or the defaults' where ``lm_warmup``
        (the strategy's :attr:`Strategy.lm_warmup`)."""
        values = dataclasses.asdict(defaults)
        explicit = {k: v for k, v in given.items() if not _is_auto(v)}
        optimizer = explicit.get("optimizer", defaults.optimizer)
        if optimizer == "lm" and "warmup_iter" not in explicit:
            # the strategy's Adam steps, fewer as a given max_iter asks for fewer steps
            share = explicit.get("max_iter", default_iter(defaults, "lm"))
            share /= max(default_iter(defaults, "lm"), 1)
            explicit["warmup_iter"] = (int(round(defaults.warmup_iter * share))
                                       if lm_warmup else 0)
        if "max_iter" not in explicit and optimizer != defaults.optimizer:
            explicit["max_iter"] = default_iter(defaults, optimizer)
        if "warmup_iter" not in explicit and "max_iter" in explicit:
            ratio = defaults.warmup_iter / max(defaults.max_iter, 1)
            explicit["warmup_iter"] = int(round(ratio * explicit["max_iter"]))
        values.update(explicit)
        return cls(**values)

    def scaled(self, factor=1.0, dtype=None):
        """The same settings with ``factor`` times the iterations (a stage that needs more
        or fewer), in ``dtype`` when given."""
        return dataclasses.replace(
            self, max_iter=int(round(self.max_iter * factor)),
            warmup_iter=int(round(self.warmup_iter * factor)),
            dtype=self.dtype if dtype is None else dtype)

    def as_dict(self):
        return dataclasses.asdict(self)


def default_iter(defaults, optimizer):
    """``max_iter`` for ``optimizer`` from a strategy's ``defaults`` (their L-BFGS or Adam
    budget; Levenberg-Marquardt takes :data:`physml._optimizers.LM_ITER_RATIO` times
    fewer steps)."""
    if optimizer == defaults.optimizer:
        return defaults.max_iter
    if optimizer == "lm":
        return max(int(round(defaults.max_iter / LM_ITER_RATIO)), 1)
    if defaults.optimizer == "lm":
        return defaults.max_iter * LM_ITER_RATIO
    return defaults.max_iter


def switched_optimizer(settings, defaults, optimizer):
    """The settings of a stage that trains with ``optimizer`` instead of the resolved
    ``settings.optimizer``: its default budget from the strategy's ``defaults``, scaled as
    ``settings.max_iter`` scales the default of the optimizer it replaces."""
    if optimizer == settings.optimizer:
        return {}
    ratio = settings.max_iter / max(default_iter(defaults, settings.optimizer), 1)
    max_iter = max(int(round(default_iter(defaults, optimizer) * ratio)), 1)
    warmup = 0 if optimizer in ("lm", "lbfgs") else int(round(defaults.warmup_iter * ratio))
    return dict(optimizer=optimizer, max_iter=max_iter, warmup_iter=warmup)


#: The names ``strategy=`` takes (:data:`STRATEGIES` maps them to the classes).
STRATEGY_NAMES = {"standard", "curriculum", "seq2seq", "causal"}


def _is_auto(value):
    return isinstance(value, str) and value == AUTO


#: Where the collocation points are: drawn uniformly, as scrambled quasi-random Sobol' or
#: Halton points (:mod:`scipy.stats.qmc`: lower discrepancy, the domain covered more
#: evenly by as many points), or by residual-based adaptive sampling (RAD, Wu et al.
#: 2023) each time they are redrawn (``resample_every``).
SAMPLING = ("uniform", "sobol", "halton", "rad")


#: The training settings of Krishnapriyan et al.'s code (NeurIPS 2021): float32 L-BFGS
#: (lr 1, history 50, strong Wolfe line search, tolerances 1e-7; it stops on them long
#: before 5000 iterations). Pass them to reproduce the paper's standard PINN, failure
#: included: ``PINNRegressor(pde=Convection(beta=30.0), **PAPER_SETTINGS)``.
PAPER_SETTINGS = dict(dtype="float32", optimizer="lbfgs", max_iter=5000, tol=1e-7,
                      lbfgs_history_size=50)


class Strategy(BaseEstimator):
    """What every strategy has: ``run(problem, pde, scope=None)`` and its training
    defaults.

    ``training_defaults`` (a :class:`TrainingSettings`) is what the estimator's ``"auto"``
    parameters resolve to; each stage a strategy trains may scale its iterations or change
    its precision (``problem.train(..., iter_factor=, dtype=)``), and the fitted estimator
    records what each stage used in ``stages_``.
    """

    training_defaults = None

    #: Whether ``optimizer="lm"`` given to the estimator keeps the strategy's Adam
    #: warm-up (``training_defaults.warmup_iter``) before each stage's
    #: Levenberg-Marquardt steps, as ``"adam+lbfgs"`` keeps it before L-BFGS.
    lm_warmup = False

    def training(self, pde=None):
        """The :class:`TrainingSettings` the estimator's ``"auto"`` values resolve to (on
        ``pde`` where given)."""
        return self.training_defaults

    def run(self, problem, pde, scope=None):
        """Train ``problem`` on ``pde`` within ``scope`` (a :class:`Scope`; the whole fit
        when None); return ``(model, reports)``."""
        raise NotImplementedError


#: A loss change this small between L-BFGS iterations is a stall on float32 rounding (its
#: machine epsilon is 1.2e-7 relative; PINN losses below 1e-3 change by less than 1e-10
#: only when the arithmetic, not the problem, stops them).
_ROUNDING_STALL = 1e-10


class Standard(Strategy):
    """Train once on the target equation over the whole domain (the standard PINN).

    Training defaults (the estimator's ``"auto"`` values): 500 Adam steps then 4000
    L-BFGS iterations (history 100, tolerances 0, so the budget is spent); the Adam steps
    and the first ``early_fraction`` (80 %) of the L-BFGS iterations run in
    ``early_dtype`` (float32), the last 800 in float64. float32 arithmetic costs about a
    third of float64's on a CPU and is all the early iterations need, but float32 L-BFGS
    stalls on its own rounding long before it converges (Xu et al. 2025, "FP64 is all you
    need"): the float32 phase ends there if that comes first (a loss change under 1e-10
    between iterations), and the float64 phase finishes the job. The two phases are two
    entries of ``stages_``. ``benchmarks/bench_standard_pinn.py`` measures the bare call,
    Burgers' equation on 10,000 points (Raissi et al.'s setting) among its cases. The
    paper's own
    settings, which reproduce its failures, are :data:`PAPER_SETTINGS`.

    On a steady problem whose domain is a :mod:`physml.geometry` (a disk, a polygon, a
    plate with holes, a point cloud, a ``Box``), the defaults are Levenberg-Marquardt
    (``optimizer="lm"``, ``max_iter / LM_ITER_RATIO`` steps, float64) for one output
    within :data:`LM_STEP_BUDGET` (:func:`lm_affordable`; the L-BFGS defaults for a
    system such as Navier-Stokes, or beyond the budget) and exact Dirichlet
    constraints where the pieces' values can be built in (``constraints="exact"``:
    written for torch tensors or constant on each piece; soft ones otherwise):
    ``benchmarks/bench_domains.py`` measures these bare calls, and the soft
    constraints' collapse to a constant on PINNacle's plate with four holes is what the
    exact ones avoid.

    Parameters
    ----------
    early_dtype : {"float32", "float64"} or None, default="float32"
        Precision of the first phase (Adam, then L-BFGS until ``early_fraction`` of its
        iterations or until it stalls). None, or the estimator's own ``dtype``, trains in
        one phase.
    early_fraction : float, default=0.8
        Share of the L-BFGS iterations given to the first phase; the second phase gets
        the rest.

    Examples
    --------
    >>> from physml.strategies import Standard
    >>> Standard()
    Standard()
    """

    training_defaults = TrainingSettings(optimizer="adam+lbfgs", max_iter=4000,
                                         warmup_iter=500, tol=0.0, lbfgs_history_size=100,
                                         dtype="float64")

    _parameter_constraints = {
        "early_dtype": [*DTYPE, None],
        "early_fraction": [reals(0, 1, closed="both")],
    }

    def __init__(self, early_dtype="float32", early_fraction=0.8):
        self.early_dtype = early_dtype
        self.early_fraction = early_fraction

    def training(self, pde=None):
        if on_steady_geometry(pde):
            return dataclasses.replace(self.training_defaults, constraints="exact")
        return self.training_defaults

    def run(self, problem, pde, scope=None):
        scope = scope or Scope()
        desc = f"{scope.label}standard {_describe(pde)}"
        if on_steady_geometry(pde) and _stage_optimizer("auto", problem) == "lm" \
                and problem.settings.optimizer != "lm" and lm_affordable(problem, pde):
            changes = switched_optimizer(problem.settings, self.training_defaults, "lm")
            return problem.network, [problem.train(pde, scope, desc=desc, **changes)]
        settings = problem.settings.scaled(scope.iter_factor)
        early = None if self.early_dtype is None else dtype_name(self.early_dtype)
        # Adam has no rounding stall to escape, and Levenberg-Marquardt's few exact
        # steps need the fit's own precision: both train in one phase.
        if early is None or early == settings.dtype or settings.optimizer in ("adam", "lm"):
            return problem.network, [problem.train(pde, scope, desc=desc)]
        budget = settings.max_iter
        early_iter = int(round(self.early_fraction * budget))
        first = problem.train(pde, scope, desc=f"{desc}, {early}", dtype=early,
                              max_iter=early_iter, tol=max(settings.tol, _ROUNDING_STALL))
        if first["stopped"]:
            problem.use_dtype(problem.base_dtype)
            return problem.network, [first]
        second = problem.train(pde, scope, desc=f"{desc}, {settings.dtype}",
                               optimizer=continued(settings.optimizer),
                               max_iter=budget - early_iter, warmup_iter=0)
        return problem.network, [first, second]


class Curriculum(Strategy):
    """Curriculum regularization: train on easy versions of the equation first.

    Krishnapriyan et al. (NeurIPS 2021): a PINN that cannot learn convection at a large
    ``beta`` from scratch learns it when warm-started from the solution at a smaller one.
    The network is trained on a sequence of equations whose ``coefficient`` rises from
    ``start`` to the target value (the estimator's ``pde``), each stage warm-starting
    from the last.

    Training defaults (the estimator's ``"auto"`` values): every stage before the target
    runs 500 Adam steps (lr 1e-3, to move into the new stage's basin) then 1000 L-BFGS
    iterations (history 100, tolerances 0: each stage spends its budget) in float32
    (``stage_dtype``); the stage at the target trains in float64 by
    Levenberg-Marquardt (``final_optimizer="auto"``, up to 20,000 trainable weights),
    ``final_stage_factor`` (6) times its default 40 steps, each on new collocation
    points. The earlier stages bring the network into the target's basin, where exact
    Gauss-Newton steps converge far beyond what L-BFGS reaches on fixed points. With
    these, ``PINNRegressor(pde=Convection(beta=b), strategy="curriculum")`` is measured
    against the paper's curriculum errors at beta = 20, 30, 40 by ``physml reproduce
    failure-modes`` (the user guide's "Reproducing the papers").

    An optimizer given to the estimator trains every stage. ``optimizer="lm"`` keeps
    the Adam warm-up before each stage's Levenberg-Marquardt steps (the stage at the
    target gets ``final_stage_factor`` times both): a stage starts from the last one's
    solution, outside its own basin, and Gauss-Newton steps from there settle in a
    nearby wrong solution where Adam's steps first move the network into the basin.

    Parameters
    ----------
    coefficient : str, default=None
        The coefficient to ramp; the equation's first coefficient when None. Not one
        that the estimator's ``learn_coefficients`` learns (a ValueError).
    start : float, default=1.0
        The easy value the curriculum begins at.
    step : float, default=5.0
        Spacing of the intermediate stages: ``start``, then the multiples of ``step`` above
        it, then the target (the paper's figure steps beta by 5).
    stages : sequence of float, default=None
        An explicit schedule (ending anywhere; the target is appended if missing).
    accept_loss : float or None, default=None
        Make the schedule adaptive: a stage whose lowest loss stays above ``accept_loss``
        is not accepted; the network goes back to the last accepted stage and a stage
        halfway between is inserted first. None follows the schedule as it is.
    max_splits : int, default=2
        How many times one step may be halved before a stage is accepted as it is.
    stage_dtype : {"float32", "float64"} or None, default="float32"
        Precision of the stages before the target (the last one always trains in the
        estimator's ``dtype``); None: the estimator's. Single precision makes a float64
        fit's early stages about twice as fast; they only need to bring the network near
        the next solution.
    final_stage_factor : float, default=6.0
        The stage at the target value gets this many times the iterations of its
        optimizer (``warmup_iter`` and ``max_iter``, or Levenberg-Marquardt's steps):
        earlier stages only need to bring the network near the next solution, the last
        one's accuracy is the result: a last stage left unconverged passes its error to
        the answer.
    final_optimizer : {"auto", "adam", "lbfgs", "adam+lbfgs", "lm"}, default="auto"
        The optimizer of the stage at the target value; ``"auto"``: the estimator's
        ``optimizer`` where one is given, else Levenberg-Marquardt for networks of up
        to ``LM_MAX_WEIGHTS`` (20,000) trainable weights and the strategy's
        ``"adam+lbfgs"`` beyond. One other than the other stages' takes its own default
        budget (:func:`default_iter`) times ``final_stage_factor``, scaled as the
        estimator's ``max_iter`` scales the strategy's. Recorded in
        ``stages_[-1]["optimizer"]``.

    Examples
    --------
    >>> from physml.strategies import Curriculum
    >>> Curriculum(step=10.0).schedule(30.0)
    [1.0, 10.0, 20.0, 30.0]
    """

    training_defaults = TrainingSettings(optimizer="adam+lbfgs", max_iter=1000,
                                         warmup_iter=500, tol=0.0, lbfgs_history_size=100,
                                         dtype="float64")

    # each stage starts from the last one's solution, outside its own basin
    lm_warmup = True

    _parameter_constraints = {
        "coefficient": [str, None],
        "start": [reals()],
        "step": [reals(0, closed="neither")],
        "stages": ["array-like", None],
        "accept_loss": [reals(0, closed="neither"), None],
        "max_splits": [integers(0)],
        "stage_dtype": [*DTYPE, None],
        "final_stage_factor": [reals(0, closed="neither")],
        "final_optimizer": [StrOptions({"auto", *OPTIMIZERS})],
    }

    def __init__(self, coefficient=None, start=1.0, step=5.0, stages=None, accept_loss=None,
                 max_splits=2, stage_dtype="float32", final_stage_factor=6.0,
                 final_optimizer="auto"):
        self.coefficient = coefficient
        self.start = start
        self.step = step
        self.stages = stages
        self.accept_loss = accept_loss
        self.max_splits = max_splits
        self.stage_dtype = stage_dtype
        self.final_stage_factor = final_stage_factor
        self.final_optimizer = final_optimizer

    def final_optimizer_for(self, problem):
        """The optimizer of the stage at the target value for ``problem``'s network: an
        optimizer given to the estimator trains every stage."""
        return _stage_optimizer(self.final_optimizer, problem)

    def schedule(self, target):
        """The coefficient values to train at, in order, ending at ``target``."""
        validate_params(self)
        if self.stages is not None:
            values = [float(v) for v in self.stages]
        else:
            first = np.floor(self.start / self.step) + 1
            values = [float(self.start)] + [
                float(k * self.step) for k in np.arange(first, np.ceil(target / self.step))]
            values = [v for v in values if v < target] if target > self.start else []
        if not values or values[-1] != float(target):
            values.append(float(target))
        return values

    def run(self, problem, pde, scope=None):
        scope = scope or Scope()
        if self.coefficient is None and not pde.coefficient_names:
            raise ValueError(
                f"Curriculum ramps a coefficient of the equation, and {type(pde).__name__} "
                "has none: state one (CustomPDE(..., coefficients={'beta': 30.0}), read as "
                "c['beta'] in the residual), or use strategy='standard' or 'causal'")
        name = self.coefficient or pde.coefficient_names[0]
        if name not in pde.coefficient_names:
            raise ValueError(
                f"Curriculum coefficient={name!r} is not a coefficient of {type(pde).__name__} "
                f"{pde.coefficient_names}")
        if name in problem.learned:
            raise ValueError(
                f"Curriculum ramps {name!r}, which learn_coefficients learns from the data: "
                "ramp another coefficient (Curriculum(coefficient=...)) or use "
                "strategy='standard'")
        stage_dtype = None if self.stage_dtype is None else dtype_name(self.stage_dtype)
        reports, accepted = [], None
        target = float(pde.coefficients[name])
        # (value, how many times the step into it was halved)
        pending = [(value, 0) for value in self.schedule(target)]
        while pending:
            value, splits = pending.pop(0)
            before = {k: v.detach().clone() for k, v in problem.network.state_dict().items()}
            stage = pde.with_coefficients(**{name: value})
            final = value == target
            changes = {}
            if final:
                scaled = problem.settings.scaled(scope.iter_factor * self.final_stage_factor)
                changes = switched_optimizer(scaled, self.training_defaults,
                                             self.final_optimizer_for(problem))
            report = problem.train(
                stage, scope, desc=f"{scope.label}curriculum {_describe(stage)}",
                iter_factor=self.final_stage_factor if final else 1.0,
                dtype=None if final else stage_dtype, **changes)
            reports.append(report)
            if report["stopped"]:
                break
            if (self.accept_loss is not None and report["best_loss"] > self.accept_loss
                    and accepted is not None and splits < self.max_splits):
                # Not converged: back to the last accepted stage, take half the step first.
                problem.network.load_state_dict(before)
                report["accepted"] = False
                middle = 0.5 * (accepted + value)
                pending[:0] = [(middle, splits + 1), (value, splits + 1)]
                continue
            report["accepted"] = True
            accepted = value
        problem.use_dtype(problem.base_dtype)  # a stopped fit may end in a float32 stage
        return problem.network, reports


class TimeMarching(Strategy):
    """Sequence-to-sequence learning: train one time block after another.

    Krishnapriyan et al. (NeurIPS 2021): split ``[t_min, t_max]`` into blocks of length
    ``dt`` and train on one block at a time; the prediction at the end of block k is the
    initial data of block k+1. The collocation budget is shared out in proportion to the
    block lengths (1000 points over the domain and ``dt = 0.1`` give 100 a block). Each
    block gets its own network, warm-started from the previous block's; the fitted model
    sends each point to its block (``time_blocks_`` on the estimator).

    A block's error passes to the next block with its end state, and a block's share of
    the points can be too few for a front inside it: the fit is then exact at its points
    and wrong between them (a loss of 1e-6 with an error of 4e-2). So each trained block
    is checked on ``10 n`` fresh points (``n`` its own): where their mean squared
    residual exceeds ``refine_at`` times that at its points, the ``n`` fresh points of
    largest residual join its points and the block trains on (residual-based adaptive
    refinement, Lu et al. 2021, as DeepXDE does it), until the check passes or
    ``max_refinements`` rounds are done. A block that passes the check trains exactly
    as without it. A refinement trains with the block's budget and no Adam warm-up
    (the block starts in its basin); with ``within`` set, the check follows the
    inner strategy's last stage and a refinement trains on the target equation.
    ``stages_`` records each check's ``held_out_ratio`` and numbers the added trainings
    (``refinement``). The forward two-species problem, whose first block holds a
    boundary layer, is where it matters: ``benchmarks/bench_equations.py marching``
    compares seq2seq with the standard PINN there (the user guide's "Stating an
    equation" page).

    Training defaults (the estimator's ``"auto"`` values): float64, each block by
    Levenberg-Marquardt (``block_optimizer="auto"``, up to 20,000 trainable weights), 40
    steps, each on new collocation points; beyond, 500 Adam steps then 1000 L-BFGS
    iterations (history 100, tolerances 1e-10: a warm-started block usually converges
    in a few hundred). The first block gets ``first_block_factor`` (5x) that. A block's
    share of the points is small (100 of the paper's 1000 over ten blocks), and
    Gauss-Newton steps on points drawn afresh at every step fit the block where a
    quasi-Newton method on its fixed points fits those points. ``physml reproduce
    failure-modes`` measures ``strategy="seq2seq"`` against the paper's seq2seq errors on
    reaction and reaction-diffusion. With ``within`` set, the inner strategy's defaults
    apply in each block.

    Parameters
    ----------
    dt : float or "auto", default="auto"
        Block length (the last block may be shorter). ``"auto"``: a tenth of the time
        span (the paper's 0.1 on ``t in [0, 1]``).
    n_points : int, default=256
        Points in space at which each block's end state is handed to the next block.
    first_block_factor : float, default=5.0
        The first block starts from an untrained network; it gets this many times the
        estimator's ``warmup_iter`` and ``max_iter`` (later blocks start from the previous
        block's solution and need far fewer).
    within : strategy, str or None, default=None
        How each block is trained: None trains it once on the equation; a strategy (or
        its name), e.g. ``Curriculum()``, runs inside every block on the block's domain,
        initial data and share of the collocation points (the curriculum restarts from
        its easy end in each block, warm-started from the previous block's network).
        Nested parameters tune as usual: ``strategy__within__step``.
    refine_at : float >= 1 or None, default=10.0
        Refine a block whose mean squared residual at fresh points exceeds this many
        times that at its own points (above). None: no check. Blocks trained on points
        redrawn during training (the estimator's ``resample_every``) are not checked:
        their points move already.
    max_refinements : int, default=3
        Rounds of refinement a block may take, each adding as many points as it had at
        first.
    block_optimizer : {"auto", "adam", "lbfgs", "adam+lbfgs", "lm"}, default="auto"
        The optimizer of every block and its refinements; ``"auto"``: the estimator's
        ``optimizer`` where one is given, else Levenberg-Marquardt for networks of up to
        ``LM_MAX_WEIGHTS`` (20,000) trainable weights and the strategy's ``"adam+lbfgs"``
        beyond. One other than ``"adam+lbfgs"`` takes its own default budget
        (:func:`default_iter`: 40 Levenberg-Marquardt steps a block), scaled as the
        estimator's ``max_iter`` scales the strategy's. Recorded in each entry of
        ``stages_``. With ``within`` set, the inner strategy chooses.

    Examples
    --------
    >>> from physml.strategies import Curriculum, TimeMarching
    >>> TimeMarching(dt=0.25).edges((0.0, 1.0))
    [0.0, 0.25, 0.5, 0.75, 1.0]
    >>> len(TimeMarching().edges((0.0, 10.0))) - 1  # dt="auto": ten blocks
    10
    >>> TimeMarching(dt=0.5, within=Curriculum(step=10.0))
    TimeMarching(dt=0.5, within=Curriculum(step=10.0))
    """

    training_defaults = TrainingSettings(optimizer="adam+lbfgs", max_iter=1000,
                                         warmup_iter=500, tol=1e-10, lbfgs_history_size=100,
                                         dtype="float64")

    _parameter_constraints = {
        "dt": [AUTO_OPTION, reals(0, closed="neither")],
        "n_points": [integers(1)],
        "first_block_factor": [reals(0, closed="neither")],
        "within": [StrOptions(STRATEGY_NAMES - {"seq2seq"}), Strategy, None],
        "refine_at": [reals(1, closed="left"), None],
        "max_refinements": [integers(0)],
        "block_optimizer": [StrOptions({"auto", *OPTIMIZERS})],
    }

    def __init__(self, dt="auto", n_points=256, first_block_factor=5.0, within=None,
                 refine_at=10.0, max_refinements=3, block_optimizer="auto"):
        self.dt = dt
        self.n_points = n_points
        self.first_block_factor = first_block_factor
        self.within = within
        self.refine_at = refine_at
        self.max_refinements = max_refinements
        self.block_optimizer = block_optimizer

    def training(self, pde=None):
        if self.within is not None:
            return resolve_strategy(self.within).training(pde)
        return self.training_defaults

    def edges(self, t_range):
        t0, t1 = map(float, t_range)
        dt = (t1 - t0) / 10 if isinstance(self.dt, str) and self.dt == "auto" else self.dt
        n = max(int(np.ceil((t1 - t0) / dt - 1e-9)), 1)
        edges = [t0 + k * dt for k in range(n)] + [t1]
        return [float(e) for e in edges]

    def run(self, problem, pde, scope=None):
        import copy

        scope = scope or Scope()
        t_index = pde.time_index
        if t_index is None:
            raise ValueError(
                f"TimeMarching needs a time coordinate 't': {type(pde).__name__} is steady "
                f"(coordinates {tuple(pde.coordinates)}); use strategy='standard' or "
                "'curriculum'")
        inner = None if self.within is None else resolve_strategy(self.within)
        if isinstance(inner, TimeMarching):
            raise ValueError("TimeMarching within= must train one block (e.g. Curriculum()), "
                             "not march in time again")
        domain = [tuple(r) for r in scope.domain or pde.bounds]
        X_all = problem.X_obs if scope.X_obs is None else scope.X_obs
        y_all = problem.y_obs if scope.y_obs is None else scope.y_obs
        n_total = scope.n_collocation or problem.config.n_collocation
        edges = self.edges(domain[t_index])
        total = edges[-1] - edges[0]
        handoff = pde.initial_points(int(self.n_points))
        networks, reports = [], []
        for start, end in zip(edges[:-1], edges[1:]):
            if networks:
                problem.network = copy.deepcopy(networks[-1])
            # The block's observations: the fit's within its time span, and after the first
            # block, the previous block's prediction at its end.
            t = X_all[:, t_index]
            inside = (t <= end) & ((t >= start) if not networks else (t > start))
            X_obs, y_obs = X_all[inside], y_all[inside]
            if networks:
                handoff[:, t_index] = start
                X_h = torch.as_tensor(handoff, dtype=problem.dtype, device=problem.device)
                with torch.no_grad():
                    y_h = problem.outputs(X_h)
                X_obs, y_obs = torch.cat([X_h, X_obs]), torch.cat([y_h, y_obs])
            block_domain = list(domain)
            block_domain[t_index] = (start, end)
            n_collocation = max(int(round(n_total * (end - start) / total)), 1)
            name = f"{scope.label}seq2seq t in [{start:.3g}, {end:.3g}]"
            block = scope.within(domain=tuple(block_domain), X_obs=X_obs, y_obs=y_obs,
                                 n_collocation=n_collocation,
                                 iter_factor=1.0 if networks else self.first_block_factor)
            switch = {}
            if inner is None:
                switch = switched_optimizer(problem.settings.scaled(block.iter_factor),
                                            self.training_defaults,
                                            _stage_optimizer(self.block_optimizer, problem))
                block_reports = [problem.train(pde, block, desc=f"{name} {_describe(pde)}",
                                               **switch)]
            else:
                _, block_reports = inner.run(problem, pde,
                                             dataclasses.replace(block, label=f"{name}: "))
            block_reports += self._refine(problem, pde, block, block_reports[-1], name,
                                          switch)
            reports.extend(block_reports)
            networks.append(problem.network)
            if block_reports[-1]["stopped"]:
                break
        problem.network = PiecewiseInTime(edges[: len(networks) + 1], networks, t_index)
        return problem.network, reports

    def _refine(self, problem, pde, block, report, name, switch):
        """Check the block just trained on fresh points and, while its fit does not hold
        between its own, add the fresh points of largest residual and train on (with the
        block's budget, ``switch`` its changes of optimizer); the reports of the added
        trainings. Each checked stage records ``held_out_ratio``."""
        reports = []
        settings = problem.settings
        if self.refine_at is None or settings.resample_every:
            return reports  # redrawn points follow the residual already
        domain, n = block.domain, block.n_collocation
        changes = dict(switch, warmup_iter=0,
                       optimizer=continued(switch.get("optimizer", settings.optimizer)))
        for k in range(1, self.max_refinements + 2):
            if report["stopped"]:
                break
            ratio, X, squared = problem.held_out(pde, domain, n)
            report["stage"]["held_out_ratio"] = ratio
            if ratio <= self.refine_at or k > self.max_refinements:
                break
            problem.add_points(domain, n, X, squared)
            report = problem.train(pde, block, desc=f"{name} {_describe(pde)}, refined {k}",
                                   **changes)
            report["stage"]["refinement"] = k
            reports.append(report)
        return reports


#: Final-phase iterations of :class:`Causal` by optimizer (``final_iter="auto"``).
FINAL_ITER = {"lm": 200, "lbfgs": 3000}
#: ``Causal(final_optimizer="auto")`` takes Levenberg-Marquardt up to this many trainable
#: weights, L-BFGS beyond: a dense Gauss-Newton step costs ``n^2 P`` operations for ``n``
#: rows and ``P`` weights, and beyond it the step's conjugate gradients cost more than
#: L-BFGS's iterations gain.
LM_MAX_WEIGHTS = DENSE_MAX_WEIGHTS


#: The most multiply-adds a default Levenberg-Marquardt step may take in its Gram product
#: (``min(n, P)^2 max(n, P)`` for ``n`` rows and ``P`` weights), so that a standard fit's
#: 160 steps stay within minutes on 2 cores (the cost grows as the rows' square); every
#: one-output case of ``benchmarks/bench_domains.py`` fits within it.
LM_STEP_BUDGET = 6e10


def lm_affordable(problem, pde):
    """Whether a default Levenberg-Marquardt fit of ``problem`` on ``pde`` is affordable:
    one output (a system's Jacobian grows with its outputs and their derivatives, and
    Navier-Stokes' steps take several times the budget) and a Gram product within
    :data:`LM_STEP_BUDGET`, the rows counted from the collocation points, the boundary's
    (``FACES_PER_DIMENSION * dim * n_boundary`` per geometry) and the observations."""
    if len(pde.outputs) != 1:
        return False
    n_weights = sum(p.numel() for p in problem.parameters())
    points = problem.config.n_collocation + problem.X_obs.shape[0] + sum(
        FACES_PER_DIMENSION * geometry.dim * problem.config.n_boundary
        for _, geometry in pde.geometries)
    small, large = sorted((points, n_weights))
    return small * small * large <= LM_STEP_BUDGET


def on_steady_geometry(pde):
    """Whether ``pde`` is steady and its domain holds a :mod:`physml.geometry`."""
    return pde is not None and pde.time_index is None and bool(pde.geometries)


def _stage_optimizer(choice, problem):
    """The optimizer of a stage whose strategy parameter says ``choice``: under ``"auto"``
    the estimator's ``optimizer`` where one was given (it trains every stage), else
    Levenberg-Marquardt up to :data:`LM_MAX_WEIGHTS` trainable weights and the
    strategy's own beyond."""
    optimizer = problem.settings.optimizer
    if choice == "auto" and problem.config.optimizer_given:
        return optimizer
    return _final_optimizer(choice, problem, optimizer)


def _final_optimizer(choice, problem, beyond):
    """A last phase's optimizer: ``choice``, or under ``"auto"`` Levenberg-Marquardt for up
    to :data:`LM_MAX_WEIGHTS` trainable weights and ``beyond`` for more."""
    if choice != "auto":
        return choice
    n_weights = sum(p.numel() for p in problem.parameters())
    return "lm" if n_weights <= LM_MAX_WEIGHTS else beyond


class Causal(Strategy):
    """Causal training: the residual weighted in time, later times only once the earlier
    ones are fitted (Wang, Sankaran & Perdikaris, "Respecting causality is all you need for
    training physics-informed neural networks", 2022).

    The time span is cut into ``n_chunks`` chunks; chunk i's mean squared residual
    ``L_i`` enters the loss with weight ``w_i = exp(-tol * sum_{j<i} L_j / S)``, ``S`` the
    total ``sum_i L_i`` at the first update (one set of tolerances serves equations of
    any scale). The weights are held between updates (every ``update_every``
    iterations, when ``resample_every`` also draws new points): L-BFGS needs one loss to
    minimize. ``tol`` walks up ``tolerances``, moving on when every weight exceeds
    ``advance_at``. Then a final phase trains on the plain residual: ``final_iter``
    steps of ``final_optimizer``. The weights of every update are kept in
    ``stages_[0]["causal_weights"]`` with their tolerance in
    ``stages_[0]["causal_tol"]``. ``TimeMarching(within=Causal())`` weights time inside
    each block.

    Training defaults (the estimator's ``"auto"`` values): exact constraints where they
    apply (``constraints="exact"``: the periodic boundary and the initial condition built
    into the network; soft where they cannot be), a 3 x 30 modified MLP (tanh; two
    encoders of the inputs gate every hidden layer, ``architecture="modified"``), 2000
    collocation points, 300 Adam steps then 2000 L-BFGS iterations (history 300) in
    ``early_dtype`` (float32), new points every 100 iterations by residual-based
    sampling (``sampling="rad"``); then, in float64, 200 Levenberg-Marquardt steps, each
    on new points drawn the same way. The final phase is where the accuracy comes from,
    and a Gauss-Newton step, with the exact curvature of the linearized residual, goes
    much further there than an L-BFGS iteration; its cost grows with the weights, hence
    the small network. ``physml reproduce hard-cases`` and its ablation measure each part
    (the user guide's "When a PINN fails, and what to switch on").

    Parameters
    ----------
    n_chunks : int, default=32
        Time chunks of the causal weights.
    tolerances : sequence of float, default=(1.0, 10.0, 100.0)
        The values ``tol`` takes in turn.
    update_every : int, default=100
        Iterations between updates of the weights (and of the points, see the estimator's
        ``resample_every``).
    advance_at : float, default=0.99
        Move to the next tolerance when every weight exceeds this.
    final_optimizer : {"auto", "lm", "lbfgs"}, default="auto"
        The final phase's optimizer: ``"lm"``, Levenberg-Marquardt steps, each on new
        points drawn as the estimator's ``sampling`` says; ``"lbfgs"``, L-BFGS on the
        weighted phase's last points; ``"auto"``, ``"lm"`` up to :data:`LM_MAX_WEIGHTS`
        trainable weights, else ``"lbfgs"``. Recorded in ``stages_[-1]["optimizer"]``.
    final_iter : int or "auto", default="auto"
        Steps of the final phase (0: none): ``"auto"`` is 200 Levenberg-Marquardt steps or
        3000 L-BFGS iterations; scaled with the estimator's ``max_iter`` as the
        strategy's default of 2000.
    early_dtype : {"float32", "float64"} or None, default="float32"
        Precision of the weighted phase (Adam and L-BFGS); the final phase runs in the
        estimator's ``dtype``. None, or the estimator's own ``dtype``, trains in one
        precision.

    Examples
    --------
    >>> from physml.strategies import Causal, TimeMarching
    >>> Causal(n_chunks=16)
    Causal(n_chunks=16)
    >>> TimeMarching(within=Causal())
    TimeMarching(within=Causal())
    """

    training_defaults = TrainingSettings(optimizer="adam+lbfgs", max_iter=2000,
                                         warmup_iter=300, tol=0.0, lbfgs_history_size=300,
                                         dtype="float64", sampling="rad", resample_every=100,
                                         n_collocation=2000, hidden_layer_sizes=(30, 30, 30),
                                         constraints="exact", architecture="modified")

    _parameter_constraints = {
        "n_chunks": [integers(1)],
        "tolerances": ["array-like"],
        "update_every": [integers(1)],
        "advance_at": [reals(0, 1, closed="right")],
        "final_optimizer": [StrOptions({"auto", "lm", "lbfgs"})],
        "final_iter": [integers(0), StrOptions({"auto"})],
        "early_dtype": [*DTYPE, None],
    }

    def __init__(self, n_chunks=32, tolerances=(1.0, 10.0, 100.0), update_every=100,
                 advance_at=0.99, final_optimizer="auto", final_iter="auto",
                 early_dtype="float32"):
        self.n_chunks = n_chunks
        self.tolerances = tolerances
        self.update_every = update_every
        self.advance_at = advance_at
        self.final_optimizer = final_optimizer
        self.final_iter = final_iter
        self.early_dtype = early_dtype

    def final_optimizer_for(self, problem):
        """The final phase's optimizer for ``problem``'s trainable weights."""
        return _final_optimizer(self.final_optimizer, problem, "lbfgs")

    def _final_iter(self, optimizer):
        if self.final_iter == "auto":
            return FINAL_ITER[optimizer]
        return int(self.final_iter)

    def weights(self):
        """A fresh :class:`CausalWeights` with these settings."""
        tolerances = [float(t) for t in np.atleast_1d(self.tolerances)]
        if not tolerances or not all(np.isfinite(t) and t >= 0 for t in tolerances):
            raise ValueError(f"Causal tolerances must be a non-empty sequence of numbers "
                             f">= 0, got {self.tolerances!r}")
        return CausalWeights(self.n_chunks, tolerances, self.update_every, self.advance_at)

    def run(self, problem, pde, scope=None):
        scope = scope or Scope()
        if pde.time_index is None:
            raise ValueError(
                f"Causal needs a time coordinate 't': {type(pde).__name__} is steady "
                f"(coordinates {tuple(pde.coordinates)}); use strategy='standard'")
        weights = self.weights()
        desc = f"{scope.label}causal {_describe(pde)}"
        early = None if self.early_dtype is None else dtype_name(self.early_dtype)
        first = problem.train(pde, scope, desc=desc, causal=weights, dtype=early)
        optimizer = self.final_optimizer_for(problem)
        if first["stopped"] or not self._final_iter(optimizer):
            problem.use_dtype(problem.base_dtype)
            return problem.network, [first]
        settings = problem.settings
        ratio = settings.max_iter / default_iter(self.training_defaults, settings.optimizer)
        final_iter = max(int(round(self._final_iter(optimizer) * ratio * scope.iter_factor)),
                         1)
        second = problem.train(pde, dataclasses.replace(scope, iter_factor=1.0),
                               desc=f"{desc}, final", optimizer=optimizer, dtype=None,
                               max_iter=final_iter, warmup_iter=0, resample=False)
        return problem.network, [first, second]


STRATEGIES = {"standard": Standard, "curriculum": Curriculum, "seq2seq": TimeMarching,
              "causal": Causal}


assert set(STRATEGIES) == STRATEGY_NAMES


def validate_strategy(strategy):
    """Check a strategy object's parameters, and those of a strategy it holds
    (``TimeMarching(within=Causal(...))``), against their ``_parameter_constraints``."""
    validate_params(strategy)
    for value in strategy.get_params(deep=False).values():
        if isinstance(value, Strategy):
            validate_strategy(value)


def resolve_strategy(strategy):
    """A strategy object from a name or an object; ValueError naming the valid names."""
    if isinstance(strategy, str):
        try:
            return STRATEGIES[strategy]()
        except KeyError:
            raise ValueError(
                f"strategy={strategy!r} is not supported; choose one of {sorted(STRATEGIES)} "
                "or pass a strategy object"
            ) from None
    if hasattr(strategy, "run"):
        return strategy
    raise TypeError(
        f"strategy must be a name ({sorted(STRATEGIES)}) or a strategy object, "
        f"got {type(strategy).__name__}"
    )


def _describe(pde):
    coefficients = ", ".join(f"{k}={v:g}" for k, v in pde.coefficients.items()
                             if isinstance(v, (int, float)))
    return f"{type(pde).__name__}({coefficients})"
