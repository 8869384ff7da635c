"""Fully connected networks and their input derivatives, with a hand-written backward pass.

A PINN loss needs the network's value *and* its derivatives with respect to the inputs
(``u_t``, ``u_x``, ``u_xx``), and then the gradient of that loss with respect to the weights.
The plain PyTorch way differentiates twice through autograd (``autograd.grad`` with
``create_graph=True``, then ``backward``), which records and replays several dozen small
kernels per layer. Here the derivatives are propagated forward through the layers as
truncated Taylor series ("jets": value, first-order tangents, pure second-order terms) and
the weight gradient of anything computed from them is written out by hand, layer by layer,
so one evaluation is three matrix products and a few elementwise kernels per layer. The
result is checked against autograd in ``tests/test_mlp.py``.

For a layer ``a = s(z)``, ``z = W a_prev + b``, with tangent ``z1`` along coordinate i and
second-order term ``z2`` along the same coordinate::

    a1 = s'(z) z1
    a2 = s'(z) z2 + s''(z) z1^2

and, given the upstream gradients ``g_a, g_a1, g_a2``::

    g_z2 = s' g_a2
    g_z1 = s' g_a1 + 2 s'' z1 g_a2
    g_z  = s' g_a + s'' sum(z1 g_a1) + sum(g_a2 (s''' z1^2 + s'' z2))
"""

import contextvars
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ._base import column_totals
from ._threads import addmm, mm


def _tanh_slope(z):
    a = torch.tanh(z)
    return a, 1.0 - a * a


def _tanh_curvature(a, d1):
    return -2.0 * a * d1


def _tanh_third(a, d1):
    return -2.0 * d1 * (d1 - 2.0 * a * a)


def _sin_slope(z):
    return torch.sin(z), torch.cos(z)


def _sin_curvature(a, d1):
    return -a


def _sin_third(a, d1):
    return -d1


def _sigmoid_slope(z):
    a = torch.sigmoid(z)
    return a, a * (1.0 - a)


def _sigmoid_curvature(a, d1):
    return d1 * (1.0 - 2.0 * a)


def _sigmoid_third(a, d1):
    return d1 * (1.0 - 2.0 * a).square() - 2.0 * d1 * d1


class _Sine(nn.Module):
    def forward(self, z):
        return torch.sin(z)


@dataclass(frozen=True)
class Activation:
    """An activation s as data: its module, ``(s, s')`` from z, and the 2nd and 3rd derivatives.

    The higher derivatives are computed from ``s`` and ``s'`` (for tanh ``s'' = -2 s s'``), so
    the transcendental is evaluated once per layer, and the higher ones only on the rows that
    carry derivatives, and only when the derivatives asked for need them.
    """

    name: str
    module: Callable[[], nn.Module]
    slope: Callable
    curvature: Callable
    third: Callable


ACTIVATIONS = {
    "tanh": Activation("tanh", nn.Tanh, _tanh_slope, _tanh_curvature, _tanh_third),
    "sin": Activation("sin", _Sine, _sin_slope, _sin_curvature, _sin_third),
    "sigmoid": Activation(
        "sigmoid", nn.Sigmoid, _sigmoid_slope, _sigmoid_curvature, _sigmoid_third
    ),
}


def resolve_activation(name):
    """Return the :class:`Activation` called ``name`` or raise a ValueError naming the choices."""
    if isinstance(name, Activation):
        return name
    try:
        return ACTIVATIONS[name]
    except (KeyError, TypeError):
        raise ValueError(
            f"activation={name!r} is not supported; choose one of {sorted(ACTIVATIONS)}"
        ) from None


class MLP(nn.Module):
    """``n_in -> hidden... -> n_out`` with one activation, PyTorch's default initialization."""

    def __init__(self, n_in, hidden_layer_sizes, n_out, activation="tanh"):
        super().__init__()
        self.activation = resolve_activation(activation)
        sizes = [n_in, *hidden_layer_sizes, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        self.sigma = self.activation.module()

    def forward(self, X):
        for layer in self.layers[:-1]:
            X = self.sigma(layer(X))
        return self.layers[-1](X)

    def jet(self, X, n_derivative_rows, first, second=(), tangents=None):
        """Value on every row of ``X``, and input derivatives on its first rows.

        Parameters
        ----------
        X : tensor of shape (n_rows, n_in)
        n_derivative_rows : int
            Derivatives are computed for ``X[:n_derivative_rows]`` only.
        first : tuple of int
            Input coordinates whose first derivative is wanted.
        second : tuple of int
            Input coordinates whose pure second derivative is wanted (each also in ``first``).
        tangents : tuple of two tensors, optional
            Derivatives along curves other than the coordinate axes (the inputs are
            features of the coordinates): ``(T1, T2)``, ``T1`` of shape ``(len(first),
            n_derivative_rows, n_in)`` the features' first derivatives along each entry of
            ``first``, ``T2`` of shape ``(len(second), n_derivative_rows, n_in)`` their
            second derivatives along each entry of ``second``.

        Returns
        -------
        u : tensor of shape (n_rows, n_out)
        derivatives : tensor of shape (len(first) + len(second), n_derivative_rows, n_out)
            First the first derivatives in the order of ``first``, then the second ones.
        """
        first, second = tuple(first), tuple(second)
        if not set(second) <= set(first):
            raise ValueError("every coordinate in `second` must also be in `first`")
        capture = _CAPTURE.get()
        if capture is not None and capture.network is self:
            return capture.evaluate(X, n_derivative_rows, first, second, tangents)
        params = [p for layer in self.layers for p in (layer.weight, layer.bias)]
        # First derivatives alone: one reverse sweep gives all of them for one extra product
        # per layer, where forward tangents cost one product per coordinate.
        # (The reverse sweep is written for one output; several take forward tangents.)
        reverse = not second and self.layers[-1].out_features == 1
        if tangents is not None and reverse:
            # One reverse sweep gives the gradient along every input; the chain rule to
            # the coordinates is a product with the first-order tangents.
            u, D = _ReverseMLP.apply(X, int(n_derivative_rows), tuple(range(X.shape[1])), (),
                                     self.activation, None, *params)
            return u, torch.einsum("fn,knf->kn", D[..., 0], tangents[0]).unsqueeze(-1)
        function = _ReverseMLP if reverse else _TaylorMLP
        return function.apply(X, int(n_derivative_rows), first, second, self.activation,
                              tangents, *params)


class ModifiedMLP(nn.Module):
    """The modified MLP of Wang, Teng & Perdikaris (2021, "Understanding and mitigating
    gradient pathologies in physics-informed neural networks"): two encoders of the
    inputs, ``U = s(X W_u + b_u)`` and ``V = s(X W_v + b_v)``, and after every hidden
    layer ``h = s(a W + b)`` the gate ``a = h * U + (1 - h) * V``.

    Products of the inputs' features (``sin x`` times ``cos(k t)``: a travelling wave)
    are one gate away, where a plain tanh MLP builds them out of its curvature. The hidden
    layers must have one width (the gates mix them with the encoders).

    It has no hand-written :meth:`MLP.jet`: its input derivatives come through autograd
    (:func:`supports_jet` is False), which is faster here than propagating its jets
    forward with autograd writing their backward.
    """

    def __init__(self, n_in, hidden_layer_sizes, n_out, activation="tanh"):
        super().__init__()
        widths = set(hidden_layer_sizes)
        if len(widths) != 1:
            raise ValueError(
                "architecture='modified' gates every hidden layer with the same two "
                f"encoders: hidden_layer_sizes must have one width, got {hidden_layer_sizes}")
        self.activation = resolve_activation(activation)
        sizes = [n_in, *hidden_layer_sizes, n_out]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:]))
        width = widths.pop()
        self.encoders = nn.ModuleList([nn.Linear(n_in, width), nn.Linear(n_in, width)])
        self.sigma = self.activation.module()

    def forward(self, X):
        U, V = (self.sigma(encoder(X)) for encoder in self.encoders)
        gap = U - V
        a = X
        for layer in self.layers[:-1]:
            a = torch.addcmul(V, self.sigma(layer(a)), gap)
        return self.layers[-1](a)


def supports_jet(network):
    """Whether ``network.jet`` serves: a wrapper (:class:`Rescaled`, the exact-constraint
    model) has one when the network it wraps does."""
    if not hasattr(network, "jet"):
        return False
    inner = getattr(network, "network", None)
    return True if inner is None else supports_jet(inner)


def _taylor_forward(X, n_d, first, second, activation, tangents, weights, biases):
    """Value and jets of an MLP (the rows of :class:`_TaylorMLP`): ``(u, D, tape)``, the
    tape what :func:`_taylor_adjoint` needs."""
    n, k1 = X.shape[0], len(first)
    pos = [first.index(j) for j in second]
    k = k1 + len(pos)
    layers, inputs = [], [X]
    for index, (W, b) in enumerate(zip(weights[:-1], biases[:-1])):
        if index == 0:
            # The input tangent along coordinate i is the unit vector e_i: the first layer's
            # tangent is a column of W, the same on every row, and its second-order term 0.
            z = addmm(b, X, W.t())
            if tangents is None:
                T1_z = W.t()[list(first)].unsqueeze(1)
                T2_z = None
            else:
                T1_z = tangents[0] @ W.t()
                T2_z = tangents[1] @ W.t() if pos else None
        else:
            Z = mm(inputs[-1], W.t())
            z = Z[:n].add_(b)
            Tz = Z[n:].view(k, n_d, -1)
            T1_z, T2_z = Tz[:k1], Tz[k1:]
        A = torch.empty((n + k * n_d, z.shape[1]), dtype=z.dtype, device=z.device)
        a, d1 = activation.slope(z)
        A[:n] = a
        d1d = d1[:n_d]
        d2d = activation.curvature(a[:n_d], d1d)
        T = A[n:].view(k, n_d, -1)
        torch.mul(d1d, T1_z, out=T[:k1])
        T1_sq = None
        if pos:
            T1_sq = T1_z[pos].square()
            torch.mul(d2d, T1_sq, out=T[k1:])
            if T2_z is not None:
                T[k1:].addcmul_(d1d, T2_z)
        d3d = activation.third(a[:n_d], d1d) if pos else None
        layers.append((d1, d2d, d3d, T1_z, T2_z, T1_sq))
        inputs.append(A)
    W_o, b_o = weights[-1], biases[-1]
    U = mm(inputs[-1], W_o.t())
    u = U[:n].add_(b_o)
    D = U[n:].view(k, n_d, -1)
    tape = _TaylorTape(tuple(weights), layers, inputs, tuple(first), pos, int(n_d), tangents)
    return u, D, tape


@dataclass
class _TaylorTape:
    """What the adjoint of :func:`_taylor_forward` reads: the weights, per hidden layer the
    activation's derivatives and the tangents, every layer's stacked input rows."""

    weights: tuple
    layers: list
    inputs: list
    first: tuple
    pos: list
    n_d: int
    tangents: object


def _taylor_adjoint(tape, u_bar, D_bar):
    """The adjoint of :func:`_taylor_forward`, layer by layer from the output down: yields
    ``(index, Z_bar)``, the gradient of layer ``index``'s pre-activations on its stacked
    rows ``[values (n); stream 0 (n_d); ...]``. A layer's weight gradient is
    ``Z_bar^T`` times its stacked input rows (for the first layer, the stream rows'
    inputs are the tangents: unit vectors, or ``tape.tangents``), its bias gradient the
    sum of ``Z_bar``'s value rows."""
    weights, first, pos, n_d = tape.weights, tape.first, tape.pos, tape.n_d
    X = tape.inputs[0]
    n, k1 = X.shape[0], len(first)
    k = k1 + len(pos)
    U_bar = torch.zeros((n + k * n_d, weights[-1].shape[0]), dtype=X.dtype, device=X.device)
    if u_bar is not None:
        U_bar[:n] = u_bar
    if D_bar is not None:
        U_bar[n:] = D_bar.reshape(k * n_d, -1)
    yield len(weights) - 1, U_bar
    A_bar = mm(U_bar, weights[-1])
    for index in range(len(weights) - 2, -1, -1):
        d1, d2d, d3d, T1_z, T2_z, T1_sq = tape.layers[index]
        d1d = d1[:n_d]
        T_bar = A_bar[n:].view(k, n_d, -1)
        T1_a_bar, T2_a_bar = T_bar[:k1], T_bar[k1:]
        Z_bar = torch.empty_like(A_bar)
        z_bar = torch.mul(d1, A_bar[:n], out=Z_bar[:n])
        Tz_bar = Z_bar[n:].view(k, n_d, -1)
        torch.mul(d1d, T1_a_bar, out=Tz_bar[:k1])
        zd_bar = z_bar[:n_d]
        zd_bar.addcmul_(d2d, (T1_z * T1_a_bar).sum(0))
        if pos:
            torch.mul(d1d, T2_a_bar, out=Tz_bar[k1:])
            for j, p in enumerate(pos):
                Tz_bar[p].addcmul_(d2d, T1_z[p] * T2_a_bar[j], value=2.0)
            second_order = d3d * T1_sq
            if T2_z is not None:
                second_order.addcmul_(d2d, T2_z)
            zd_bar.add_((T2_a_bar * second_order).sum(0))
        yield index, Z_bar
        if index:
            A_bar = mm(Z_bar, weights[index])


class _TaylorMLP(torch.autograd.Function):
    """Value and jets of an MLP, stacked row-wise so that a layer is one matrix product.

    Each layer's buffer holds the rows ``[values (n); stream 0 (n_d); stream 1 (n_d); ...]``,
    the streams being the first-order tangents, then the second-order terms. Tangents carry
    no bias, so the bias is added to the value rows only.
    """

    @staticmethod
    def forward(ctx, X, n_d, first, second, activation, tangents, *params):
        u, D, tape = _taylor_forward(X, n_d, first, second, activation, tangents,
                                     params[0::2], params[1::2])
        ctx.tape = tape
        return u, D

    @staticmethod
    def backward(ctx, u_bar, D_bar):
        tape = ctx.tape
        weights, first, pos, n_d, inputs = tape.weights, tape.first, tape.pos, tape.n_d, \
            tape.inputs
        X = inputs[0]
        n, k1 = X.shape[0], len(first)
        k = k1 + len(pos)
        grads = [None] * (2 * len(weights))
        for index, Z_bar in _taylor_adjoint(tape, u_bar, D_bar):
            z_bar = Z_bar[:n]
            if index == 0:
                Tz_bar = Z_bar[n:].view(k, n_d, -1)
                dW = mm(z_bar.t(), X)
                if tape.tangents is None:
                    dW[:, list(first)] += Tz_bar[:k1].sum(1).t()
                else:
                    T1, T2 = tape.tangents
                    dW += torch.einsum("knh,knf->hf", Tz_bar[:k1], T1)
                    if pos:
                        dW += torch.einsum("knh,knf->hf", Tz_bar[k1:], T2)
            else:
                dW = mm(Z_bar.t(), inputs[index])
            grads[2 * index], grads[2 * index + 1] = dW, column_totals(z_bar)
        return (None, None, None, None, None, None, *grads)


_CAPTURE = contextvars.ContextVar("physml_jet_capture", default=None)


class JetCapture:
    """Per-row Jacobians through an :class:`MLP`'s jets.

    Inside ``with JetCapture(network, params):``, ``network.jet`` evaluates its jets at the
    weights ``params`` (``[W_0, b_0, W_1, b_1, ...]``) without autograd and returns leaf
    tensors ``u`` and ``D``; whatever is computed from them (a wrapper's rescaling, an
    output transform, a loss term's rows) keeps an autograd graph back to them only.
    :meth:`jacobian` then gives the Jacobian of a set of rows with respect to the
    weights from one adjoint pass: every point's rows are independent of the other
    points', so one pass seeded with the rows' gradients gives each point's
    pre-activation gradients, and a row's gradient for a layer's weights is the sum,
    over the stacked rows of its point (value and streams), of the outer products of
    those and the layer's inputs (:func:`_taylor_adjoint`). One jet call per capture.
    """

    def __init__(self, network, params):
        self.network, self.params = network, tuple(params)
        self.tape, self.u, self.D, self.calls = None, None, None, 0
        self._token = None

    def __enter__(self):
        self._token = _CAPTURE.set(self)
        return self

    def __exit__(self, *exc):
        _CAPTURE.reset(self._token)

    def evaluate(self, X, n_d, first, second, tangents):
        self.calls += 1
        weights, biases = self.params[0::2], self.params[1::2]
        with torch.no_grad():
            u, D, self.tape = _taylor_forward(X.detach(), int(n_d), first, second,
                                              self.network.activation, tangents, weights,
                                              biases)
        self.u, self.D = u.clone().requires_grad_(True), D.clone().requires_grad_(True)
        return self.u, self.D

    def _inputs(self, index):
        """Layer ``index``'s stacked input rows (the first layer's streams: the tangents)."""
        tape = self.tape
        if index:
            return tape.inputs[index]
        X = tape.inputs[0]
        k1, k2 = len(tape.first), len(tape.pos)
        if tape.tangents is None:
            T1 = torch.zeros((k1, tape.n_d, X.shape[1]), dtype=X.dtype, device=X.device)
            T1[torch.arange(k1), :, list(tape.first)] = 1.0
            T2 = X.new_zeros((k2, tape.n_d, X.shape[1]))
        else:
            T1, T2 = tape.tangents
            T2 = T2 if k2 else X.new_zeros((0, tape.n_d, X.shape[1]))
        return torch.cat([X, T1.reshape(-1, X.shape[1]), T2.reshape(-1, X.shape[1])])

    def jacobian(self, u_bar, D_bar, slices, streams, out, scale=None):
        """Write into ``out`` ``(n, n_weights)`` the Jacobian of rows whose gradients with
        respect to the captured ``u`` and ``D`` are ``u_bar`` and ``D_bar`` (zero outside
        the rows' points; None: zero), row ``i`` reading point ``s.start + i`` of each
        slice ``s`` of the stacked points, its derivative streams too where ``streams``;
        each row times ``scale`` (a float or an ``(n,)`` tensor) where given."""
        tape = self.tape
        X = tape.inputs[0]
        n_all, n_d = X.shape[0], tape.n_d
        if u_bar is None and D_bar is None:
            out.zero_()
            return out
        if torch.is_tensor(scale):
            scale = scale[:, None, None]
        k = len(tape.first) + len(tape.pos)
        rows = []
        for s in slices:
            base = torch.arange(s.start, s.stop, device=X.device)
            rows.append(base)
            if streams and k:
                rows.extend(n_all + j * n_d + base for j in range(k))
        rows = torch.stack(rows, 1)  # (n, rows of the stack each row reads)
        n, per_point = rows.shape[0], rows.shape[1] // len(slices)
        columns = [0]
        for p in self.params:
            columns.append(columns[-1] + p.numel())
        for index, Z_bar in _taylor_adjoint(tape, u_bar, D_bar):
            Z = Z_bar[rows]
            if scale is not None:
                Z = Z * scale
            weight = out[:, columns[2 * index]:columns[2 * index + 1]]
            weight.view(n, Z.shape[2], -1).copy_(
                torch.bmm(Z.transpose(1, 2), self._inputs(index)[rows]))
            # the bias: the value rows only (each point's first stacked row)
            torch.sum(Z[:, 0::per_point], 1,
                      out=out[:, columns[2 * index + 1]:columns[2 * index + 2]])
        return out


class _ReverseMLP(torch.autograd.Function):
    """Value and input gradient of an MLP by one reverse sweep, and its hand-written adjoint.

    Forward: ``z_l = a_{l-1} W_l^T + b_l``, ``a_l = s(z_l)``, ``u = a_L w^T + b``; then on the
    derivative rows ``g_L = s'(z_L) * w``, ``d_{l-1} = g_l W_l``,
    ``g_{l-1} = s'(z_{l-1}) * d_{l-1}`` and ``du/dX = g_1 W_1``. The adjoint first runs back
    up that reverse sweep (collecting the gradient of every ``s'(z_l)``), then down the
    forward pass as usual.
    """

    @staticmethod
    def forward(ctx, X, n_d, first, second, activation, tangents, *params):
        weights, biases = params[0::2], params[1::2]
        a, inputs, slopes = X, [X], []
        for W, b in zip(weights[:-1], biases[:-1]):
            a, d1 = activation.slope(addmm(b, a, W.t()))
            inputs.append(a)
            slopes.append(d1)
        W_o, b_o = weights[-1], biases[-1]
        u = addmm(b_o, a, W_o.t())
        # Reverse sweep on the derivative rows (one output, so w_o is a row).
        g = slopes[-1][:n_d] * W_o
        gs, deltas = [g], [None]
        for index in range(len(weights) - 2, 0, -1):
            delta = mm(g, weights[index])
            g = slopes[index - 1][:n_d] * delta
            gs.append(g)
            deltas.append(delta)
        gs.reverse()
        deltas.reverse()
        J = mm(g, weights[0])
        ctx.save_for_backward(*params)
        ctx.inputs, ctx.slopes, ctx.gs, ctx.deltas = inputs, slopes, gs, deltas
        ctx.first, ctx.n_d, ctx.activation = first, n_d, activation
        return u, J[:, list(first)].t().unsqueeze(-1)

    @staticmethod
    def backward(ctx, u_bar, D_bar):
        weights = ctx.saved_tensors[0::2]
        inputs, slopes, gs, deltas = ctx.inputs, ctx.slopes, ctx.gs, ctx.deltas
        n_d, first, activation = ctx.n_d, ctx.first, ctx.activation
        X = inputs[0]
        L = len(weights) - 1
        grads = [None] * (2 * len(weights))
        dWs = [None] * len(weights)
        slope_bars = [None] * L
        if D_bar is not None:
            J_bar = torch.zeros((n_d, X.shape[1]), dtype=X.dtype, device=X.device)
            J_bar[:, list(first)] = D_bar[..., 0].t()
            dWs[0] = mm(gs[0].t(), J_bar)
            g_bar = mm(J_bar, weights[0].t())
            for index in range(L - 1):
                slope_bars[index] = g_bar * deltas[index]
                delta_bar = g_bar * slopes[index][:n_d]
                dWs[index + 1] = mm(gs[index + 1].t(), delta_bar)
                g_bar = mm(delta_bar, weights[index + 1].t())
            slope_bars[L - 1] = g_bar * weights[-1]
            dW_o = (g_bar * slopes[L - 1][:n_d]).sum(0, keepdim=True)
        else:
            dW_o = torch.zeros_like(weights[-1])
        if u_bar is None:
            u_bar = torch.zeros((X.shape[0], 1), dtype=X.dtype, device=X.device)
        dW_o = addmm(dW_o, u_bar.t(), inputs[L])
        grads[-2], grads[-1] = dW_o, column_totals(u_bar)
        a_bar = mm(u_bar, weights[-1])
        for index in range(L - 1, -1, -1):
            z_bar = slopes[index] * a_bar
            if slope_bars[index] is not None:
                a_d, d1_d = inputs[index + 1][:n_d], slopes[index][:n_d]
                z_bar[:n_d].addcmul_(slope_bars[index], activation.curvature(a_d, d1_d))
            dW = mm(z_bar.t(), inputs[index])
            if dWs[index] is not None:
                dW.add_(dWs[index])
            grads[2 * index], grads[2 * index + 1] = dW, column_totals(z_bar)
            if index:
                a_bar = mm(z_bar, weights[index])
        return (None, None, None, None, None, None, *grads)


class Rescaled(nn.Module):
    """A network on rescaled inputs and outputs: ``shift + scale * network((X - center) /
    half_width)``, per input and per output column.

    The observations' order of magnitude is put in the model, not left to the weights to
    learn (a network initialized as PyTorch does puts out values of order 0.1 to 1), and
    the inputs can be mapped onto ``[-1, 1]``; :meth:`jet` applies the chain rule to the
    derivatives, so the fast derivative paths still serve.
    """

    def __init__(self, network, shift, scale, center=None, half_width=None):
        super().__init__()
        self.network = network
        self.register_buffer("shift", torch.as_tensor(shift, dtype=torch.float64))
        self.register_buffer("scale", torch.as_tensor(scale, dtype=torch.float64))
        n_in = network.layers[0].in_features
        center = torch.zeros(n_in) if center is None else torch.as_tensor(center)
        half_width = torch.ones(n_in) if half_width is None else torch.as_tensor(half_width)
        self.register_buffer("center", center.to(torch.float64))
        self.register_buffer("inverse_width", 1.0 / half_width.to(torch.float64))

    def _inputs(self, X):
        return (X - self.center.to(X.dtype)) * self.inverse_width.to(X.dtype)

    def forward(self, X):
        return torch.addcmul(self.shift.to(X.dtype), self.scale.to(X.dtype),
                             self.network(self._inputs(X)))

    def jet(self, X, n_derivative_rows, first, second=(), tangents=None):
        inverse = self.inverse_width.to(X.dtype)
        if tangents is not None:
            tangents = tuple(T * inverse for T in tangents)
        u, D = self.network.jet(self._inputs(X), n_derivative_rows, first, second, tangents)
        scale = self.scale.to(u.dtype)
        if tangents is None:
            factors = torch.cat([inverse[list(first)], inverse[list(second)].square()])
            D = D * factors[:, None, None]
        return torch.addcmul(self.shift.to(u.dtype), scale, u), D * scale
