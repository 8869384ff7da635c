"""Checkpoints: a fit that is killed continues where it stopped, to the same bits.

A fit is a deterministic program given its parameters, data and seed; what costs time
is its optimizer calls (:func:`physml._optimizers.optimize` and the skorch epochs). A
:class:`Checkpoint` numbers the calls of one fit and writes, every ``every`` seconds,
what the calls have changed so far: for each finished call its report and what it left
(parameters, random generators, the loss's points and weights, the length of each
history column), and for the call under way its optimizer's own state (L-BFGS's
curvature pairs, Adam's moments, Levenberg-Marquardt's damping). A fit started again
with the same parameters and data runs its program from the top: the strategy's own
work between calls is repeated (it is cheap and deterministic), each finished call is
replaced by what it left, and the call under way continues from its saved state. The
result is the uninterrupted fit's, bit for bit on the CPU.

The file is written atomically (a sibling ``.partial`` file, flushed to disk, then
renamed over the checkpoint): a kill during a write leaves the previous checkpoint
whole. It holds a fingerprint of the estimator's parameters and data; a file with
another fingerprint is refused with a ValueError that names what differs.
"""

import copy
import hashlib
import numbers
import os
import pickle
import sys
import time

import numpy as np
import torch
from sklearn.utils._param_validation import Interval

#: The file's layout; a checkpoint of another layout is refused.
FORMAT = 1
#: Parameters that do not change what a fit computes (and so may differ on resume).
NOT_FINGERPRINTED = ("checkpoint", "checkpoint_every", "verbose", "n_jobs", "callbacks")
#: ``checkpoint_every``'s default, seconds between writes.
DEFAULT_EVERY = 60.0


def describe(value):
    """A text that changes when ``value`` (a parameter) changes what a fit computes:
    parameter objects by their parameters, functions by their qualified names, arrays
    by a hash of their bytes."""
    if hasattr(value, "get_params") and not isinstance(value, type):
        inner = ", ".join(f"{k}={describe(v)}"
                          for k, v in sorted(value.get_params(deep=False).items()))
        return f"{type(value).__qualname__}({inner})"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(describe(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {describe(v)}" for k, v in sorted(value.items())) + "}"
    if isinstance(value, np.ndarray) or torch.is_tensor(value):
        return f"array({_digest(value)})"
    if isinstance(value, np.random.RandomState):
        return "RandomState"  # the checkpoint keeps the seed drawn from it
    if callable(value) and hasattr(value, "__qualname__"):
        name = f"{getattr(value, '__module__', '')}.{value.__qualname__}"
        code = getattr(value, "__code__", None)
        if code is None:
            return name
        # two lambdas (or an edited function) share a name: their code tells them apart
        body = repr((code.co_code, code.co_consts, value.__defaults__,
                     [_cell(cell) for cell in value.__closure__ or ()]))
        return f"{name}[{hashlib.sha256(body.encode()).hexdigest()[:12]}]"
    return repr(value)


def _cell(cell):
    """A closure's captured value, described (a function by its name only: a function
    may capture itself)."""
    try:
        value = cell.cell_contents
    except ValueError:  # a cell not filled yet
        return "<empty>"
    return getattr(value, "__qualname__", None) if callable(value) else describe(value)


def _digest(*arrays):
    h = hashlib.sha256()
    for array in arrays:
        if array is None:
            h.update(b"none")
            continue
        if torch.is_tensor(array):
            array = array.detach().cpu().numpy()
        array = np.ascontiguousarray(array)
        h.update(str((array.dtype.str, array.shape)).encode())
        h.update(array.tobytes())
    return h.hexdigest()[:16]


def fingerprint(estimator, *data, start=None):
    """``(digest, description)``: what a checkpoint must match to be resumed: the
    estimator's class and parameters (but :data:`NOT_FINGERPRINTED`), the data, and
    the starting network of a warm start (``start``, its parameters)."""
    params = estimator.get_params(deep=False)
    description = {name: describe(value) for name, value in sorted(params.items())
                   if name not in NOT_FINGERPRINTED}
    description["(class)"] = f"{type(estimator).__module__}.{type(estimator).__qualname__}"
    description["(data)"] = _digest(*data)
    if start is not None:
        description["(warm start)"] = _digest(*start)
    text = repr(sorted(description.items())).encode()
    return hashlib.sha256(text).hexdigest()[:16], description


class Checkpoint:
    """The checkpoint of one fit: read at the start (when the file exists), written
    during training.

    ``path`` is a file, or an existing directory (or a path ending in a separator) in
    which the file is named after the fingerprint, so that the fits of a sweep share
    one folder without meeting. ``every`` is the least number of seconds between two
    writes (0: at every chance, after every optimizer step or epoch)."""

    def __init__(self, path, every, owner, digest, description):
        path = os.fspath(path)
        if path.endswith(os.sep) or os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            path = os.path.join(path, f"{owner}-{digest}.ckpt")
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)  # (a missing folder fails now, not mid-fit)
        self.path, self.every, self.owner = path, float(every), owner
        self.digest, self.description = digest, description
        self.calls, self.history, self.current, self.extra = [], {}, None, {}
        self.complete, self.resumed = False, False
        self.attached, self._attached_state = None, None
        self._next, self._last = 0, time.monotonic()
        self.silent = False  # while finished calls are replaced (no callbacks then)
        state = self._read()
        if state is not None:
            self.calls, self.history = state["calls"], state["history"]
            self.current, self.extra = state["current"], state["extra"]
            self.complete, self.resumed = state["complete"], True
            self._attached_state = state["attached"]

    def _read(self):
        if not os.path.exists(self.path):
            return None
        try:
            with open(self.path, "rb") as f:
                # tensors load where they were saved: the fit's device (fingerprinted)
                state = torch.load(f, weights_only=False)
            if not isinstance(state, dict) or "format" not in state:
                raise pickle.UnpicklingError("not a physml checkpoint")
        except Exception as error:  # noqa: BLE001 - any unreadable file gets one message
            raise ValueError(
                f"checkpoint={self.path!r} cannot be read ({type(error).__name__}: "
                f"{str(error)[:120]}): it is truncated or is not a physml checkpoint. "
                "Delete it to train afresh, or pass another checkpoint path") from None
        if state["format"] != FORMAT:
            raise ValueError(f"checkpoint={self.path!r} was written in another layout "
                             f"(format {state['format']}, this physml reads {FORMAT}); "
                             "delete it to train afresh")
        if state["digest"] != self.digest:
            theirs = state.get("description", {})
            differ = sorted(k for k in set(theirs) | set(self.description)
                            if theirs.get(k) != self.description.get(k))
            raise ValueError(
                f"checkpoint={self.path!r} holds a fit of {state.get('owner')} with other "
                f"parameters or data (they differ in: {', '.join(differ)}); it is not "
                "resumed. Delete it to train afresh, or pass another checkpoint path "
                "(a directory keeps one file per configuration)")
        return state

    # Writing ---------------------------------------------------------------------------

    def due(self):
        """Whether ``every`` seconds have passed since the last write."""
        return time.monotonic() - self._last >= self.every

    def write(self, current=None, history=None, complete=False):
        """Write the checkpoint: the finished calls, ``current`` (the state of the call
        under way, or None between calls) and the history so far."""
        if history is not None:
            self.history = history
        state = {"format": FORMAT, "owner": self.owner, "digest": self.digest,
                 "description": self.description, "calls": self.calls,
                 "history": self.history, "current": current, "extra": self.extra,
                 "complete": bool(complete),
                 "attached": None if self.attached is None else self.attached.state_dict()}
        partial = self.path + ".partial"
        directory = os.path.dirname(os.path.abspath(self.path))
        with open(partial, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.path)
        try:  # the rename itself on disk (POSIX; not available on Windows)
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            fd = None
        if fd is not None:
            try:
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)
        self._last = time.monotonic()

    # Calls -----------------------------------------------------------------------------

    def attach(self, item):
        """Save ``item``'s ``state_dict()`` with every write (the callbacks), and give it
        back the saved one when resuming."""
        self.attached = item
        if self._attached_state is not None:
            item.load_state_dict(copy.deepcopy(self._attached_state))

    @property
    def replaying(self):
        """Whether the next call is one the checkpoint holds finished."""
        return self._next < len(self.calls)

    def call(self, parameters, history, restorables=()):
        """The next optimizer call of the fit (a :class:`Call`)."""
        index, self._next = self._next, self._next + 1
        return Call(self, index, list(parameters), history, list(restorables))


class Call:
    """One optimizer call under a checkpoint.

    ``report`` is its report when the checkpoint holds it finished (the parameters,
    history and ``restorables`` then hold what it left: skip the work); ``resumed`` is
    the optimizer's state when the checkpoint was written inside it (the rest is put
    back already); :meth:`save` writes the optimizer's state now, :meth:`finish`
    records the call's end."""

    def __init__(self, checkpoint, index, parameters, history, restorables):
        self.checkpoint, self.index = checkpoint, index
        self.parameters, self.history, self.restorables = parameters, history, restorables
        self.report, self.resumed = None, None
        if checkpoint is None:
            return
        if index < len(checkpoint.calls):
            end = checkpoint.calls[index]
            self._put_back(end["parameters"], end["restorables"])
            _truncate_to(history, checkpoint.history, end["lengths"])
            self.report = copy.deepcopy(end["report"])
        elif checkpoint.current is not None and checkpoint.current["index"] == index:
            current = checkpoint.current
            self._put_back(current["parameters"], current["restorables"])
            history.clear()
            history.update(copy.deepcopy(current["history"]))
            self.resumed = current["optimizer"]
            checkpoint.current = None
        checkpoint.silent = self.report is not None

    def _put_back(self, parameters, restorables):
        with torch.no_grad():
            for p, saved in zip(self.parameters, parameters):
                p.copy_(saved)
        for item, state in zip(self.restorables, restorables):
            item.load_state_dict(copy.deepcopy(state))

    def _state(self):
        return ([p.detach().clone() for p in self.parameters],
                [copy.deepcopy(item.state_dict()) for item in self.restorables])

    def due(self):
        return self.checkpoint is not None and self.checkpoint.due()

    def save(self, optimizer_state):
        """Write the checkpoint with the call's state now (``optimizer_state``: what the
        optimizer needs to continue, as its resume path reads it back)."""
        if self.checkpoint is None:
            return
        parameters, restorables = self._state()
        history = copy.deepcopy(self.history)
        self.checkpoint.write({"index": self.index, "parameters": parameters,
                               "restorables": restorables, "history": history,
                               "optimizer": optimizer_state},  # (written at once)
                              history=history)

    def finish(self, report):
        """Record the call's end (not after Ctrl-C or a callback's stop: a fit started
        again continues from the last write instead)."""
        checkpoint = self.checkpoint
        if checkpoint is None or self.report is not None:
            return report
        if report.get("stopped") in ("interrupted", "callback"):
            return report
        parameters, restorables = self._state()
        checkpoint.calls.append({
            "parameters": parameters, "restorables": restorables,
            "lengths": {k: len(v) for k, v in self.history.items()},
            "report": copy.deepcopy(report)})
        checkpoint.history = copy.deepcopy(self.history)
        if checkpoint.due():
            checkpoint.write()
        return report


def _truncate_to(history, latest, lengths):
    """Make ``history`` (in place) the prefix of ``latest`` of the given column lengths."""
    history.clear()
    for key, n in lengths.items():
        history[key] = list(latest[key][:n])


def checkpoint_silent(checkpoint):
    """Whether the last call was replaced by what the checkpoint held (its callbacks
    then stay silent: they ran when it was computed)."""
    return checkpoint is not None and checkpoint.silent


def begin_call(checkpoint, parameters, history, restorables=()):
    """The next optimizer call under ``checkpoint`` (a :class:`Call`; one that saves
    nothing where ``checkpoint`` is None)."""
    if checkpoint is None:
        return Call(None, 0, parameters, history, restorables)
    return checkpoint.call(parameters, history, restorables)


class GeneratorState:
    """A torch generator as a restorable (its state)."""

    def __init__(self, generator):
        self.generator = generator

    def state_dict(self):
        return self.generator.get_state()

    def load_state_dict(self, state):
        self.generator.set_state(state)


def open_checkpoint(estimator, *data, start=None):
    """The :class:`Checkpoint` of ``estimator.checkpoint`` for a fit on ``data``, or None
    without one."""
    path = getattr(estimator, "checkpoint", None)
    if path is None:
        return None
    digest, description = fingerprint(estimator, *data, start=start)
    every = getattr(estimator, "checkpoint_every", DEFAULT_EVERY)
    checkpoint = Checkpoint(path, DEFAULT_EVERY if every is None else every,
                            type(estimator).__name__, digest, description)
    if checkpoint.resumed and getattr(estimator, "verbose", 0):
        what = ("holds the finished fit" if checkpoint.complete else
                "holds a fit under way: continuing it")
        print(f"{type(estimator).__name__}: checkpoint {checkpoint.path} {what}",
              file=sys.stderr, flush=True)
    return checkpoint


def checked_seed(checkpoint, seed):
    """The fit's seed: the checkpoint's where it holds one (a fit with
    ``random_state=None`` resumes with the seed it drew), else ``seed``, recorded."""
    if checkpoint is None:
        return seed
    return checkpoint.extra.setdefault("seed", seed)


#: What ``checkpoint``, ``checkpoint_every``, ``warm_start`` and ``callbacks`` may be
#: (scikit-learn's ``_parameter_constraints``), on every estimator.
LONG_FIT_CONSTRAINTS = {
    "checkpoint": [str, os.PathLike, None],
    "checkpoint_every": [Interval(numbers.Real, 0, None, closed="left")],
    "warm_start": ["boolean"],
    "callbacks": [list, None],
}

#: Their numpydoc entries.
LONG_FIT_DOC = """    checkpoint : str, path-like or None, default=None
        A file that makes the fit survive being killed: while fitting, everything needed
        to continue (the network, the optimizer's state, the strategy's position, the
        points, every random generator, ``history_``) is written to it every
        ``checkpoint_every`` seconds, atomically. ``fit`` with a file that holds a
        checkpoint of the same parameters and data continues from it, and ends with
        the model an uninterrupted fit gives, bit for bit on the CPU (with an int
        ``random_state``; with None the checkpoint keeps the seed it drew). A file
        from other parameters or data, or one that cannot be read, is a ValueError
        naming it; it is never resumed silently. The file stays when the fit ends,
        holding the finished fit: ``fit`` again returns that model without training
        (delete it to train afresh). An existing directory (or a path ending in a
        separator) holds one file per configuration, named after its fingerprint, so
        that a sweep's fits can share it. See the user guide, "Long fits".
    checkpoint_every : float, default=60.0
        Seconds between two checkpoint writes (0: after every optimizer step or epoch).
    warm_start : bool, default=False
        ``fit`` starts from the network (and learned coefficients) of the previous fit
        instead of a new initialization (scikit-learn's meaning); the network must have
        the same shape.
    callbacks : list or None, default=None
        Objects called during the fit (:mod:`physml.callbacks`): at its start and end,
        each stage's, and each logged row of ``history_``; one raising
        :class:`~physml.callbacks.StopTraining` ends the fit cleanly.
"""
