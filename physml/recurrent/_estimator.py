"""What the recurrent estimators share: validation, scaling, the training length, the
skorch net, prediction."""

import copy
import math

import numpy as np
import torch
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch import NeuralNetClassifier, NeuralNetRegressor

from .._base import (
    AUTO_OPTION,
    clear_fitted,
    integers,
    reals,
    resolve_device,
    resolve_dtype,
    seeded,
    torch_seed,
    validate_params,
)
from .._checkpoint import checked_seed, open_checkpoint
from .._skorch import TRAINING_CONSTRAINTS, SkorchEstimator, training_doc
from .._threads import estimator_threads, thread_budget
from ._cells import SequenceNetwork
from ._data import SCALINGS, as_sequences, check_sequence_dims, scaled, scaling_statistics

#: ``max_iter="auto"``: enough epochs for this many optimizer steps, and at least
#: ``_AUTO_EPOCHS`` (a training set of 36 series in batches of 16 gets 500 epochs, one of
#: 1,347 in batches of 64 69).
_AUTO_STEPS = 1500
_AUTO_EPOCHS = 60
#: ``batch_size="auto"``: a tenth of the training set, within [_MIN_BATCH, the
#: estimator's ``_max_batch``].
_MIN_BATCH = 16


def training_length(max_iter, batch_size, n_samples, max_batch):
    """``(epochs, batch_size)`` for ``max_iter`` and ``batch_size`` (each an int or
    ``"auto"``) on ``n_samples`` training sequences."""
    if batch_size == "auto":
        batch_size = min(max_batch, max(_MIN_BATCH, n_samples // 10))
    batch_size = int(batch_size)
    if max_iter == "auto":
        per_epoch = math.ceil(n_samples / batch_size)
        max_iter = max(_AUTO_EPOCHS, math.ceil(_AUTO_STEPS / per_epoch))
    return int(max_iter), batch_size


class _RecurrentEstimator(SkorchEstimator):
    """What the recurrent estimators share: validation, the skorch net, prediction."""

    _sequence_output_ = False
    #: ``batch_size="auto"``'s largest batch
    _max_batch = 64
    _parameter_constraints = {
        "hidden_size": [integers(1)],
        "dt": [reals(0, closed="neither")],
        "scaling": [StrOptions(set(SCALINGS)), None],
        **TRAINING_CONSTRAINTS,
        "max_iter": [integers(0), AUTO_OPTION],
        "batch_size": [integers(1), AUTO_OPTION],
    }

    def _make_cell(self, n_timesteps):
        """The cell for sequences of ``n_timesteps`` steps (its ``dt`` may depend on it)."""
        raise NotImplementedError

    def _fit_net(self, net_class, X, y, n_outputs, criterion, start=None):
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        checkpoint = open_checkpoint(self, X, y, start=None if start is None else
                                     list(start.state_dict().values()))
        seed = checked_seed(checkpoint, torch_seed(self.random_state))
        classifier = net_class is NeuralNetClassifier
        extra = {"classes": np.arange(n_outputs)} if classifier else {}
        self.input_center_, self.input_scale_ = scaling_statistics(X, self.scaling)
        X = scaled(X, self.scaling, self.input_center_, self.input_scale_)
        n_train = len(X)
        if self.early_stopping:
            held_out = math.ceil(float(self.validation_fraction) * len(X))
            if classifier and held_out < n_outputs:
                raise ValueError(
                    f"early_stopping holds out validation_fraction="
                    f"{self.validation_fraction} of {len(X)} series, {held_out}, fewer than "
                    f"the {n_outputs} classes a stratified split needs; raise "
                    f"validation_fraction to at least {n_outputs / len(X):.2g} or set "
                    "early_stopping=False")
            n_train -= held_out
        self.max_iter_, self.batch_size_ = training_length(
            self.max_iter, self.batch_size, max(n_train, 1), self._max_batch)
        with seeded(seed, device), thread_budget(self.n_jobs, follow=False):
            cell = self._make_cell(X.shape[1])
            module = SequenceNetwork(cell, X.shape[2], n_outputs, self._sequence_output_)
            module = module.to(dtype=dtype)
            self.net_, guard = self._skorch_net(
                net_class, module, seed, stratified=classifier, criterion=criterion,
                max_iter=self.max_iter_, batch_size=self.batch_size_, **extra)
            if not classifier:
                y = torch.tensor(y, dtype=dtype)
            self._train_net(guard, torch.tensor(X, dtype=dtype), y, self.max_iter_,
                            checkpoint, start)
        self.dt_ = getattr(cell, "dt", None)
        return self

    def _net_input(self, X):
        check_is_fitted(self, "net_")
        X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X",
                        ensure_all_finite="allow-nan")
        name = type(self).__name__
        if X.ndim == 2 and self._fitted_2d_ and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting "
                             f"{self.n_features_in_} features as input (time steps of a "
                             "univariate sequence)")
        X = as_sequences(X)
        per_step = 1 if self._fitted_2d_ else self.n_features_in_
        if X.shape[2] != per_step:
            raise ValueError(f"X has {X.shape[2]} features per time step, but {name} is "
                             f"expecting {per_step}")
        X = scaled(X, self.scaling, self.input_center_, self.input_scale_)
        return torch.tensor(X, dtype=resolve_dtype(self.dtype))

    def _forward64(self, X, batch_size=4096):
        """The trained network's outputs in float64 (eval mode: no training noise), so a
        row's prediction does not depend on which other rows share its batch."""
        X = self._net_input(X).double()
        module = copy.deepcopy(self.net_.module_).double().eval()
        device = next(module.parameters()).device
        with torch.no_grad(), estimator_threads(self):
            return torch.cat([module(X[i:i + batch_size].to(device)).cpu()
                              for i in range(0, len(X), batch_size)])

    def _start_fit(self, X, y):
        """What every ``fit`` does first: the parameters, then ``y`` present, then ``X``
        (validated, as sequences); ``(X, start)`` with ``start`` the network a warm start
        continues (or None)."""
        validate_params(self)
        start = self._warm_start_from()
        clear_fitted(self)
        if y is None:
            raise ValueError(f"{type(self).__name__} requires y to be passed, but the "
                             "target y is None")
        return self._validate_X(X), start

    def _validate_X(self, X):
        """Validate at fit; ``n_features_in_`` is the columns of a 2-D ``X`` (sequences of
        that length) or the features per step of a 3-D one (any length)."""
        X = check_sequence_dims(check_array(X, allow_nd=True, dtype=np.float64,
                                            input_name="X", ensure_all_finite="allow-nan"))
        self._fitted_2d_ = X.ndim == 2
        if X.ndim == 3:
            validate_data(self, X.reshape(len(X), -1), ensure_all_finite="allow-nan")
            self.n_features_in_ = X.shape[2]
        else:
            X = validate_data(self, X, ensure_all_finite="allow-nan")
        return as_sequences(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.allow_nan = True  # NaN steps are missing steps
        return tags


_REGRESSOR_CONSTRAINTS = {"sequence_output": ["boolean"]}


def _common_doc(max_batch):
    return training_doc(None, None, 3e-3, 1.0, length_doc=f"""
    scaling : {{"channel", "series"}} or None, default="channel"
        What the inputs go through before the network. ``"channel"``: each feature
        (channel) standardized by its mean and standard deviation over the training
        series, learned at ``fit`` (``input_center_``, ``input_scale_``) and applied at
        prediction; ``"series"``: each series z-normalized per channel over its own
        steps (the UCR/UEA archive's convention; it drops each series' level and
        amplitude); None: the inputs as given.
    max_iter : int or "auto", default="auto"
        Passes over the data (epochs). ``"auto"``: enough epochs for
        {_AUTO_STEPS} optimizer steps and at least {_AUTO_EPOCHS} (36 series in batches
        of 16: 500 epochs; 1,347 in batches of 64: 69). The count used is ``max_iter_``.
    batch_size : int or "auto", default="auto"
        ``"auto"``: a tenth of the training set, at least {_MIN_BATCH}, at most
        {max_batch}. The size used is ``batch_size_``.""")


_COMMON_DOC = _common_doc(64)
_LIPSCHITZ_COMMON_DOC = _common_doc(32)

#: The fitted attributes every recurrent estimator documents.
FITTED_DOC = """
    max_iter_ : int
        The epochs ``max_iter`` resolved to.
    batch_size_ : int
        The batch size ``batch_size`` resolved to.
    input_center_, input_scale_ : ndarray of shape (n_features,) or None
        The per-feature standardization learned with ``scaling="channel"`` (None
        otherwise)."""


class _Classifier(ClassifierMixin, _RecurrentEstimator):

    def fit(self, X, y):
        """Train on sequences ``X`` and labels ``y`` (any label type).

        Returns
        -------
        self
        """
        X, start = self._start_fit(X, y)
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"),
                         warn=True)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} labels for {len(X)} sequences")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        return self._fit_net(NeuralNetClassifier, X, encoder.transform(y).astype(np.int64),
                             len(self.classes_), torch.nn.CrossEntropyLoss, start)

    def predict_proba(self, X):
        """Class probabilities, shape ``(n_samples, n_classes)``."""
        p = torch.softmax(self._forward64(X), dim=1).numpy()
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X):
        """Predicted labels, shape ``(n_samples,)``."""
        check_is_fitted(self, "net_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class _Regressor(RegressorMixin, _RecurrentEstimator):

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def fit(self, X, y):
        """Train on sequences ``X`` and targets ``y``: ``(n,)`` or ``(n, k)`` read from the
        last step (sequence to one), ``(n, T)`` or ``(n, T, k)`` with ``T`` the sequence
        length read from every step (sequence to sequence).

        Returns
        -------
        self
        """
        X, start = self._start_fit(X, y)
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=np.float64, input_name="y")
        if len(y) != len(X) or y.ndim > 3:
            raise ValueError(f"y must have one row per sequence; got {y.shape} for "
                             f"{len(X)} sequences")
        self._y_shape_ = y.shape[1:]
        self._sequence_output_ = y.ndim == 3 or (y.ndim == 2 and bool(self.sequence_output))
        if self._sequence_output_ and y.shape[1] != X.shape[1]:
            raise ValueError(f"sequence-to-sequence y has {y.shape[1]} steps, X has "
                             f"{X.shape[1]}")
        if self._sequence_output_ and np.isnan(X).any():
            raise ValueError("X has missing (NaN) steps: sequence-to-sequence regression "
                             "reads a target at every step and needs every step observed; "
                             "sequence-to-one targets accept series of unequal lengths")
        if self._sequence_output_:
            target = y if y.ndim == 3 else y[:, :, None]
        else:
            target = y.reshape(len(y), -1)
        n_outputs = target.shape[-1]
        return self._fit_net(NeuralNetRegressor, X, target, n_outputs, torch.nn.MSELoss,
                             start)

    def predict(self, X):
        """Predictions shaped like the ``y`` the estimator was fitted on."""
        out = self._forward64(X).numpy()
        return out.reshape((len(out),) + self._y_shape_)
