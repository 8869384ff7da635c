"""What every torch-backed physml estimator shares.

Device and dtype resolution, seeding from ``random_state`` without touching the global
torch RNG, the record of training (``history_``), progress bars, and the guard that stops
training on a non-finite loss and keeps the best parameters found.
"""

import contextlib
import copy
import numbers
import warnings

import numpy as np
import torch
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)

DTYPES = {"float32": torch.float32, "float64": torch.float64}

# The pieces of ``_parameter_constraints`` (scikit-learn's declaration of what each
# constructor parameter may be) that recur across estimators and parameter objects.
AUTO_OPTION = StrOptions({"auto"})
DTYPE = [StrOptions(set(DTYPES)), Options(torch.dtype, set(DTYPES.values()))]
DEVICE = [str, torch.device]


def store_params(estimator, arguments):
    """Set each constructor argument (``locals()`` of an ``__init__``) as the attribute of
    the same name: scikit-learn's rule that ``__init__`` only stores its parameters, with
    the signature (which ``get_params`` reads) written once."""
    for name, value in arguments.items():
        if name not in ("self", "__class__"):
            setattr(estimator, name, value)


def clear_fitted(estimator):
    """Remove what a previous ``fit`` set (every attribute whose name ends in ``_``), so
    that a refit leaves nothing of it behind (a ``time_blocks_`` after a refit with
    another strategy)."""
    for name in [name for name in vars(estimator)
                 if name.endswith("_") and not name.startswith("__")]:
        delattr(estimator, name)


def integers(minimum):
    """Integers ``>= minimum``."""
    return Interval(numbers.Integral, minimum, None, closed="left")


def reals(minimum=-np.inf, maximum=np.inf, closed=None):
    """Finite reals (ints included) in the interval; ``closed`` as sklearn's Interval, by
    default ``"left"`` with a finite minimum (``>= minimum``) and ``"neither"`` without
    (infinite bounds are open, so infinities and NaN are rejected)."""
    if closed is None:
        closed = "left" if np.isfinite(minimum) else "neither"
    return Interval(numbers.Real, minimum, maximum, closed=closed)


def validate_params(obj):
    """Check ``obj``'s constructor parameters against its ``_parameter_constraints``
    (scikit-learn's ``InvalidParameterError``, a ValueError and TypeError, naming the
    parameter and what it may be). Estimators call it first in ``fit``, before any data
    work or seeding, for themselves and their parameter objects."""
    validate_parameter_constraints(getattr(obj, "_parameter_constraints", {}),
                                   obj.get_params(deep=False),
                                   caller_name=type(obj).__name__)


def resolve_dtype(dtype):
    """``"float32"``/``"float64"`` (or the torch dtypes) -> torch dtype; ValueError otherwise."""
    if isinstance(dtype, torch.dtype) and dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    raise ValueError(f"dtype={dtype!r} is not supported; choose one of {sorted(DTYPES)}")


def dtype_name(dtype):
    """``"float32"``/``"float64"`` from a name or a torch dtype (ValueError otherwise)."""
    resolved = resolve_dtype(dtype)
    return next(name for name, value in DTYPES.items() if value == resolved)


def resolve_device(device):
    """A torch device from a string or device; a clear error if it is not available."""
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device={device!r} is not a torch device") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was asked for, but CUDA is not available")
    return device


def torch_seed(random_state):
    """A 31-bit seed drawn from ``random_state`` (None gives a fresh one)."""
    return int(check_random_state(random_state).randint(0, 2**31 - 1))


@contextlib.contextmanager
def seeded(seed, device):
    """Run with the torch RNG seeded, restoring the caller's RNG state afterwards."""
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def progress(total, verbose, desc):
    """A tqdm bar when ``verbose`` is truthy, else a stand-in with the same methods."""
    if verbose:
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, leave=verbose > 1, dynamic_ncols=True)
    return _Silent()


class _Silent:
    def update(self, n=1):
        pass

    def set_postfix(self, *args, **kwargs):
        pass

    def close(self):
        pass


class Diverged(RuntimeError):
    """Raised inside a training loop when the loss stops being finite."""


class StopTraining(KeyboardInterrupt):
    """Raised by a callback to end the fit cleanly (:mod:`physml.callbacks`): the
    estimator keeps the parameters the fit reached and is usable, with ``stopped_`` set
    to ``"callback"``. A ``KeyboardInterrupt``, so that skorch's loop ends on it too."""


class BestParameters:
    """Keep a copy of the parameters with the lowest loss seen, and put them back on request."""

    def __init__(self, parameters):
        self.parameters = list(parameters)
        self.loss = np.inf
        self.vector = None

    def offer(self, loss):
        if loss < self.loss:
            self.loss = loss
            with torch.no_grad():
                self.vector = torch.nn.utils.parameters_to_vector(self.parameters).clone()

    def restore(self):
        if self.vector is not None:
            with torch.no_grad():
                torch.nn.utils.vector_to_parameters(self.vector, self.parameters)


def warn_stopped(reason, estimator, best_loss):
    kept = ("the initial parameters (no epoch finished)" if best_loss is None else
            f"the parameters with the lowest loss seen ({best_loss:.3e})")
    warnings.warn(
        f"{estimator if isinstance(estimator, str) else type(estimator).__name__}: "
        f"training stopped early ({reason}); kept {kept}.",
        RuntimeWarning,
        stacklevel=3,
    )


@contextlib.contextmanager
def stops_cleanly(state, bar):
    """A training loop's body: a non-finite loss (:class:`Diverged`), a callback's
    :class:`StopTraining` or Ctrl-C ends it with ``state["stopped"]`` saying which, and
    the progress bar closed."""
    try:
        yield
    except Diverged:
        state["stopped"] = "diverged"
    except StopTraining:
        state["stopped"] = "callback"
    except KeyboardInterrupt:
        state["stopped"] = "interrupted"
    finally:
        bar.close()


def warn_if_stopped(state, estimator, best_loss):
    """:func:`warn_stopped` with the reason ``state["stopped"]`` names, if any (a
    callback's stop is the user's request, and is not warned about)."""
    if state["stopped"] and state["stopped"] != "callback":
        reason = {"diverged": "the loss became NaN or infinite",
                  "interrupted": "KeyboardInterrupt"}[state["stopped"]]
        warn_stopped(reason, estimator, best_loss)


def check_hidden_layer_sizes(sizes):
    """A non-empty tuple of positive ints, or a ValueError naming ``hidden_layer_sizes``."""
    if (not isinstance(sizes, (tuple, list)) or not sizes
            or not all(isinstance(h, numbers.Integral) and h > 0 for h in sizes)):
        raise ValueError(
            f"hidden_layer_sizes must be a non-empty tuple of positive ints, got {sizes!r}"
        )
    return tuple(sizes)


def check_integer(name, value, minimum):
    """An int >= ``minimum``, or a ValueError naming the parameter."""
    if not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


#: torch sums up to this many elements on one thread; beyond, a sum to one number is
#: split across the threads, and its last bits depend on how many there are.
_SERIAL_SUM = 32768


def total(x):
    """``x.sum()`` with bits that do not depend on torch's thread count: ``x.sum()`` up to
    :data:`_SERIAL_SUM` elements, beyond it a sum in rows of that length and then across
    the rows (a sum along a dimension is split across threads by output, so each row
    sums on one thread whatever their number). Differentiable."""
    x = x.reshape(-1)
    if x.numel() <= _SERIAL_SUM:
        return x.sum()
    x = torch.nn.functional.pad(x, (0, (-x.numel()) % _SERIAL_SUM))
    return x.view(-1, _SERIAL_SUM).sum(1).sum()


def column_totals(x):
    """``x.sum(0)`` of a 2-D tensor with bits that do not depend on torch's thread count
    (torch splits a sum along rows by output, except where there is one output)."""
    if x.numel() <= _SERIAL_SUM or x.shape[1] > 1:
        return x.sum(0)
    return total(x).reshape(1)


def average(x):
    """``x.mean()`` with bits that do not depend on torch's thread count (:func:`total`)."""
    return x.mean() if x.numel() <= _SERIAL_SUM else total(x) / x.numel()


class TorchPickleMixin:
    """Pickle fitted torch modules with CPU tensors, remembering the device they came from.

    A model fitted on ``device="cuda"`` then loads on a CPU-only machine (it stays on the
    CPU there) and goes back to its GPU where one is available.
    """

    _torch_attributes = ("network_",)

    def __getstate__(self):
        state = super().__getstate__()
        for name in self._torch_attributes:
            module = state.get(name)
            parameter = next(module.parameters(), None) if module is not None else None
            if parameter is not None and parameter.device.type != "cpu":
                state[name] = copy.deepcopy(module).cpu()
                state["_fitted_device"] = str(parameter.device)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        device = state.get("_fitted_device")
        if device and device.startswith("cuda") and torch.cuda.is_available():
            for name in self._torch_attributes:
                if getattr(self, name, None) is not None:
                    setattr(self, name, getattr(self, name).to(device))
