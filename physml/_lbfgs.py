"""L-BFGS with the compact representation of its inverse Hessian: a few matrix products
per iteration instead of the two-loop recursion's 4 x history_size vector operations.

``torch.optim.LBFGS`` computes its direction with the two-loop recursion, a Python loop
of a dot product and an axpy per stored pair, twice: with 100 pairs that is 400 small
kernels per iteration, 5 ms of dispatch on a CPU whatever the network's size, more than
a PINN's loss evaluation costs (``benchmarks/bench_lbfgs.py``). The same product
``H g`` has a closed form (Byrd, Nocedal & Schnabel 1994; Nocedal & Wright eq. 7.24)::

    H g = gamma g + S R^-T ((D + gamma Y^T Y) R^-1 S^T g - gamma Y^T g) - gamma Y R^-1 S^T g

with ``R`` the upper triangle of ``S^T Y`` and ``D`` its diagonal: two products with the
stacked history, two small triangular solves, and the Gram matrices ``S^T Y`` and
``Y^T Y`` kept up to date with one product per new pair. The history lives in a ring
buffer, so nothing of size ``n`` is copied when the oldest pair goes.

Everything else (strong Wolfe line search, tolerances, ``max_iter``/``max_eval`` per
``step``, the state ``n_iter``/``func_evals`` carried between calls) is
``torch.optim.LBFGS``'s, whose helpers this class reuses; the iterates agree with it to
rounding (``tests/test_optimizers.py``).
"""

import torch
from torch.optim.lbfgs import _strong_wolfe

from ._base import _SERIAL_SUM, total
from ._threads import mv


class _CompactHistory:
    """The stored pairs ``(s, y)`` in a ring buffer, with their Gram matrices."""

    def __init__(self, size, like):
        n = like.numel()
        self.size, self.count, self.next = size, 0, 0
        # Kept in float64 whatever the parameters' precision: the compact form solves with
        # the triangle of S^T Y, which float32 rounding can make far from positive
        # definite (a direction that does not descend ends L-BFGS).
        like = like.to(torch.float64)
        # rows [0, size): s vectors; rows [size, 2 size): y vectors
        self.buffer = like.new_zeros((2 * size, n))
        self.SY = like.new_zeros((size, size))  # SY[i, j] = s_i . y_j (ring positions)
        self.YY = like.new_zeros((size, size))
        self.gamma = 1.0

    def add(self, s, y):
        s, y = s.to(torch.float64), y.to(torch.float64)
        ys, yy = s.dot(y), y.dot(y)
        k, m = self.next, self.size
        self.buffer[k] = s
        self.buffer[m + k] = y
        with_y = mv(self.buffer, y)  # s_i . y and y_i . y for every slot
        with_s = mv(self.buffer[m:], s)  # y_i . s
        self.SY[:, k] = with_y[:m]
        self.SY[k, :] = with_s
        self.SY[k, k] = ys
        self.YY[:, k] = with_y[m:]
        self.YY[k, :] = with_y[m:]
        self.YY[k, k] = yy
        self.next = (k + 1) % m
        self.count = min(self.count + 1, m)
        self.gamma = ys / yy

    def order(self):
        """Ring positions from the oldest pair to the newest."""
        start = (self.next - self.count) % self.size
        return [(start + i) % self.size for i in range(self.count)]

    def direction(self, g):
        """``-H g``."""
        if self.count == 0:
            return g.neg()
        dtype, g = g.dtype, g.to(torch.float64)
        m, gamma = self.size, self.gamma
        idx = torch.tensor(self.order(), device=g.device)
        products = mv(self.buffer, g)
        a, b = products[:m][idx], products[m:][idx]
        SY = self.SY[idx][:, idx]
        R = SY.triu()
        c = torch.linalg.solve_triangular(R, a.unsqueeze(1), upper=True)[:, 0]
        inner = torch.diagonal(SY) * c + gamma * (self.YY[idx][:, idx] @ c) - gamma * b
        top = torch.linalg.solve_triangular(R.t(), inner.unsqueeze(1), upper=False)[:, 0]
        weights = g.new_zeros(2 * m)
        weights[idx] = top
        weights[m + idx] = -gamma * c
        return mv(self.buffer.t(), weights).add_(g, alpha=gamma).neg_().to(dtype)


def _norm(v):
    """``v.norm()``, with bits that do not depend on torch's thread count (:func:`total`)."""
    return v.norm() if v.numel() <= _SERIAL_SUM else total(v.square()).sqrt()


def _curvature_pair_ok(s, y):
    """Whether the pair ``(s, y)`` enters the curvature model: ``s . y`` positive beyond the
    rounding of the gradients' precision, relative to ``|s| |y|``.

    torch's L-BFGS keeps a pair when ``s . y > 1e-10``, an absolute threshold, so it has
    a scale: where the loss is small, steps and gradient changes are small, every pair
    falls under it, and L-BFGS runs as steepest descent and stalls (a PINN's float64
    phase, at losses of order 1e-6, keeps none). This test is invariant to the scale of
    the loss."""
    return bool(y.dot(s) > torch.finfo(y.dtype).eps * _norm(s) * _norm(y))


class LBFGS(torch.optim.LBFGS):
    """``torch.optim.LBFGS`` (strong Wolfe line search) with the compact-form direction.

    Same parameters and behaviour as :class:`torch.optim.LBFGS`; ``line_search_fn`` must
    be ``"strong_wolfe"``. One difference: a curvature pair is kept when ``s . y`` is
    positive relative to ``|s| |y|`` (beyond rounding), not above torch's absolute 1e-10,
    so that a small loss does not turn L-BFGS into steepest descent.
    """

    def __init__(self, params, lr=1.0, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn="strong_wolfe"):
        if line_search_fn != "strong_wolfe":
            raise ValueError("physml's LBFGS runs the strong Wolfe line search only")
        super().__init__(params, lr=lr, max_iter=max_iter, max_eval=max_eval,
                         tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                         history_size=history_size, line_search_fn=line_search_fn)

    def new_loss(self):
        """The loss changed (new collocation points or weights) at the current
        parameters: keep the curvature pairs, but form none across the change (its
        gradient difference would mix two losses)."""
        self.state[self._params[0]]["new_loss"] = True

    @torch.no_grad()
    def step(self, closure):
        closure = torch.enable_grad()(closure)
        group = self.param_groups[0]
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tolerance_grad, tolerance_change = group["tolerance_grad"], group["tolerance_change"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        orig_loss = closure()
        loss = float(orig_loss)
        current_evals = 1
        state["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if flat_grad.abs().max() <= tolerance_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        history = state.get("history")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")
        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            mixed = state.pop("new_loss", False)
            if state["n_iter"] == 1:
                history = _CompactHistory(group["history_size"], flat_grad)
                d = flat_grad.neg()
            else:
                y = flat_grad.sub(prev_flat_grad)
                s = d.mul(t)
                if _curvature_pair_ok(s, y) and not mixed:
                    history.add(s, y)
                d = history.direction(flat_grad)
            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.clone(memory_format=torch.contiguous_format)
            else:
                prev_flat_grad.copy_(flat_grad)
            prev_loss = loss
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / total(flat_grad.abs())) * lr
            else:
                t = lr
            gtd = flat_grad.dot(d)
            if gtd > -tolerance_change and history.count:
                # Rounding left the curvature model without a descent direction: start it
                # afresh from steepest descent rather than stop.
                history = _CompactHistory(group["history_size"], flat_grad)
                d = flat_grad.neg()
                gtd = flat_grad.dot(d)
            if gtd > -tolerance_change:
                break
            x_init = self._clone_param()

            def obj_func(x, t, d):
                return self._directional_evaluate(closure, x, t, d)

            loss, flat_grad, t, ls_func_evals = _strong_wolfe(
                obj_func, x_init, t, d, loss, flat_grad, gtd)
            self._add_grad(t, d)
            opt_cond = flat_grad.abs().max() <= tolerance_grad
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if d.mul(t).abs().max() <= tolerance_change:
                break
            if abs(loss - prev_loss) < tolerance_change:
                break

        state.update(d=d, t=t, history=history, prev_flat_grad=prev_flat_grad,
                     prev_loss=prev_loss)
        return orig_loss
