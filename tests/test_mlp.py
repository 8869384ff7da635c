"""Hand-propagated input derivatives and their hand-written backward agree with autograd."""

import pytest
import torch

from physml._mlp import MLP, resolve_activation


def autograd_derivatives(net, X, n_d, first, second):
    Xr = X.clone().requires_grad_(True)
    u = net(Xr)
    grad = torch.autograd.grad(u.sum(), Xr, create_graph=True)[0]
    rows = [grad[:n_d, i] for i in first]
    for j in second:
        rows.append(torch.autograd.grad(grad[:, j].sum(), Xr, create_graph=True)[0][:n_d, j])
    return u, torch.stack(rows)


@pytest.mark.parametrize("activation", ["tanh", "sin", "sigmoid"])
@pytest.mark.parametrize("first, second", [((0, 1), ()), ((1,), ()), ((1, 0), ()),
                                           ((0, 1), (0,)), ((0, 1), (0, 1)), ((1,), (1,))])
def test_jets_and_their_gradients_match_autograd(activation, first, second):
    torch.manual_seed(0)
    net = MLP(2, (7, 6, 5), 1, activation).double()
    X = torch.rand(20, 2, dtype=torch.float64)
    n_d = 12
    u, D = net.jet(X, n_d, first, second)
    u_ref, D_ref = autograd_derivatives(net, X, n_d, first, second)
    torch.testing.assert_close(u, u_ref)
    torch.testing.assert_close(D[..., 0], D_ref)

    # A loss that is nonlinear in the value and in every derivative stream.
    w_u = torch.randn(20, 1, dtype=torch.float64)
    w_d = torch.randn(len(first) + len(second), n_d, dtype=torch.float64)

    def loss(u, D):
        return (w_u * u ** 2).sum() + (w_d * D ** 3).sum() + (D[0] * D[-1]).sum()

    params = list(net.parameters())
    ours = torch.autograd.grad(loss(u, D[..., 0]), params)
    reference = torch.autograd.grad(loss(u_ref, D_ref), params)
    for a, b in zip(ours, reference):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("only", ["value", "derivatives"])
def test_gradient_when_only_one_output_is_used(only):
    torch.manual_seed(1)
    net = MLP(2, (5, 5), 1).double()
    X = torch.rand(9, 2, dtype=torch.float64)
    for second in [(), (0,)]:
        u, D = net.jet(X, 4, (0, 1), second)
        u_ref, D_ref = autograd_derivatives(net, X, 4, (0, 1), second)
        out, ref = (u.sum(), u_ref.sum()) if only == "value" else (D.sum(), D_ref.sum())
        params = list(net.parameters())
        for a, b in zip(torch.autograd.grad(out, params),
                        torch.autograd.grad(ref, params, materialize_grads=True)):
            torch.testing.assert_close(a, b)


def test_gradcheck_through_the_hand_written_backward():
    torch.manual_seed(2)
    net = MLP(2, (4, 3), 1).double()
    X = torch.rand(6, 2, dtype=torch.float64)
    params = list(net.parameters())

    def f(*ps):
        with torch.no_grad():
            for p, q in zip(params, ps):
                p.copy_(q)
        from physml._mlp import _TaylorMLP
        return _TaylorMLP.apply(X, 3, (0, 1), (0,), net.activation, None, *ps)

    inputs = [p.detach().clone().requires_grad_(True) for p in params]
    assert torch.autograd.gradcheck(f, inputs)


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match="activation='relu'.*tanh"):
        resolve_activation("relu")


def test_second_derivative_needs_its_first():
    net = MLP(2, (3,), 1)
    with pytest.raises(ValueError, match="second"):
        net.jet(torch.rand(3, 2), 3, (1,), (0,))
