"""How a PINN is trained: strategies are parameter objects that drive the trainer.

A strategy receives a :class:`~physml.pinn.PINNProblem`-like object with one method,
``train(pde, desc)``, which builds collocation points for ``pde``, minimizes the loss and
returns the trainer's report; the strategy decides which equations to train on and in what
order.
"""

from sklearn.base import BaseEstimator


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


STRATEGIES = {"standard": Standard}


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
