"""Callbacks: code of yours that runs during a fit, with one vocabulary on every estimator.

A callback is an object with any of these methods (the others are not called):

``on_fit_begin(estimator)``
    Before the first stage.
``on_stage_begin(estimator, stage)``
    Before each training stage (a PINN's precision phase, curriculum stage, time block
    or causal phase; the one training of the other estimators). ``stage`` is a dict
    with its ``index`` and ``desc``.
``on_iteration(estimator, record)``
    After each row of ``history_`` is logged: a PINN's or an ODE-Net's loss evaluation,
    an epoch of the skorch-trained estimators (LEM, Lipschitz and Noisy RNNs,
    ContinuousNet). ``record`` is that row as a dict (``loss`` and the terms, the
    ``optimizer`` and ``stage`` where there are several, skorch's epoch entries).
``on_stage_end(estimator, stage)``
    After each stage, ``stage`` its record as ``stages_`` will hold it.
``on_fit_end(estimator)``
    After training, before the fitted attributes are set.

During the fit ``estimator.network_`` (``net_`` for the skorch-trained ones) is the
network being trained, so ``estimator.predict`` works inside a callback. A callback
ends the fit by raising :class:`StopTraining`: the estimator keeps what it learned, is
usable, and says ``stopped_ == "callback"``.

A callback that has ``state_dict()`` and ``load_state_dict(state)`` is checkpointed with
the fit (``checkpoint=``), so that a resumed fit's callbacks continue where they were.
Replaying the finished part of a resumed fit calls no callback; the stage under way
when the fit was killed begins again.

skorch's own callbacks (``skorch.callbacks``) are accepted by the skorch-trained
estimators as before; the callbacks here work on every estimator.
"""

import contextlib
import csv
import math
import numbers
import os
import sys

from ._base import StopTraining

__all__ = ["Callback", "CSVLogger", "EarlyStopping", "PrintProgress", "StopTraining"]

_HOOKS = ("on_fit_begin", "on_stage_begin", "on_iteration", "on_stage_end", "on_fit_end")


class Callback:
    """A base with every hook doing nothing; subclass it and write the ones you need."""

    def on_fit_begin(self, estimator):
        pass

    def on_stage_begin(self, estimator, stage):
        pass

    def on_iteration(self, estimator, record):
        pass

    def on_stage_end(self, estimator, stage):
        pass

    def on_fit_end(self, estimator):
        pass


def check_callbacks(callbacks, name="callbacks"):
    """A list of callbacks (objects with at least one hook), or a TypeError naming
    ``callbacks``."""
    if callbacks is None:
        return []
    if not isinstance(callbacks, (list, tuple)):
        raise TypeError(f"{name} must be a list of callbacks, got {type(callbacks).__name__}")
    for callback in callbacks:
        if not any(callable(getattr(callback, hook, None)) for hook in _HOOKS):
            raise TypeError(
                f"{name}: {callback!r} has none of the callback methods {_HOOKS} "
                "(see physml.callbacks)")
    return list(callbacks)


class CallbackList:
    """The callbacks of one fit, called in order; ``model()`` gives the network being
    trained, set as ``estimator.network_`` before each call."""

    def __init__(self, callbacks, estimator, model=None):
        self.callbacks, self.estimator, self.model = list(callbacks), estimator, model

    def _call(self, hook, *args):
        if self.model is not None:
            self.estimator.network_ = self.model()
        for callback in self.callbacks:
            method = getattr(callback, hook, None)
            if method is not None:
                method(self.estimator, *args)

    @contextlib.contextmanager
    def running(self, checkpoint=None):
        """The fit's training: ``on_fit_begin`` (then the callbacks' saved state from
        ``checkpoint``), the block, ``on_fit_end``. Where the block raises, the network
        shown to the callbacks is taken back: a failed fit leaves no fitted network."""
        if self.callbacks:
            self.fit_begin()
            if checkpoint is not None:
                checkpoint.attach(self)
        try:
            yield
        except BaseException:
            if self.callbacks and self.model is not None:
                vars(self.estimator).pop("network_", None)
            raise
        if self.callbacks:
            self.fit_end()

    def fit_begin(self):
        self._call("on_fit_begin")

    def stage_begin(self, stage):
        self._call("on_stage_begin", stage)

    def record(self, row):
        self._call("on_iteration", row)

    def stage_end(self, stage):
        self._call("on_stage_end", stage)

    def fit_end(self):
        self._call("on_fit_end")

    # checkpointed with the fit, by class (a resumed fit may be given other callbacks)
    def _named(self):
        seen = {}
        for callback in self.callbacks:
            name = type(callback).__qualname__
            seen[name] = seen.get(name, -1) + 1
            yield f"{name}#{seen[name]}", callback

    def state_dict(self):
        return {name: callback.state_dict() for name, callback in self._named()
                if hasattr(callback, "state_dict")}

    def load_state_dict(self, states):
        for name, callback in self._named():
            if name in states and hasattr(callback, "load_state_dict"):
                callback.load_state_dict(states[name])


class PrintProgress(Callback):
    """Print one line every ``every`` records: the stage, the record's number, the loss
    and its terms.

    Parameters
    ----------
    every : int, default=100
        Records between two lines (loss evaluations of a PINN or an ODE-Net, epochs of
        the skorch-trained estimators).
    file : file object, default=sys.stdout

    Examples
    --------
    >>> from physml import ODENetForecaster
    >>> from physml.callbacks import PrintProgress
    >>> from physml.datasets import make_harmonic_oscillator
    >>> X, _ = make_harmonic_oscillator(n_trajectories=2, dt=0.5, random_state=0)
    >>> est = ODENetForecaster(dt=0.5, max_iter=20, random_state=0,
    ...                        callbacks=[PrintProgress(every=10)]).fit(X)
    ... # doctest: +ELLIPSIS
    [ODENetForecaster] stage 0 record 10: loss ...
    [ODENetForecaster] stage 0 record 20: loss ...
    """

    def __init__(self, every=100, file=None):
        self.every, self.file = every, file
        self.count = 0

    def on_fit_begin(self, estimator):
        self.count = 0

    def on_iteration(self, estimator, record):
        self.count += 1
        if self.count % max(int(self.every), 1):
            return
        numbers_ = ", ".join(f"{k} {v:.4g}" for k, v in record.items()
                             if isinstance(v, numbers.Real) and not isinstance(v, bool)
                             and k not in ("stage", "epoch", "loss"))
        loss = record.get("loss", math.nan)
        line = (f"[{type(estimator).__name__}] stage {record.get('stage', 0)} record "
                f"{self.count}: loss {loss:.4e}" + (f" ({numbers_})" if numbers_ else ""))
        print(line, file=self.file or sys.stdout, flush=True)

    def state_dict(self):
        return {"count": self.count}

    def load_state_dict(self, state):
        self.count = state["count"]


class EarlyStopping(Callback):
    """Stop the fit when a metric has not improved for ``patience`` checks.

    Parameters
    ----------
    metric : str or callable, default="loss"
        A key of the history rows (``"loss"``, ``"residual"``, ``"valid_loss"``), or
        ``metric(estimator) -> float`` (``estimator.predict`` works inside it: an
        error against a reference solution, a score on held-out data).
    patience : int, default=10
        Checks without improvement before the fit stops.
    every : int, default=1
        Records between two checks (a callable metric may cost a prediction).
    min_delta : float, default=0.0
        An improvement is a value below ``best - min_delta * |best|``.
    lower_is_better : bool, default=True

    Attributes
    ----------
    best_ : float
        The best value seen.
    misses_ : int
        Checks since it was seen.

    Examples
    --------
    >>> import numpy as np
    >>> from physml import ODENetForecaster
    >>> from physml.callbacks import EarlyStopping
    >>> from physml.datasets import make_harmonic_oscillator
    >>> X, _ = make_harmonic_oscillator(n_trajectories=2, dt=0.5, random_state=0)
    >>> stop = EarlyStopping(metric=lambda est: 1.0, patience=5)  # never improves
    >>> est = ODENetForecaster(dt=0.5, max_iter=100, random_state=0,
    ...                        callbacks=[stop]).fit(X)
    >>> est.stopped_, est.n_iter_ < 100
    ('callback', True)
    """

    def __init__(self, metric="loss", patience=10, every=1, min_delta=0.0,
                 lower_is_better=True):
        self.metric, self.patience, self.every = metric, patience, every
        self.min_delta, self.lower_is_better = min_delta, lower_is_better
        self.best_, self.misses_, self._count = math.inf, 0, 0

    def on_fit_begin(self, estimator):
        self.best_, self.misses_, self._count = math.inf, 0, 0

    def on_iteration(self, estimator, record):
        self._count += 1
        if self._count % max(int(self.every), 1):
            return
        if callable(self.metric):
            value = float(self.metric(estimator))
        else:
            if self.metric not in record:
                raise KeyError(f"EarlyStopping(metric={self.metric!r}): the records of "
                               f"{type(estimator).__name__} hold {sorted(record)}")
            value = float(record[self.metric])
        value = value if self.lower_is_better else -value
        bar = (self.best_ - self.min_delta * abs(self.best_) if math.isfinite(self.best_)
               else math.inf)
        if math.isfinite(value) and value < bar:
            self.best_, self.misses_ = value, 0
            return
        self.misses_ += 1
        if self.misses_ >= self.patience:
            raise StopTraining(f"{self.metric!r} did not improve for {self.patience} checks")

    def state_dict(self):
        return {"best_": self.best_, "misses_": self.misses_, "_count": self._count}

    def load_state_dict(self, state):
        vars(self).update(state)


class CSVLogger(Callback):
    """Write every history row to a CSV file as it is logged (one column per key; a key
    that appears later adds a column and rewrites the file).

    Parameters
    ----------
    path : str or path-like
        The file; written afresh at the start of each fit (a resumed fit rewrites the
        rows it had logged up to its checkpoint, then goes on).
    """

    def __init__(self, path):
        self.path = path
        self.rows, self.columns = [], []

    def on_fit_begin(self, estimator):
        self.rows, self.columns = [], []
        self._rewrite()

    def on_iteration(self, estimator, record):
        row = {k: v for k, v in record.items() if not isinstance(v, (list, dict))}
        self.rows.append(row)
        new = [k for k in row if k not in self.columns]
        if new:
            self.columns.extend(new)
            self._rewrite()
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, self.columns).writerow(row)

    def _rewrite(self):
        directory = os.path.dirname(os.fspath(self.path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        with open(self.path, "w", newline="") as f:
            writer = csv.DictWriter(f, self.columns)
            if self.columns:
                writer.writeheader()
            writer.writerows(self.rows)

    def state_dict(self):
        return {"rows": list(self.rows), "columns": list(self.columns)}

    def load_state_dict(self, state):
        self.rows, self.columns = list(state["rows"]), list(state["columns"])
        self._rewrite()
