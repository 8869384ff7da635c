"""What the skorch-trained estimators share: stopping on divergence, surviving Ctrl-C.

skorch ends ``fit`` quietly on a ``KeyboardInterrupt`` (its own ``EarlyStopping`` raises one
too), so an estimator cannot tell from the outside whether training finished, diverged or
was interrupted. :class:`DivergenceGuard` watches the batches and epochs, and
:func:`finish_training` turns what it saw into the estimator's ``stopped_``, a warning,
and the best parameters seen — never a silent half-trained model.
"""

import numpy as np
from skorch.callbacks import Callback, EarlyStopping

from ._base import BestParameters, warn_stopped

_STARTING_POINT = np.finfo(np.float64).max


class DivergenceGuard(Callback):
    """Stop on a non-finite training batch loss; keep the parameters of the best epoch
    (the initial parameters when no epoch finished)."""

    def __init__(self):
        self.stopped = None
        self.best = None

    def on_train_begin(self, net, **kwargs):
        self.best = BestParameters(net.module_.parameters())
        self.best.offer(_STARTING_POINT)  # the initial parameters, until an epoch ends

    def on_batch_end(self, net, batch=None, training=None, **kwargs):
        if training and not np.isfinite(net.history[-1, "batches", -1, "train_loss"]):
            self.stopped = "diverged"
            raise KeyboardInterrupt  # skorch ends the fit cleanly on this

    def on_epoch_end(self, net, **kwargs):
        loss = net.history[-1].get("train_loss")
        if loss is not None and np.isfinite(loss):
            self.best.offer(float(loss))


def _stopped_early_on_purpose(net):
    return any(isinstance(cb, EarlyStopping) and cb.misses_ >= cb.patience
               for _, cb in getattr(net, "callbacks_", []))


def finish_training(estimator, guard, max_iter):
    """Set ``stopped_``, ``history_`` and ``n_iter_`` after a skorch fit; on divergence or
    Ctrl-C put back the best parameters seen and warn."""
    net = estimator.net_
    finished = [epoch for epoch in net.history if "train_loss" in epoch]
    stopped = guard.stopped
    if stopped is None and len(finished) < max_iter and not _stopped_early_on_purpose(net):
        stopped = "interrupted"
    estimator.stopped_ = stopped
    if stopped:
        guard.best.restore()
        warn_stopped({"diverged": "the loss became NaN or infinite",
                      "interrupted": "KeyboardInterrupt"}[stopped], estimator,
                     guard.best.loss if guard.best.loss < _STARTING_POINT else None)
    estimator.history_ = epoch_history(finished)
    estimator.n_iter_ = len(finished)
    return estimator


def epoch_history(epochs):
    """skorch's history (a list of per-epoch dicts) as physml's ``history_``: a dict of
    equal-length lists, one entry per finished epoch, with every key skorch recorded but
    the per-batch records (``"epoch"``, ``"train_loss"``, ``"dur"`` in seconds,
    ``"valid_loss"`` with a validation split, the ``*_best`` flags); NaN where an epoch
    lacks a key."""
    keys = list(dict.fromkeys(k for epoch in epochs for k in epoch if k != "batches"))
    return {key: [epoch.get(key, np.nan) for epoch in epochs] for key in keys}
