"""ContinuousNetClassifier: a ResNet whose weights are functions of depth.

Queiruga, Erichson, Taylor, Mahoney (2020): a residual network ``h_{k+1} = h_k + f(h_k,
theta_k)`` is the forward-Euler discretization of ``dh/dt = f(h, theta(t))`` on
``t in [0, 1]``. ContinuousNet makes that explicit: the block's weights ``theta(t)`` are
expanded in basis functions of depth, and the forward pass integrates the ODE with any
explicit Runge-Kutta scheme (:mod:`physml.integrators`) and any number of steps. The same
trained model can then be run with more or fewer steps, another scheme, or (after an L2
projection) fewer basis functions, without retraining.
"""

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import ClassifierMixin
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from skorch import NeuralNetClassifier

from ._base import (
    check_integer,
    clear_fitted,
    integers,
    reals,
    resolve_device,
    resolve_dtype,
    seeded,
    store_params,
    torch_seed,
    validate_params,
)
from ._checkpoint import checked_seed, open_checkpoint
from ._skorch import TRAINING_CONSTRAINTS, SkorchEstimator, training_doc
from ._threads import estimator_threads, thread_budget
from .integrators import integrate, integrator_constraint, resolve_integrator

__all__ = ["ContinuousNetClassifier", "ContinuousNet"]

BASES = ("piecewise_constant", "piecewise_linear")


# ------------------------------------------------------------------------------------------
# Basis functions of depth


def check_basis(basis, n_basis):
    if basis not in BASES:
        raise ValueError(f"basis={basis!r} is not supported; choose one of {BASES}")
    minimum = 2 if basis == "piecewise_linear" else 1
    return check_integer("n_basis", n_basis, minimum)


def breakpoints(basis, n_basis):
    """Where the basis functions' pieces meet, on ``[0, 1]``."""
    n = n_basis if basis == "piecewise_constant" else n_basis - 1
    return np.linspace(0.0, 1.0, n + 1)


def basis_values(basis, n_basis, t):
    """``phi_k(t)`` for each ``t``: an array of shape ``(len(t), n_basis)``.

    Piecewise constant: ``n_basis`` pieces ``[k/n, (k+1)/n)`` (the last one closed).
    Piecewise linear: hat functions on ``n_basis`` equally spaced nodes ``k / (n - 1)``.
    """
    t = np.clip(np.atleast_1d(np.asarray(t, dtype=float)), 0.0, 1.0)
    out = np.zeros((t.size, n_basis))
    rows = np.arange(t.size)
    if basis == "piecewise_constant":
        out[rows, np.minimum((t * n_basis).astype(int), n_basis - 1)] = 1.0
    else:
        s = t * (n_basis - 1)
        left = np.minimum(np.floor(s).astype(int), n_basis - 2)
        w = s - left
        out[rows, left] = 1.0 - w
        out[rows, left + 1] = w
    return out


def projection_matrix(basis, n_basis, new_basis, new_n):
    """``P`` with ``theta_new = P @ theta`` the L2 projection onto the new basis.

    ``M c = b`` with ``M_ij = int phi'_i phi'_j`` and ``b_i = int phi'_i theta``, integrated
    exactly by 3-point Gauss-Legendre quadrature on every interval between the two bases'
    breakpoints (the integrands are polynomials of degree at most 2 there). Onto a finer
    basis that contains the old one (refinement) this reproduces the function exactly.
    """
    edges = np.union1d(breakpoints(basis, n_basis), breakpoints(new_basis, new_n))
    nodes, weights = np.polynomial.legendre.leggauss(3)
    a, b = edges[:-1, None], edges[1:, None]
    t = (0.5 * (b - a) * nodes + 0.5 * (a + b)).ravel()
    w = (0.5 * (b - a) * weights).ravel()
    old = basis_values(basis, n_basis, t)
    new = basis_values(new_basis, new_n, t)
    mass = new.T @ (w[:, None] * new)
    return np.linalg.solve(mass, new.T @ (w[:, None] * old))


class DepthParameter(torch.nn.Module):
    """A tensor-valued function of depth ``theta(t) = sum_k phi_k(t) theta_k``."""

    def __init__(self, basis, n_basis, shape, init):
        super().__init__()
        self.basis, self.n_basis = basis, n_basis
        # The same draw for every basis function: the weights start constant in depth, so
        # training leaves them a smooth function of depth that projection can compress.
        self.coefficients = torch.nn.Parameter(
            init(torch.empty(shape)).expand((n_basis,) + tuple(shape)).clone())

    def forward(self, t):
        phi = basis_values(self.basis, self.n_basis, t)[0]
        nonzero = np.flatnonzero(phi)
        out = self.coefficients[nonzero[0]] * float(phi[nonzero[0]])
        for k in nonzero[1:]:
            out = out + self.coefficients[k] * float(phi[k])
        return out

    def reexpand(self, basis, n_basis):
        """Replace the coefficients by the L2 projection onto another basis."""
        P = torch.as_tensor(projection_matrix(self.basis, self.n_basis, basis, n_basis),
                            dtype=self.coefficients.dtype, device=self.coefficients.device)
        with torch.no_grad():
            flat = self.coefficients.reshape(self.n_basis, -1)
            new = (P @ flat).reshape((n_basis,) + tuple(self.coefficients.shape[1:]))
        self.coefficients = torch.nn.Parameter(new.contiguous())
        self.basis, self.n_basis = basis, n_basis


# ------------------------------------------------------------------------------------------
# The network


def _kaiming(fan_in):
    bound = 1.0 / np.sqrt(fan_in)
    return lambda tensor: torch.nn.init.uniform_(tensor, -bound, bound)


class ContinuousBlock(torch.nn.Module):
    """``dh/dt = f(h, theta(t))``: a pre-activation residual unit with depth-varying weights.

    ``f = W2(t) * relu(norm(W1(t) * relu(norm(h))))``, where ``*`` is a 3 x 3 convolution
    (images) or a matrix product (dense). The normalizations have no running statistics and
    no affine part (group norm, layer norm), so ``f`` is well defined at any depth ``t``.
    """

    def __init__(self, width, basis, n_basis, conv):
        super().__init__()
        self.conv = conv
        shape = (width, width, 3, 3) if conv else (width, width)
        fan_in = width * (9 if conv else 1)
        self.weights = torch.nn.ModuleList(
            [DepthParameter(basis, n_basis, shape, _kaiming(fan_in)) for _ in range(2)])
        self.biases = torch.nn.ModuleList(
            [DepthParameter(basis, n_basis, (width,), _kaiming(fan_in)) for _ in range(2)])
        self.groups = next(g for g in (8, 4, 2, 1) if width % g == 0)

    def _norm(self, h):
        if self.conv:
            return F.group_norm(h, self.groups)
        return F.layer_norm(h, h.shape[-1:])

    def forward(self, t, h):
        for weight, bias in zip(self.weights, self.biases):
            h = F.relu(self._norm(h))
            if self.conv:
                h = F.conv2d(h, weight(t), bias(t), padding=1)
            else:
                h = F.linear(h, weight(t), bias(t))
        return h

    def reexpand(self, basis, n_basis):
        for parameter in [*self.weights, *self.biases]:
            parameter.reexpand(basis, n_basis)


class ContinuousNet(torch.nn.Module):
    """Stem, one continuous block integrated over depth ``[0, 1]``, and a linear head."""

    def __init__(self, in_shape, n_classes, width, basis, n_basis):
        super().__init__()
        self.conv = len(in_shape) == 3
        if self.conv:
            self.stem = torch.nn.Conv2d(in_shape[0], width, 3, padding=1)
        else:
            self.stem = torch.nn.Linear(in_shape[0], width)
        self.block = ContinuousBlock(width, basis, n_basis, self.conv)
        # Images: average-pool to at most 4 x 4 and keep the layout (a global average would
        # throw away where the strokes are, which small images such as digits need).
        self.pooled = (min(in_shape[1], 4), min(in_shape[2], 4)) if self.conv else None
        features = width * (self.pooled[0] * self.pooled[1] if self.conv else 1)
        self.head = torch.nn.Linear(features, n_classes)
        self.n_steps, self.tableau = 1, resolve_integrator("euler")

    def forward(self, x):
        h = self.stem(x)
        h = integrate(self.block, h, 1.0 / self.n_steps, self.n_steps, self.tableau)
        h = F.relu(self.block._norm(h))
        if self.conv:
            h = F.adaptive_avg_pool2d(h, self.pooled).flatten(1)
        return self.head(h)


# ------------------------------------------------------------------------------------------
# The estimator


class ContinuousNetClassifier(ClassifierMixin, SkorchEstimator):
    __doc__ = """Continuous-in-depth residual network classifier (ContinuousNet).

    The network is a stem (a 3 x 3 convolution for images, a linear layer for tabular
    data), one continuous block ``dh/dt = f(h, theta(t))`` on depth ``t in [0, 1]`` whose
    weights ``theta(t)`` are expanded in ``n_basis`` basis functions, integrated with
    ``n_steps`` steps of ``integrator``, and a linear head (on the feature maps average-
    pooled to at most 4 x 4 for images). ``f`` is a pre-activation residual unit (norm,
    ReLU, conv/linear, twice), with group/layer normalization that is the same function at
    every depth.

    After fitting, :meth:`refine` doubles the basis (the same function), :meth:`project`
    L2-projects the weights onto a smaller basis, and ``set_params(n_steps=...,
    integrator=...)`` changes the integration: all without retraining.

    Training runs through skorch (``NeuralNetClassifier``, held in ``net_``): AdamW with a
    cosine learning-rate schedule, mini-batches, its history and progress bar.

    Parameters
    ----------
    basis : {"piecewise_constant", "piecewise_linear"}, default="piecewise_constant"
        Basis functions of depth: ``n_basis`` constant pieces, or hat functions on
        ``n_basis`` equally spaced nodes.
    n_basis : int, default=8
    n_steps : int, default=8
        Integration steps over depth ``[0, 1]`` (the number of residual units).
    integrator : str or ButcherTableau, default="rk4"
        Any scheme of :mod:`physml.integrators` (``"euler"`` is a plain ResNet).
    channels : int, default=8
        Width of the block: channels for images, units for tabular data.
    image_shape : tuple of int or None, default=None
        ``(C, H, W)`` to read flat rows of ``X`` as images (convolutional blocks). Four-
        dimensional ``X`` of shape ``(n, C, H, W)`` is read as images without it; otherwise
        ``X`` is tabular (dense blocks).
    weight_decay : float, default=1e-4
        AdamW's weight decay.""" + training_doc(15, 32, 3e-3, None) + """
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
    net_ : skorch.NeuralNetClassifier
        The trained network (``net_.module_`` is the :class:`ContinuousNet`).
    history_ : dict of list
        One entry per finished epoch: ``"loss"`` (the training loss), ``"epoch"``,
        ``"train_loss"``, ``"dur"`` (seconds)
        and skorch's ``*_best`` flags.
    n_iter_ : int
        Epochs run.
    stopped_ : str or None
        ``"diverged"``, ``"interrupted"`` or ``"callback"`` when training ended early.
    n_features_in_ : int

    References
    ----------
    .. [1] A. F. Queiruga, N. B. Erichson, D. Taylor, M. W. Mahoney, "Continuous-in-depth
       neural networks", arXiv:2008.02389 (2020).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from physml import ContinuousNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> est = ContinuousNetClassifier(image_shape=(1, 8, 8), n_basis=4, n_steps=2,
    ...                               max_iter=3, random_state=0).fit(X[:600], y[:600])
    >>> est.score(X[600:900], y[600:900]) > 0.8
    True
    >>> before = est.predict_proba(X[:5])
    >>> bool(np.allclose(est.refine().predict_proba(X[:5]), before, atol=1e-5))
    True
    >>> est.n_basis
    8
    >>> est.set_params(n_steps=8).score(X[600:900], y[600:900]) > 0.8
    True
    """

    _parameter_constraints = {
        "basis": [StrOptions(set(BASES))],
        "n_basis": [integers(1)],
        "n_steps": [integers(1)],
        "integrator": integrator_constraint(),
        "channels": [integers(1)],
        "image_shape": [tuple, list, None],
        "weight_decay": [reals(0)],
        **TRAINING_CONSTRAINTS,
    }

    def __init__(self, *, basis="piecewise_constant", n_basis=8, n_steps=8, integrator="rk4",
                 channels=8, image_shape=None, max_iter=15, batch_size=32,
                 learning_rate=3e-3, weight_decay=1e-4, lr_schedule="cosine",
                 gradient_clip=None, early_stopping=False, validation_fraction=0.1,
                 callbacks=None, dtype="float32", device="cpu", n_jobs=None, random_state=None,
                 verbose=0, warm_start=False, checkpoint=None, checkpoint_every=60.0):
        store_params(self, locals())

    # -- fitting ---------------------------------------------------------------------------

    def fit(self, X, y):
        """Train on ``X`` (images or tabular rows) and labels ``y`` (any label type).

        Returns
        -------
        self : ContinuousNetClassifier
        """
        validate_params(self)
        check_basis(self.basis, self.n_basis)
        start = self._warm_start_from()
        clear_fitted(self)
        X, y = validate_data(self, X, y, allow_nd=True, dtype=np.float64)
        check_classification_targets(y)
        self._encoder_ = LabelEncoder().fit(y)
        self.classes_ = self._encoder_.classes_
        targets = self._encoder_.transform(y).astype(np.int64)
        X = self._shaped(X)
        self._sample_shape_ = X.shape[1:]
        axes = (0, 2, 3) if X.ndim == 4 else (0,)
        self._center_ = X.mean(axis=axes, keepdims=True)[0]
        self._scale_ = X.std(axis=axes, keepdims=True)[0]
        self._scale_[self._scale_ < 1e-12] = 1.0
        device, dtype = resolve_device(self.device), resolve_dtype(self.dtype)
        checkpoint = open_checkpoint(self, X, targets, start=None if start is None else
                                     list(start.state_dict().values()))
        seed = checked_seed(checkpoint, torch_seed(self.random_state))
        with seeded(seed, device), thread_budget(self.n_jobs, follow=False):
            module = ContinuousNet(X.shape[1:], len(self.classes_), self.channels, self.basis,
                                   self.n_basis).to(dtype=dtype)
            self.net_, guard = self._skorch_net(
                NeuralNetClassifier, module, seed, stratified=True,
                optimizer=torch.optim.AdamW, criterion=torch.nn.CrossEntropyLoss,
                optimizer__weight_decay=self.weight_decay,
                classes=np.arange(len(self.classes_)))
            self._train_net(guard, self._standardized(X, dtype), targets, self.max_iter,
                            checkpoint, start,
                            configure=self._configure)
        return self

    def _shaped(self, X):
        if X.ndim == 4:
            return X
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (rows, or flat images with image_shape) or 4-D "
                             f"(n, C, H, W); got {X.ndim} dimensions")
        if self.image_shape is None:
            return X
        shape = tuple(int(s) for s in self.image_shape)
        if len(shape) != 3 or int(np.prod(shape)) != X.shape[1]:
            raise ValueError(f"image_shape={self.image_shape!r} must be (C, H, W) with "
                             f"C * H * W = {X.shape[1]} (the number of columns of X)")
        return X.reshape((X.shape[0],) + shape)

    def _standardized(self, X, dtype):
        return torch.as_tensor((X - self._center_) / self._scale_, dtype=dtype)

    def _configure(self):
        """Put ``n_steps`` and ``integrator`` (which may change after fit) on the module."""
        module = self.net_.module_
        check_integer("n_steps", self.n_steps, 1)
        module.n_steps = int(self.n_steps)
        module.tableau = resolve_integrator(self.integrator)
        if (self.basis, self.n_basis) != (module.block.weights[0].basis,
                                          module.block.weights[0].n_basis):
            raise ValueError(
                f"basis={self.basis!r}, n_basis={self.n_basis} differ from the fitted "
                f"network's ({module.block.weights[0].basis!r}, "
                f"{module.block.weights[0].n_basis}); change them with refine() or "
                "project(), not set_params")
        return module

    # -- prediction ------------------------------------------------------------------------

    def predict_proba(self, X):
        """Class probabilities, integrating with the current ``n_steps`` and ``integrator``.

        Returns
        -------
        ndarray of shape (n_samples, n_classes)
        """
        check_is_fitted(self, "net_")
        X = validate_data(self, X, reset=False, allow_nd=True, dtype=np.float64)
        X = self._shaped(X)
        if X.shape[1:] != self._sample_shape_:
            raise ValueError(f"X has samples of shape {X.shape[1:]}, the fit had "
                             f"{self._sample_shape_}")
        module = self._configure()
        dtype = next(module.parameters()).dtype
        with estimator_threads(self):
            p = self.net_.predict_proba(self._standardized(X, dtype)).astype(np.float64)
        return p / p.sum(axis=1, keepdims=True)  # exact in float64 (the net may be float32)

    def predict(self, X):
        """Predicted labels.

        Returns
        -------
        ndarray of shape (n_samples,)
        """
        check_is_fitted(self, "net_")
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    # -- changing the graph without retraining --------------------------------------------

    def refine(self):
        """Double the basis: ``2 n`` constant pieces, or ``2 n - 1`` hat functions (midpoints
        inserted). The weights are the same function of depth, so predictions do not change.

        Returns
        -------
        self
        """
        n = 2 * self.n_basis if self.basis == "piecewise_constant" else 2 * self.n_basis - 1
        return self.project(n)

    def project(self, n_basis, basis=None):
        """L2-project the weights onto ``n_basis`` functions of ``basis`` (the current kind
        by default): fewer parameters, no retraining. Exact when the weights already lie in
        the new space.

        Returns
        -------
        self
        """
        check_is_fitted(self, "net_")
        basis = self.basis if basis is None else basis
        n_basis = check_basis(basis, n_basis)
        self.net_.module_.block.reexpand(basis, n_basis)
        self.basis, self.n_basis = basis, n_basis
        # The optimizer held the old parameter tensors; a later partial_fit needs new ones.
        self.net_.initialize_optimizer()
        return self

    def n_parameters(self):
        """Number of trained parameters of the network as it is now."""
        check_is_fitted(self, "net_")
        return int(sum(p.numel() for p in self.net_.module_.parameters()))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags
