"""Continuous-time recurrent networks: LEM, Lipschitz RNN, Noisy RNN (and their estimators).

Each cell is a discretized ODE in the hidden state. LEM runs the whole sequence in one
autograd Function with a hand-written backward through time (see :class:`LEMCell`). The
Lipschitz and Noisy RNN project the inputs of all time steps in one matrix product before
the loop (which walks ``unbind``-ed slices, so backward stays linear in the sequence
length); their steps are :func:`physml.integrators.rk_step` and
:func:`physml.integrators.euler_maruyama_step`, the same code as every continuous model.

Training runs through skorch (held in ``net_``, built in ``fit``): its history, callbacks,
gradient clipping, early stopping and progress bar.
"""

import copy

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import Options, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import EarlyStopping, GradientNormClipping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from ._base import (
    AUTO_OPTION,
    DEVICE,
    DTYPE,
    integers,
    reals,
    resolve_device,
    resolve_dtype,
    seeded,
    thread_budget,
    torch_seed,
    validate_params,
)
from ._skorch import DivergenceGuard, finish_training
from .integrators import euler_maruyama_step, integrator_constraint, resolve_integrator, rk_step

__all__ = ["LEMClassifier", "LEMRegressor", "LipschitzRNNClassifier", "LipschitzRNNRegressor",
           "NoisyRNNClassifier", "NoisyRNNRegressor", "from_sktime"]

# ------------------------------------------------------------------------------------------
# Cells: each maps the inputs (T, B, F), through the network's input projection to k*H,
# to the hidden states (T, B, H), or to the last one


class LEMCell(torch.nn.Module):
    """Long Expressive Memory (Rusch et al., ICLR 2022), one step per input.

    ``dt_bar = dt sigma(W1 y + V1 u + b1)``, ``dt_n = dt sigma(W2 y + V2 u + b2)``,
    ``z = (1 - dt_n) z + dt_n tanh(Wz y + Vz u + bz)``,
    ``y = (1 - dt_bar) y + dt_bar tanh(Wy z + Vy u + by)`` (with the new ``z``).

    ``project`` (a ``Linear`` to ``4 H``) stacks ``[Vy; V1; V2; Vz]`` and ``W`` stacks
    ``[W1; W2; Wz]``. The whole sequence runs in one :class:`torch.autograd.Function`
    with a hand-written backward through time: the forward pass stores each step's local
    derivatives, so a backward step is two recurrent matrix products, three element-wise
    products; the input projection and the weight gradients are one matrix product per
    chunk of steps. Every buffer it keeps is one chunk's, and with ``all_states=False``
    only the last state is returned: sequence-long buffers would be fresh memory (page
    faults) on every training step, which cost more than the arithmetic at ``T = 784``
    (``benchmarks/bench_recurrent_speed.py``).

    ``fused=False`` runs the same equations as a plain loop of PyTorch operations under
    autograd instead (slower; it supports higher derivatives, and is what the tests and
    the speed benchmark compare the fused pass with).
    """

    n_projections = 4

    def __init__(self, hidden_size, dt, fused=True):
        super().__init__()
        self.hidden_size, self.dt, self.fused = hidden_size, dt, fused
        self.W = torch.nn.Linear(hidden_size, 3 * hidden_size, bias=False)
        self.Wy = torch.nn.Linear(hidden_size, hidden_size, bias=False)

    def forward(self, inputs, project, all_states=True):
        """Hidden states ``(T, B, H)`` of ``inputs`` ``(T, B, F)`` (the last one,
        ``(B, H)``, when not ``all_states``)."""
        if not self.fused:
            return self._autograd_loop(project(inputs), all_states)
        tensors = (inputs, project.weight, project.bias, self.W.weight, self.Wy.weight)
        need_grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
        return _LEMSequence.apply(*tensors, float(self.dt), bool(all_states), need_grad)

    def _autograd_loop(self, u, all_states):
        H, dt = self.hidden_size, self.dt
        y = z = u.new_zeros((u.shape[1], H))
        states = []
        for step in u.unbind(0):
            gates = self.W(y)
            dt_bar = dt * torch.sigmoid(gates[:, :H] + step[:, H:2 * H])
            dt_n = dt * torch.sigmoid(gates[:, H:2 * H] + step[:, 2 * H:3 * H])
            z = z + dt_n * (torch.tanh(gates[:, 2 * H:] + step[:, 3 * H:]) - z)
            y = y + dt_bar * (torch.tanh(self.Wy(z) + step[:, :H]) - y)
            states.append(y)
        return torch.stack(states) if all_states else y


class _LEMSequence(torch.autograd.Function):
    """LEM over a whole sequence, with its backward through time written out.

    Steps are taken in chunks of ``CHUNK``: a chunk's input projection and its share of
    the weight gradients are one matrix product each (``CHUNK * B`` rows) instead of one
    per step, and every buffer is one chunk's (a few MB, reused by the allocator from one
    training step to the next, where sequence-long buffers would be fresh pages)."""

    CHUNK = 16

    @staticmethod
    def forward(ctx, X, Wp, bp, W, Wy, dt, all_states, need_grad):
        T, B, F = X.shape
        H = Wy.shape[0]
        y = z = X.new_zeros((B, H))
        ones, dt = X.new_ones((B, H)), X.new_tensor(dt)
        # tanh(a) = 2 sigmoid(2 a) - 1, with the 2 folded into the weights of the tanh
        # arguments: one sigmoid over all three gates (tanh is 3x sigmoid's time on CPU).
        Wp_T, W_T, Wy_T = Wp.t() * 1, W.t() * 1, Wy.t() * 2
        bp = bp * 1
        for scaled in (Wp_T[:, :H], Wp_T[:, 3 * H:], bp[:H], bp[3 * H:], W_T[:, 2 * H:]):
            scaled *= 2
        chunks = []
        for t0 in range(0, T, _LEMSequence.CHUNK):
            k = min(_LEMSequence.CHUNK, T - t0)
            # [Vy x, V1 x, V2 x, Vz x] + biases (the first and last doubled), k steps
            U = torch.addmm(bp, X[t0:t0 + k].reshape(k * B, F), Wp_T).view(k, B, 4 * H)
            Yc = X.new_empty((k, B, H))
            if need_grad:
                # per step: dy/dy_prev (direct), dy/da_y, dy/da_bar; dz/da_n, dz/da_z,
                # dz/dz_prev (direct); a_* the pre-activations
                Zc, CY, CZ = X.new_empty((k, B, H)), X.new_empty((k, B, 3, H)), \
                    X.new_empty((k, B, 3, H))
            for i in range(k):
                u = U[i]
                gates = torch.addmm(u[:, H:], y, W_T).sigmoid_()
                s_bar, s_n, s_z = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:]
                c = torch.add(s_z, s_z).sub_(ones)  # tanh(Wz y + Vz x + bz)
                e_z = c - z
                m_n = s_n * dt  # dt_n
                z = torch.addcmul(z, m_n, e_z, out=Zc[i] if need_grad else None)
                d = torch.addmm(u[:, :H], z, Wy_T).sigmoid_()
                d = torch.add(d, d).sub_(ones)  # tanh(Wy z + Vy x + by)
                e_y = d - y
                m_bar = s_bar * dt  # dt_bar
                if need_grad:
                    cy, cz = CY[i], CZ[i]
                    torch.sub(ones, m_bar, out=cy[:, 0])
                    torch.addcmul(m_bar, m_bar * d, d, value=-1, out=cy[:, 1])
                    torch.addcmul(m_bar, m_bar, s_bar, value=-1, out=cy[:, 2]).mul_(e_y)
                    torch.addcmul(m_n, m_n, s_n, value=-1, out=cz[:, 0]).mul_(e_z)
                    torch.addcmul(m_n, m_n * c, c, value=-1, out=cz[:, 1])
                    torch.sub(ones, m_n, out=cz[:, 2])
                y = torch.addcmul(y, m_bar, e_y, out=Yc[i])
            chunks.append((Yc, Zc, CY, CZ) if need_grad else (Yc,))
        if need_grad:
            ctx.save_for_backward(X, Wp, W, Wy, *(t for chunk in chunks for t in chunk))
            ctx.all_states = all_states
        if all_states:
            return torch.cat([chunk[0] for chunk in chunks])
        return y.clone()  # not a view of a saved buffer

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        X, Wp, W, Wy, *saved = ctx.saved_tensors
        T, B, F = X.shape
        H = Wy.shape[0]
        chunks = [saved[j:j + 4] for j in range(0, len(saved), 4)]
        grad_X = X.new_empty(X.shape) if ctx.needs_input_grad[0] else None
        grad_Wp, grad_W, grad_Wy = torch.zeros_like(Wp), torch.zeros_like(W), torch.zeros_like(Wy)
        grad_bp = X.new_zeros(4 * H)
        gy_next = X.new_zeros((B, H)) if ctx.all_states else grad_out
        gz_next = X.new_zeros((B, H))
        for j in range(len(chunks) - 1, -1, -1):
            Yc, Zc, CY, CZ = chunks[j]
            k, t0 = len(Yc), j * _LEMSequence.CHUNK
            # R[i] = [dL/dy_prev (direct), dL/da_y, dL/da_bar, dL/da_n, dL/da_z,
            # dL/dz_prev (direct)] at step t0 + i: R[i, :, 1:5] is dL/du in u's layout.
            R = X.new_empty((k, B, 6, H))
            for i in range(k - 1, -1, -1):
                gy = gy_next + grad_out[t0 + i] if ctx.all_states else gy_next
                r = R[i]
                torch.mul(gy.unsqueeze(1), CY[i], out=r[:, 0:3])
                gz = torch.addmm(gz_next, r[:, 1], Wy)
                torch.mul(gz.unsqueeze(1), CZ[i], out=r[:, 3:6])
                gy_next = torch.addmm(r[:, 0], r[:, 2:5].reshape(B, 3 * H), W)
                gz_next = r[:, 5]
            # the chunk's weight gradients, k steps in one product each
            grad_gates = R[:, :, 2:5].reshape(k * B, 3 * H)
            grad_W.addmm_(grad_gates[B:].t(), Yc[:-1].reshape(-1, H))
            if j:
                grad_W.addmm_(grad_gates[:B].t(), chunks[j - 1][0][-1])
            grad_Wy.addmm_(R[:, :, 1].reshape(k * B, H).t(), Zc.reshape(k * B, H))
            grad_u = R[:, :, 1:5].reshape(k * B, 4 * H)
            grad_Wp.addmm_(grad_u.t(), X[t0:t0 + k].reshape(k * B, F))
            grad_bp += grad_u.sum(0)
            if grad_X is not None:
                torch.mm(grad_u, Wp, out=grad_X[t0:t0 + k].view(k * B, F))
        return grad_X, grad_Wp, grad_bp, grad_W, grad_Wy, None, None, None


def _lipschitz_matrix(M, beta, gamma):
    """``beta (M - M^T) + (1 - beta)(M + M^T) - gamma I`` (Erichson et al., ICLR 2021)."""
    eye = torch.eye(M.shape[0], dtype=M.dtype, device=M.device)
    return beta * (M - M.T) + (1 - beta) * (M + M.T) - gamma * eye


class LipschitzCell(torch.nn.Module):
    """Lipschitz RNN ``h' = A h + tanh(W h + U x + b)``, one ``integrator`` step of size ``dt``
    per input; Euler-Maruyama with ``sigma = additive + multiplicative * f`` when noisy
    (the Noisy RNN of Lim et al., NeurIPS 2021; noise only while training)."""

    n_projections = 1

    def __init__(self, hidden_size, dt, beta, gamma_a, gamma_w, integrator="euler",
                 additive_noise=0.0, multiplicative_noise=0.0):
        super().__init__()
        self.hidden_size, self.dt = hidden_size, dt
        self.beta, self.gamma_a, self.gamma_w = beta, gamma_a, gamma_w
        self.tableau = resolve_integrator(integrator)
        self.additive_noise, self.multiplicative_noise = additive_noise, multiplicative_noise
        # The published initialization, N(0, 1/H) entries: A and W start close to -gamma I.
        # Exploratory runs on digits by rows (128 units, dt 1, 40 epochs, cosine schedule;
        # not a committed command): seed 0 gave 97.6 % with it, 96.0 % with PyTorch's
        # uniform(+-1/sqrt(H)) default.
        std = 1.0 / hidden_size
        self.M_A = torch.nn.Parameter(torch.randn(hidden_size, hidden_size) * std)
        self.M_W = torch.nn.Parameter(torch.randn(hidden_size, hidden_size) * std)

    @property
    def noisy(self):
        return self.training and (self.additive_noise > 0 or self.multiplicative_noise > 0)

    def forward(self, inputs, project, all_states=True):
        """Hidden states ``(T, B, H)`` of ``inputs`` ``(T, B, F)`` (the last one,
        ``(B, H)``, when not ``all_states``)."""
        projected = project(inputs)  # (T, B, H), one matrix product
        T, B, H = projected.shape
        A = _lipschitz_matrix(self.M_A, self.beta, self.gamma_a)
        W = _lipschitz_matrix(self.M_W, self.beta, self.gamma_w)
        h = projected.new_zeros((B, H))
        states = []
        for u in projected.unbind(0):
            def field(t, h, u=u):
                return h @ A.T + torch.tanh(h @ W.T + u)

            if self.noisy:
                drift = field(0.0, h)
                noise = torch.randn_like(h)
                h = euler_maruyama_step(
                    lambda _, f=drift: f,
                    lambda _, f=drift: self.additive_noise + self.multiplicative_noise * f,
                    h, self.dt, noise)
            else:
                h = rk_step(field, h, self.dt, self.tableau)
            states.append(h)
        return torch.stack(states) if all_states else h


class SequenceNetwork(torch.nn.Module):
    """Input projection for all steps at once, a cell, and a linear read-out of the last
    hidden state (``sequence_output=False``) or of every one."""

    def __init__(self, cell, n_features, n_outputs, sequence_output=False):
        super().__init__()
        self.cell = cell
        self.sequence_output = sequence_output
        self.project = torch.nn.Linear(n_features, cell.n_projections * cell.hidden_size)
        self.readout = torch.nn.Linear(cell.hidden_size, n_outputs)

    def forward(self, X):
        states = self.cell(X.transpose(0, 1), self.project, self.sequence_output)
        if self.sequence_output:
            return self.readout(states).transpose(0, 1)  # (B, T, outputs)
        return self.readout(states)  # the last state


# ------------------------------------------------------------------------------------------
# Input helpers


def as_sequences(X):
    """``(n, T, F)`` float array from 3-D ``X``, or from 2-D ``X`` read as univariate
    sequences ``(n, T)``."""
    X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X")
    if X.ndim == 2:
        X = X[:, :, None]
    if X.ndim != 3:
        raise ValueError(f"X must be (n_samples, n_timesteps, n_features) or 2-D univariate "
                         f"sequences; got {X.ndim} dimensions")
    return X


def from_sktime(X):
    """sktime/aeon's ``(n_samples, n_channels, n_timepoints)`` -> physml's
    ``(n_samples, n_timepoints, n_channels)``.

    Examples
    --------
    >>> import numpy as np
    >>> from physml.recurrent import from_sktime
    >>> from_sktime(np.zeros((5, 3, 100))).shape
    (5, 100, 3)
    """
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"X must be (n_samples, n_channels, n_timepoints); got {X.shape}")
    return np.ascontiguousarray(X.transpose(0, 2, 1))


# ------------------------------------------------------------------------------------------
# Estimators


_LR_SCHEDULES = ("cosine", "constant")


class _RecurrentEstimator(BaseEstimator):
    """What the recurrent estimators share: validation, the skorch net, prediction."""

    _sequence_output = False
    _parameter_constraints = {
        "hidden_size": [integers(1)],
        "dt": [reals(0, closed="neither")],
        "max_iter": [integers(0)],
        "batch_size": [integers(1)],
        "learning_rate": [reals(0, closed="neither")],
        "lr_schedule": [StrOptions(set(_LR_SCHEDULES))],
        "gradient_clip": [reals(0, closed="neither"), None],
        "early_stopping": [integers(1), Options(bool, {False}), None],
        "callbacks": [list, None],
        "dtype": DTYPE,
        "device": DEVICE,
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def _make_cell(self, n_timesteps):
        """The cell for sequences of ``n_timesteps`` steps (its ``dt`` may depend on it)."""
        raise NotImplementedError

    def _fit_net(self, net_class, X, y, n_outputs, criterion):
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        seed = torch_seed(self.random_state)
        callbacks = list(self.callbacks or [])
        if self.lr_schedule == "cosine":
            callbacks.append(("lr_schedule", LRScheduler(
                "CosineAnnealingLR", T_max=max(int(self.max_iter), 1))))
        if self.gradient_clip is not None:
            callbacks.append(("clip", GradientNormClipping(self.gradient_clip)))
        train_split = None
        if self.early_stopping:
            train_split = ValidSplit(0.1, stratified=net_class is NeuralNetClassifier,
                                     random_state=seed)
            callbacks.append(("early_stopping", EarlyStopping(
                patience=int(self.early_stopping), load_best=True)))
        if self.verbose:
            callbacks.append(("progress", ProgressBar()))
        guard = DivergenceGuard()
        callbacks.append(("divergence_guard", guard))
        extra = {"classes": np.arange(n_outputs)} if net_class is NeuralNetClassifier else {}
        with seeded(seed, device), thread_budget():
            cell = self._make_cell(X.shape[1])
            module = SequenceNetwork(cell, X.shape[2], n_outputs, self._sequence_output)
            module = module.to(dtype=dtype)
            self.net_ = net_class(
                module, criterion=criterion, optimizer=torch.optim.Adam,
                lr=self.learning_rate, max_epochs=self.max_iter,
                batch_size=self.batch_size, train_split=train_split,
                iterator_train__shuffle=True, device=str(device), callbacks=callbacks,
                verbose=self.verbose, **extra)
            if net_class is NeuralNetRegressor:
                y = torch.tensor(y, dtype=dtype)
            self.net_.fit(torch.tensor(X, dtype=dtype), y)
        self.dt_ = getattr(cell, "dt", None)
        return finish_training(self, guard, self.max_iter)

    def _net_input(self, X):
        check_is_fitted(self, "net_")
        X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X")
        name = type(self).__name__
        if X.ndim == 2 and self._fitted_2d and X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features, but {name} is expecting "
                             f"{self.n_features_in_} features as input (time steps of a "
                             "univariate sequence)")
        X = as_sequences(X)
        per_step = 1 if self._fitted_2d else self.n_features_in_
        if X.shape[2] != per_step:
            raise ValueError(f"X has {X.shape[2]} features per time step, but {name} is "
                             f"expecting {per_step}")
        return torch.tensor(X, dtype=resolve_dtype(self.dtype))

    def _forward64(self, X, batch_size=4096):
        """The trained network's outputs in float64 (eval mode: no training noise), so a
        row's prediction does not depend on which other rows share its batch."""
        X = self._net_input(X).double()
        module = copy.deepcopy(self.net_.module_).double().eval()
        device = next(module.parameters()).device
        with torch.no_grad():
            return torch.cat([module(X[i:i + batch_size].to(device)).cpu()
                              for i in range(0, len(X), batch_size)])

    def _validate_X(self, X):
        """Validate at fit; ``n_features_in_`` is the columns of a 2-D ``X`` (sequences of
        that length) or the features per step of a 3-D one (any length)."""
        X = check_array(X, allow_nd=True, dtype=np.float64, input_name="X")
        self._fitted_2d = X.ndim == 2
        if X.ndim == 3:
            validate_data(self, X.reshape(len(X), -1))
            self.n_features_in_ = X.shape[2]
        else:
            X = validate_data(self, X)
        return as_sequences(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags


_REGRESSOR_CONSTRAINTS = {"sequence_output": ["boolean"]}


def _require_y(estimator, y):
    if y is None:
        raise ValueError(f"{type(estimator).__name__} requires y to be passed, but the "
                         "target y is None")


def _common_doc(batch_size):
    return f"""
    max_iter : int, default=60
        Passes over the data. The defaults (128 units, 60 epochs) reach 97-98 % on
        sklearn's digits read by rows and 95-98 % read pixel by pixel, in one to two
        minutes on two cores (``benchmarks/bench_recurrent.py defaults``).
    batch_size : int, default={batch_size}
    learning_rate : float, default=3e-3
        Adam's initial step size.
    lr_schedule : {{"cosine", "constant"}}, default="cosine"
        ``"cosine"`` anneals the step size to 0 over ``max_iter`` (the final weights
        stop drifting with the last mini-batches); ``"constant"`` keeps it.
    gradient_clip : float or None, default=1.0
        Largest gradient norm (skorch's ``GradientNormClipping``); None turns it off.
    early_stopping : int or False, default=False
        Patience in epochs: hold out 10 % for validation and stop when its loss has not
        improved for that many epochs, restoring the best epoch's parameters.
    callbacks : list or None, default=None
        Extra skorch callbacks.
    dtype : {{"float32", "float64"}}, default="float32"
        Precision of the network and of training (predictions are computed in float64).
    device : str, default="cpu"
    random_state : int, RandomState instance or None, default=None
        Seeds the initialization, the mini-batch order, the validation split of
        ``early_stopping`` and the training noise.
    verbose : int, default=0
        ``1`` shows skorch's progress bar and epoch table.
"""


_COMMON_DOC = _common_doc(64)
_LIPSCHITZ_COMMON_DOC = _common_doc(32)


class _Classifier(ClassifierMixin, _RecurrentEstimator):

    def fit(self, X, y):
        """Train on sequences ``X`` and labels ``y`` (any label type).

        Returns
        -------
        self
        """
        validate_params(self)
        _require_y(self, y)
        X = self._validate_X(X)
        y = column_or_1d(check_array(y, ensure_2d=False, dtype=None, input_name="y"),
                         warn=True)
        if len(y) != len(X):
            raise ValueError(f"y has {len(y)} labels for {len(X)} sequences")
        check_classification_targets(y)
        encoder = LabelEncoder().fit(y)
        self.classes_ = encoder.classes_
        return self._fit_net(NeuralNetClassifier, X, encoder.transform(y).astype(np.int64),
                             len(self.classes_), torch.nn.CrossEntropyLoss)

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
        validate_params(self)
        _require_y(self, y)
        X = self._validate_X(X)
        y = check_array(y, ensure_2d=False, allow_nd=True, dtype=np.float64, input_name="y")
        if len(y) != len(X) or y.ndim > 3:
            raise ValueError(f"y must have one row per sequence; got {y.shape} for "
                             f"{len(X)} sequences")
        self._y_shape = y.shape[1:]
        self._sequence_output = y.ndim == 3 or (y.ndim == 2 and bool(self.sequence_output))
        if self._sequence_output and y.shape[1] != X.shape[1]:
            raise ValueError(f"sequence-to-sequence y has {y.shape[1]} steps, X has "
                             f"{X.shape[1]}")
        if self._sequence_output:
            target = y if y.ndim == 3 else y[:, :, None]
        else:
            target = y.reshape(len(y), -1)
        n_outputs = target.shape[-1]
        return self._fit_net(NeuralNetRegressor, X, target, n_outputs, torch.nn.MSELoss)

    def predict(self, X):
        """Predictions shaped like the ``y`` the estimator was fitted on."""
        out = self._forward64(X).numpy()
        return out.reshape((len(out),) + self._y_shape)


class LEMClassifier(_Classifier):
    __doc__ = """Long Expressive Memory classifier (Rusch, Mishra, Erichson, Mahoney 2022).

    A multiscale ODE discretization with learned per-unit time steps; the class is read
    from the last hidden state.

    Parameters
    ----------
    hidden_size : int, default=128
    dt : float, default=1.0
        The largest time step; each unit's step is ``dt`` times a learned gate in (0, 1).
    """ + _COMMON_DOC + """
    Attributes
    ----------
    classes_ : ndarray
    net_ : skorch.NeuralNetClassifier
    history_ : dict of list
        One entry per finished epoch: ``"epoch"``, ``"train_loss"``, ``"dur"`` (seconds),
        ``"valid_loss"`` with ``early_stopping``, and skorch's ``*_best`` flags.
    n_iter_ : int
        Epochs completed.
    stopped_ : str or None
        ``"diverged"`` (a non-finite training loss) or ``"interrupted"`` (Ctrl-C) when
        training ended early — a warning says so and the parameters of the best epoch are
        kept — else None (early stopping is not an interruption).
    n_features_in_ : int
        Features per time step.
    dt_ : float or None
        The time step the cell used (``dt``, or what ``"auto"`` resolved to); None for a
        cell without one.

    Examples
    --------
    The bare call on sklearn's digits read row by row (8 steps of 8 pixels), about 20 s
    on two cores:

    >>> from sklearn.model_selection import train_test_split
    >>> from physml import LEMClassifier
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits(by_rows=True)
    >>> X.shape
    (1797, 8, 8)
    >>> X_train, X_test, y_train, y_test = train_test_split(
    ...     X, y, test_size=0.25, stratify=y, random_state=0)
    >>> est = LEMClassifier(random_state=0).fit(X_train, y_train)
    >>> est.score(X_test, y_test) >= 0.97
    True
    """

    def __init__(self, *, hidden_size=128, dt=1.0, max_iter=60, batch_size=64,
                 learning_rate=3e-3, lr_schedule="cosine", gradient_clip=1.0,
                 early_stopping=False, callbacks=None, dtype="float32", device="cpu",
                 random_state=None, verbose=0):
        self.hidden_size = hidden_size
        self.dt = dt
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _make_cell(self, n_timesteps):
        return LEMCell(int(self.hidden_size), float(self.dt))


class LEMRegressor(_Regressor):
    __doc__ = """Long Expressive Memory regressor: sequence to one or sequence to sequence.

    Parameters
    ----------
    hidden_size : int, default=128
    dt : float, default=1.0
    sequence_output : bool, default=False
        With a 2-D ``y`` of shape ``(n, T)``: read it as one target per time step (True)
        or as ``T`` targets of the last step (False). A 3-D ``y`` is always per step.
    """ + _COMMON_DOC + """
    Examples
    --------
    >>> from physml import LEMRegressor
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=512, n_timesteps=20, random_state=0)
    >>> est = LEMRegressor(hidden_size=32, max_iter=3, random_state=0).fit(X, y)
    >>> est.predict(X[:4]).shape
    (4,)
    """

    _parameter_constraints = {**_RecurrentEstimator._parameter_constraints,
                              **_REGRESSOR_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt=1.0, sequence_output=False, max_iter=60,
                 batch_size=64, learning_rate=3e-3, lr_schedule="cosine", gradient_clip=1.0,
                 early_stopping=False, callbacks=None, dtype="float32", device="cpu",
                 random_state=None, verbose=0):
        self.hidden_size = hidden_size
        self.dt = dt
        self.sequence_output = sequence_output
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    def _make_cell(self, n_timesteps):
        return LEMCell(int(self.hidden_size), float(self.dt))


_LIPSCHITZ_DOC = """
    hidden_size : int, default=128
    dt : float or "auto", default="auto"
        The step ``epsilon`` of the discretization. ``"auto"`` makes a sequence span a
        time of 16 whatever its length: ``16 / n_timesteps``, at most 2 (digits by rows,
        8 steps: 2.0; by pixels, 64 steps: 0.25; sequential MNIST, 784 steps: 0.02, near
        the published 0.03). The step used is ``dt_``.
    beta : float, default=0.75
        Mix of the skew-symmetric and symmetric parts of ``A`` and ``W``.
    gamma_a, gamma_w : float, default=0.001
        Diagonal shifts of ``A`` and ``W``.
    integrator : {"euler", "rk2"}, default="euler"
        The step (any name of :mod:`physml.integrators`, or a ``ButcherTableau``)."""


#: ``dt="auto"``: the sequence spans this much time, whatever its length.
_LIPSCHITZ_SPAN = 16.0


def _lipschitz_step(dt, n_timesteps):
    """``dt``, or for ``"auto"`` a step that makes a sequence of ``n_timesteps`` span
    ``_LIPSCHITZ_SPAN`` (at most 2: an Euler step on the skew-symmetric part of ``A``
    grows the state by ``sqrt(1 + (omega dt)^2)``)."""
    if dt != "auto":
        return float(dt)
    return min(_LIPSCHITZ_SPAN / max(int(n_timesteps), 1), 2.0)


class _LipschitzRNN:
    """The cell of the Lipschitz and Noisy RNN estimators, and their parameters."""

    _parameter_constraints = {
        **_RecurrentEstimator._parameter_constraints,
        "dt": [AUTO_OPTION, reals(0, closed="neither")],
        "beta": [reals(0, 1, closed="both")],
        "gamma_a": [reals(0)],
        "gamma_w": [reals(0)],
        "integrator": integrator_constraint(),
    }

    def _make_cell(self, n_timesteps):
        return LipschitzCell(int(self.hidden_size), _lipschitz_step(self.dt, n_timesteps),
                             self.beta, self.gamma_a, self.gamma_w, self.integrator,
                             getattr(self, "additive_noise", 0.0),
                             getattr(self, "multiplicative_noise", 0.0))


_NOISE_CONSTRAINTS = {"additive_noise": [reals(0)], "multiplicative_noise": [reals(0)]}
class LipschitzRNNClassifier(_LipschitzRNN, _Classifier):
    __doc__ = """Lipschitz RNN classifier (Erichson et al., ICLR 2021).

    ``h' = A h + tanh(W h + U x + b)`` with ``A``, ``W`` built from a skew-symmetric and a
    symmetric part (well-behaved eigenvalues), one ``integrator`` step per input.

    Parameters
    ----------""" + _LIPSCHITZ_DOC + _LIPSCHITZ_COMMON_DOC + """
    Examples
    --------
    The bare call, ``LipschitzRNNClassifier(random_state=0)``, reaches 97.8 % on the
    held-out quarter of the digits read by rows and 97.6 % read by pixels
    (``benchmarks/bench_recurrent.py defaults``); a quicker fit:

    >>> from physml import LipschitzRNNClassifier
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits(by_rows=True)
    >>> est = LipschitzRNNClassifier(max_iter=20, random_state=0).fit(X[:1200], y[:1200])
    >>> est.dt_  # "auto": 16 / 8 steps
    2.0
    >>> est.score(X[1200:], y[1200:]) > 0.9
    True
    """

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler",
                 max_iter=60, batch_size=32, learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False, callbacks=None,
                 dtype="float32", device="cpu", random_state=None, verbose=0):
        self.hidden_size = hidden_size
        self.dt = dt
        self.beta = beta
        self.gamma_a = gamma_a
        self.gamma_w = gamma_w
        self.integrator = integrator
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class LipschitzRNNRegressor(_LipschitzRNN, _Regressor):
    __doc__ = """Lipschitz RNN regressor: sequence to one or sequence to sequence.

    Parameters
    ----------""" + _LIPSCHITZ_DOC + """
    sequence_output : bool, default=False
        See :class:`LEMRegressor`.""" + _LIPSCHITZ_COMMON_DOC + """
    Examples
    --------
    >>> from physml import LipschitzRNNRegressor
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=256, n_timesteps=10, random_state=0)
    >>> LipschitzRNNRegressor(max_iter=2, random_state=0).fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {**_LipschitzRNN._parameter_constraints,
                              **_REGRESSOR_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler", sequence_output=False,
                 max_iter=60, batch_size=32, learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False, callbacks=None,
                 dtype="float32", device="cpu", random_state=None, verbose=0):
        self.hidden_size = hidden_size
        self.dt = dt
        self.beta = beta
        self.gamma_a = gamma_a
        self.gamma_w = gamma_w
        self.integrator = integrator
        self.sequence_output = sequence_output
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class NoisyRNNClassifier(_LipschitzRNN, _Classifier):
    __doc__ = """Noisy RNN classifier (Lim, Erichson, Hodgkinson, Mahoney, NeurIPS 2021).

    The Lipschitz RNN's field ``f`` driven by noise while training,
    ``dh = f(h, x) dt + (additive + multiplicative * f(h, x)) dB``, stepped by
    Euler-Maruyama; at prediction the noise is off (the deterministic Euler step). The
    noise acts as an implicit regularizer that makes the classifier robust to input
    perturbations.

    Parameters
    ----------""" + _LIPSCHITZ_DOC + """
    additive_noise : float, default=0.05
    multiplicative_noise : float, default=0.02""" + _LIPSCHITZ_COMMON_DOC + """
    Examples
    --------
    The bare call, ``NoisyRNNClassifier(random_state=0)``, reaches 97.6 % on the
    held-out quarter of the digits read by rows (``benchmarks/bench_recurrent.py
    defaults``); a quicker fit:

    >>> from physml import NoisyRNNClassifier
    >>> from physml.datasets import load_sequential_digits
    >>> X, y = load_sequential_digits(by_rows=True)
    >>> est = NoisyRNNClassifier(max_iter=20, random_state=0).fit(X[:1200], y[:1200])
    >>> est.score(X[1200:], y[1200:]) > 0.9
    True
    """

    _parameter_constraints = {**_LipschitzRNN._parameter_constraints, **_NOISE_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler", additive_noise=0.05,
                 multiplicative_noise=0.02,
                 max_iter=60, batch_size=32, learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False, callbacks=None,
                 dtype="float32", device="cpu", random_state=None, verbose=0):
        self.hidden_size = hidden_size
        self.dt = dt
        self.beta = beta
        self.gamma_a = gamma_a
        self.gamma_w = gamma_w
        self.integrator = integrator
        self.additive_noise = additive_noise
        self.multiplicative_noise = multiplicative_noise
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose


class NoisyRNNRegressor(_LipschitzRNN, _Regressor):
    __doc__ = """Noisy RNN regressor: sequence to one or sequence to sequence, trained with
    the noise of :class:`NoisyRNNClassifier` (off at prediction).

    Parameters
    ----------""" + _LIPSCHITZ_DOC + """
    additive_noise : float, default=0.05
    multiplicative_noise : float, default=0.02
    sequence_output : bool, default=False
        See :class:`LEMRegressor`.""" + _LIPSCHITZ_COMMON_DOC + """
    Examples
    --------
    >>> from physml import NoisyRNNRegressor
    >>> from physml.datasets import make_adding_problem
    >>> X, y = make_adding_problem(n_samples=256, n_timesteps=10, random_state=0)
    >>> NoisyRNNRegressor(max_iter=2, random_state=0).fit(X, y).predict(X[:3]).shape
    (3,)
    """

    _parameter_constraints = {**_LipschitzRNN._parameter_constraints, **_NOISE_CONSTRAINTS,
                              **_REGRESSOR_CONSTRAINTS}

    def __init__(self, *, hidden_size=128, dt="auto", beta=0.75, gamma_a=0.001,
                 gamma_w=0.001, integrator="euler", additive_noise=0.05,
                 multiplicative_noise=0.02, sequence_output=False,
                 max_iter=60, batch_size=32, learning_rate=3e-3, lr_schedule="cosine",
                 gradient_clip=1.0, early_stopping=False, callbacks=None,
                 dtype="float32", device="cpu", random_state=None, verbose=0):
        self.hidden_size = hidden_size
        self.dt = dt
        self.beta = beta
        self.gamma_a = gamma_a
        self.gamma_w = gamma_w
        self.integrator = integrator
        self.additive_noise = additive_noise
        self.multiplicative_noise = multiplicative_noise
        self.sequence_output = sequence_output
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.lr_schedule = lr_schedule
        self.gradient_clip = gradient_clip
        self.early_stopping = early_stopping
        self.callbacks = callbacks
        self.dtype = dtype
        self.device = device
        self.random_state = random_state
        self.verbose = verbose
