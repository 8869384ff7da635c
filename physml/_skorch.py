"""What the skorch-trained estimators share: their training parameters and the skorch
net built from them (:class:`SkorchEstimator`), stopping on divergence, surviving Ctrl-C.

skorch ends ``fit`` quietly on a ``KeyboardInterrupt`` (its own ``EarlyStopping`` raises one
too), so an estimator cannot tell from the outside whether training finished, diverged or
was interrupted. :class:`DivergenceGuard` watches the batches and epochs, and
:func:`finish_training` turns what it saw into the estimator's ``stopped_``, a warning,
and the best parameters seen — never a silent half-trained model.
"""

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.utils._param_validation import Options, StrOptions
from skorch.callbacks import (
    Callback,
    EarlyStopping,
    GradientNormClipping,
    LRScheduler,
    ProgressBar,
)
from skorch.dataset import ValidSplit
from skorch.history import History

from ._base import (
    DEVICE,
    DTYPE,
    BestParameters,
    StopTraining,
    integers,
    reals,
    resolve_device,
    warn_stopped,
)
from ._checkpoint import LONG_FIT_CONSTRAINTS
from ._threads import N_JOBS, N_JOBS_DOC
from .callbacks import CallbackList

LR_SCHEDULES = ("cosine", "constant")

#: The parameters every skorch-trained estimator has, and what each may be.
TRAINING_CONSTRAINTS = {
    "max_iter": [integers(0)],
    "batch_size": [integers(1)],
    "learning_rate": [reals(0, closed="neither")],
    "lr_schedule": [StrOptions(set(LR_SCHEDULES))],
    "gradient_clip": [reals(0, closed="neither"), None],
    "early_stopping": [integers(1), Options(bool, {False}), None],
    "validation_fraction": [reals(0, 1, closed="neither")],
    "dtype": DTYPE,
    "device": DEVICE,
    "n_jobs": N_JOBS,
    "random_state": ["random_state"],
    "verbose": ["verbose"],
    **LONG_FIT_CONSTRAINTS,
}


def training_doc(max_iter, batch_size, learning_rate, gradient_clip, max_iter_doc="",
                 length_doc=None):
    """The numpydoc entries of :data:`TRAINING_CONSTRAINTS` with these defaults
    (``length_doc``, where given, replaces the entries of ``max_iter`` and
    ``batch_size``)."""
    if length_doc is None:
        length_doc = f"""
    max_iter : int, default={max_iter}
        Passes over the data (epochs).{max_iter_doc}
    batch_size : int, default={batch_size}"""
    return length_doc + f"""
    learning_rate : float, default={learning_rate:g}
        The optimizer's initial step size.
    lr_schedule : {{"cosine", "constant"}}, default="cosine"
        ``"cosine"`` anneals the step size to 0 over ``max_iter`` (the final weights
        stop drifting with the last mini-batches); ``"constant"`` keeps it.
    gradient_clip : float or None, default={gradient_clip}
        Largest gradient norm (skorch's ``GradientNormClipping``); None turns it off.
    early_stopping : int or False, default=False
        Patience in epochs: hold out ``validation_fraction`` of the data and stop when
        its loss has not improved for that many epochs, restoring the best epoch's
        parameters.
    validation_fraction : float, default=0.1
        The share held out by ``early_stopping`` (stratified for a classifier).
    callbacks : list or None, default=None
        Objects called during the fit: :mod:`physml.callbacks` (the vocabulary every
        physml estimator shares; a logged iteration is an epoch here) and skorch
        callbacks (``skorch.callbacks``, bare or as ``(name, callback)``).
    dtype : {{"float32", "float64"}}, default="float32"
        Precision of the network and of training.
    device : str, default="cpu"
""" + N_JOBS_DOC + """    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the mini-batch order, the validation split of
        ``early_stopping`` and any training noise.
    verbose : int, default=0
        ``1`` shows skorch's progress bar and epoch table.
    warm_start : bool, default=False
        ``fit`` starts from the network of the previous fit instead of a new
        initialization (a new optimizer and schedule; scikit-learn's meaning); the
        network must have the same shape.
    checkpoint : str, path-like or None, default=None
        A file that makes the fit survive being killed: at the end of an epoch, every
        ``checkpoint_every`` seconds, the network, the optimizer, the schedule, early
        stopping's record, the random generator and the history are written to it,
        atomically. ``fit`` with a file that holds a checkpoint of the same parameters
        and data continues from it, and ends with the model an uninterrupted fit gives,
        bit for bit on the CPU (with an int ``random_state``). Another configuration's
        file, or one that cannot be read, is a ValueError naming it. The file stays when
        the fit ends, holding the finished fit; an existing directory holds one file per
        configuration. See the user guide, "Long fits".
    checkpoint_every : float, default=60.0
        Seconds between two checkpoint writes (0: after every epoch).
"""


class SkorchEstimator(BaseEstimator):
    """The base of the estimators trained through skorch (the recurrent ones and
    ContinuousNet): one set of training parameters (:data:`TRAINING_CONSTRAINTS`) and
    one way to turn them into a skorch net (:meth:`_skorch_net`)."""

    def _skorch_net(self, net_class, module, seed, *, stratified=False,
                    optimizer=torch.optim.Adam, max_iter=None, batch_size=None, **extra):
        """``(net, guard)``: a skorch ``net_class`` around ``module`` with this estimator's
        schedule, clipping, early stopping (a validation split seeded by ``seed``),
        progress bar, user callbacks and a :class:`DivergenceGuard`; ``max_iter`` and
        ``batch_size``, where given, are what the estimator's ``"auto"`` resolved to."""
        max_iter = self.max_iter if max_iter is None else max_iter
        batch_size = self.batch_size if batch_size is None else batch_size
        callbacks, ours = [], []
        for callback in self.callbacks or []:
            if isinstance(callback, (Callback, tuple)):
                callbacks.append(callback)  # skorch's
            else:
                ours.append(callback)
        if ours:
            callbacks.append(("physml_callbacks", _PhysmlCallbacks(ours, self)))
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", LRScheduler(
                "CosineAnnealingLR", T_max=max(int(max_iter), 1))))
        if self.gradient_clip is not None:
            callbacks.append(("clip", GradientNormClipping(self.gradient_clip)))
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(float(self.validation_fraction), stratified=stratified,
                                     random_state=seed)
            callbacks.append(("early_stopping", EarlyStopping(
                patience=int(self.early_stopping), load_best=True)))
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        guard = DivergenceGuard()
        callbacks.append(("divergence_guard", guard))
        # last: it saves and restores the state the callbacks before it hold
        callbacks.append(("checkpoint", _CheckpointEpochs()))
        net = net_class(module, optimizer=optimizer, lr=self.learning_rate,
                        max_epochs=max_iter, batch_size=batch_size,
                        train_split=train_split, iterator_train__shuffle=True,
                        device=str(resolve_device(self.device)), callbacks=callbacks,
                        verbose=self.verbose, **extra)
        return net, guard

    def _warm_start_from(self):
        """The previous fit's network when ``warm_start`` (else None)."""
        net = getattr(self, "net_", None) if self.warm_start else None
        return None if net is None else net.module_

    def _train_net(self, guard, X, y, max_iter, checkpoint, start, configure=None):
        """Train ``self.net_``: initialized, ``start``'s weights on a warm start, the
        checkpoint's state where it holds one, then the epochs left; ``stopped_``,
        ``history_`` and ``n_iter_`` set (:func:`finish_training`), and the finished
        fit written to the checkpoint."""
        net = self.net_
        net.initialize()
        if configure is not None:
            configure()
        if start is not None:
            try:
                net.module_.load_state_dict(start.state_dict())
            except RuntimeError:
                raise ValueError("warm_start=True starts from the previous fit's network, "
                                 "and this fit's has another shape (its parameters or the "
                                 "data's shape changed): keep them, or set "
                                 "warm_start=False") from None
        saver = dict(net.callbacks_)["checkpoint"]
        saver.checkpoint = checkpoint
        done = 0
        state = None if checkpoint is None else checkpoint.current
        if state is not None:
            net.module_.load_state_dict(state["module"])
            net.optimizer_.load_state_dict(state["optimizer"])
            net.history = History(copy.deepcopy(state["history"]))
            torch.set_rng_state(state["rng"])
            saver.resumed = state["callbacks"]
            done = sum(1 for epoch in net.history if "train_loss" in epoch)
        # a finished fit that early stopping ended continues no further
        left = 0 if checkpoint is not None and checkpoint.complete else int(max_iter) - done
        net.partial_fit(X, y, epochs=max(left, 0))
        finish_training(self, guard, max_iter)
        if checkpoint is not None and not checkpoint.complete \
                and self.stopped_ not in ("interrupted", "callback"):
            checkpoint.write(saver.state(net), complete=True)
        return self


class _CheckpointEpochs(Callback):
    """Write the skorch fit's state to the checkpoint at the end of an epoch when it is
    due, and put a resumed fit's callback state back at the start of training (after
    the callbacks before it have set theirs up)."""

    def __init__(self):
        self.checkpoint, self.resumed = None, None

    def on_train_begin(self, net, **kwargs):
        if self.resumed is None:
            return
        for name, callback in net.callbacks_:
            state = self.resumed.get(name)
            if state is None:
                continue
            if isinstance(callback, LRScheduler):
                callback.lr_scheduler_.load_state_dict(state["scheduler"])
                callback.batch_idx_ = state["batch_idx_"]
            elif isinstance(callback, DivergenceGuard):
                callback.best.loss, callback.best.vector = state["best"]
                callback.stopped = state["stopped"]
            elif isinstance(callback, EarlyStopping):
                vars(callback).update(copy.deepcopy(state))
            else:
                callback.load_state_dict(copy.deepcopy(state))
        self.resumed = None

    def on_epoch_end(self, net, **kwargs):
        if self.checkpoint is not None and self.checkpoint.due():
            self.checkpoint.write(self.state(net))

    @staticmethod
    def state(net):
        callbacks = {}  # by name: the callbacks of a resumed fit may be others
        for name, callback in net.callbacks_:
            if isinstance(callback, LRScheduler) and hasattr(callback, "lr_scheduler_"):
                callbacks[name] = {"scheduler": callback.lr_scheduler_.state_dict(),
                                   "batch_idx_": callback.batch_idx_}
            elif isinstance(callback, DivergenceGuard) and callback.best is not None:
                callbacks[name] = {"best": (callback.best.loss, callback.best.vector),
                                   "stopped": callback.stopped}
            elif isinstance(callback, EarlyStopping) and hasattr(callback, "misses_"):
                callbacks[name] = {k: getattr(callback, k) for k in (
                    "misses_", "dynamic_threshold_", "best_model_weights_", "best_epoch_")}
            elif hasattr(callback, "state_dict") and not isinstance(callback, LRScheduler):
                callbacks[name] = callback.state_dict()
        return copy.deepcopy({"module": net.module_.state_dict(),
                              "optimizer": net.optimizer_.state_dict(),
                              "history": list(net.history), "rng": torch.get_rng_state(),
                              "callbacks": callbacks})


class _PhysmlCallbacks(Callback):
    """:mod:`physml.callbacks` inside a skorch fit: the fit is one stage, an epoch a
    logged iteration (its history row, ``loss`` the training loss); the callbacks see
    the physml estimator."""

    def __init__(self, callbacks, estimator):
        self.listing = CallbackList(callbacks, estimator)
        self.stopped = False

    def on_train_begin(self, net, **kwargs):
        self.stopped = False
        if len(net.history) == 0 or "train_loss" not in net.history[0]:
            self.listing.fit_begin()
        self.listing.stage_begin({"index": 0, "desc": "fit"})

    def on_epoch_end(self, net, **kwargs):
        row = {k: v for k, v in net.history[-1].items() if k != "batches"}
        try:
            self.listing.record({"loss": row.get("train_loss", np.nan), **row})
        except StopTraining:
            self.stopped = True
            raise

    def on_train_end(self, net, **kwargs):
        self.listing.stage_end({"index": 0, "desc": "fit", "stopped": self.stopped})
        self.listing.fit_end()

    def state_dict(self):
        return self.listing.state_dict()

    def load_state_dict(self, state):
        self.listing.load_state_dict(state)


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
    if stopped is None and any(isinstance(cb, _PhysmlCallbacks) and cb.stopped
                               for _, cb in net.callbacks_):
        stopped = "callback"
    if stopped is None and len(finished) < max_iter and not _stopped_early_on_purpose(net):
        stopped = "interrupted"
    estimator.stopped_ = stopped
    if stopped and stopped != "callback":
        guard.best.restore()
        warn_stopped({"diverged": "the loss became NaN or infinite",
                      "interrupted": "KeyboardInterrupt"}[stopped], estimator,
                     guard.best.loss if guard.best.loss < _STARTING_POINT else None)
    estimator.history_ = epoch_history(finished)
    estimator.n_iter_ = len(finished)
    return estimator


def epoch_history(epochs):
    """skorch's history (a list of per-epoch dicts) as physml's ``history_``: a dict of
    equal-length lists, one entry per finished epoch: ``"loss"`` (the training loss, the
    key every physml estimator's ``history_`` has) and every key skorch recorded but the
    per-batch records (``"epoch"``, ``"train_loss"``, ``"dur"`` in seconds,
    ``"valid_loss"`` with a validation split, the ``*_best`` flags); NaN where an epoch
    lacks a key."""
    keys = list(dict.fromkeys(k for epoch in epochs for k in epoch if k != "batches"))
    history = {"loss": [epoch.get("train_loss", np.nan) for epoch in epochs]}
    history.update({key: [epoch.get(key, np.nan) for epoch in epochs] for key in keys})
    return history
