"""How a PINN is trained: strategies are parameter objects that drive the trainer.

A strategy receives a :class:`~physml.pinn.PINNProblem`-like object with one method,
``train(pde, desc)``, which builds collocation points for ``pde``, minimizes the loss and
returns the trainer's report; the strategy decides which equations to train on and in what
order.
"""

import numpy as np
from sklearn.base import BaseEstimator, clone


class Standard(BaseEstimator):
    """Train once on the target equation over the whole domain (the standard PINN).

    Examples
    --------
    >>> from physml.strategies import Standard
    >>> Standard()
    Standard()
    """

    def run(self, problem, pde):
        return [problem.train(pde, desc=f"standard {_describe(pde)}")]


class Curriculum(BaseEstimator):
    """Curriculum regularization: train on easy versions of the equation first.

    Krishnapriyan et al. (NeurIPS 2021): a PINN that cannot learn convection at a large
    ``beta`` from scratch learns it when warm-started from the solution at a smaller one.
    The network is trained on a sequence of equations whose ``coefficient`` rises from
    ``start`` to the target value (the estimator's ``pde``), each stage warm-starting
    from the last.

    Parameters
    ----------
    coefficient : str, default=None
        The coefficient to ramp; the equation's first coefficient when None.
    start : float, default=1.0
        The easy value the curriculum begins at.
    step : float, default=5.0
        Spacing of the intermediate stages: ``start``, then the multiples of ``step`` above
        it, then the target (the paper's figure steps beta by 5).
    stages : sequence of float, default=None
        An explicit schedule (ending anywhere; the target is appended if missing).

    Examples
    --------
    >>> from physml.strategies import Curriculum
    >>> Curriculum(step=10.0).schedule(30.0)
    [1.0, 10.0, 20.0, 30.0]
    """

    def __init__(self, coefficient=None, start=1.0, step=5.0, stages=None):
        self.coefficient = coefficient
        self.start = start
        self.step = step
        self.stages = stages

    def schedule(self, target):
        """The coefficient values to train at, in order, ending at ``target``."""
        if self.stages is not None:
            values = [float(v) for v in self.stages]
        else:
            if not (np.isfinite(self.step) and self.step > 0):
                raise ValueError(f"Curriculum step must be > 0, got {self.step!r}")
            first = np.floor(self.start / self.step) + 1
            values = [float(self.start)] + [
                float(k * self.step) for k in np.arange(first, np.ceil(target / self.step))]
            values = [v for v in values if v < target] if target > self.start else []
        if not values or values[-1] != float(target):
            values.append(float(target))
        return values

    def run(self, problem, pde):
        name = self.coefficient or pde.coefficient_names[0]
        if name not in pde.coefficient_names:
            raise ValueError(
                f"Curriculum coefficient={name!r} is not a coefficient of {type(pde).__name__} "
                f"{pde.coefficient_names}")
        reports = []
        for value in self.schedule(float(getattr(pde, name))):
            stage = clone(pde).set_params(**{name: value})
            reports.append(problem.train(stage, desc=f"curriculum {_describe(stage)}"))
            if reports[-1]["stopped"]:
                break
        return reports


STRATEGIES = {"standard": Standard, "curriculum": Curriculum}


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
