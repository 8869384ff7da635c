"""L-BFGS with the inverse-Hessian product in compact (matrix) form.

``torch.optim.LBFGS`` applies its memory with the two-loop recursion: for a history of m
pairs that is 4m vector operations launched one at a time from Python. For the small
networks of a PINN (about 8,000 parameters) that is a large share of an iteration
(convection, float32, history 100, under cProfile: ~2.9 ms of ~14 ms). The compact
representation of Byrd, Nocedal and Schnabel (1994) gives the same product from three
passes over the stored pairs (one when a pair is added, two per product) and two m x m
triangular solves; ``benchmarks/bench_lbfgs.py`` times both. The rest is torch's
algorithm: its first step size, its strong-Wolfe line search
(``torch.optim.lbfgs._strong_wolfe``), its curvature test (``y's > 1e-10``) and its
stopping rules (``tolerance_grad``, ``tolerance_change``).

One call of :meth:`LBFGS.step` is one iteration, so the caller shows progress and
handles Ctrl-C between iterations without restarting the method.

References
----------
R. H. Byrd, J. Nocedal, R. B. Schnabel, "Representations of quasi-Newton matrices and
their use in limited memory methods", Math. Programming 63 (1994), eq. (3.1)-(3.2).
"""

import torch
from torch.optim.lbfgs import _strong_wolfe


class CompactMemory:
    """The last ``size`` curvature pairs ``(s, y)`` and the inverse-Hessian product.

    The pairs live in one ring buffer ``[S; Y]`` of shape ``(2 size, n)``, so that once
    it is full ``S'v`` and ``Y'v`` are one pass over memory (before that, only the
    stored rows are read). ``S'Y`` (its upper triangle: the product never reads the
    rest) and ``Y'Y`` are kept in float64, updated with one such pass per new pair.
    """

    def __init__(self, size, n, dtype, device):
        self.size = int(size)
        self.pairs = torch.zeros((2 * self.size, n), dtype=dtype, device=device)
        self.S, self.Y = self.pairs[:self.size], self.pairs[self.size:]
        self.SY = torch.zeros((self.size, self.size), dtype=torch.float64, device=device)
        self.YY = torch.zeros((self.size, self.size), dtype=torch.float64, device=device)
        self.count = 0   # pairs stored
        self.next = 0    # slot the next pair goes to
        self.gamma = 1.0

    def _products(self, v):
        """``(S'v, Y'v)`` in float64, in buffer order, over the stored pairs only."""
        k = self.count
        if k == self.size:  # full: one pass over [S; Y]
            both = (self.pairs @ v).double()
            return both[:k], both[k:]
        return (self.S[:k] @ v).double(), (self.Y[:k] @ v).double()

    def push(self, s, y, ys):
        """Store a pair with ``ys = y's > 0`` (the oldest is dropped when full)."""
        slot = self.next
        self.S[slot].copy_(s)
        self.Y[slot].copy_(y)
        self.count = min(self.count + 1, self.size)
        self.next = (slot + 1) % self.size
        k = self.count
        # s_i'y_new and y_i'y_new for every stored i: the new column of S'Y and of Y'Y.
        sy, yy = self._products(y)
        self.SY[:k, slot] = sy
        self.SY[slot, slot] = float(ys)
        self.YY[slot, :k] = yy
        self.YY[:k, slot] = yy
        self.gamma = float(ys) / float(yy[slot])

    def order(self):
        """Buffer slots from the oldest pair to the newest."""
        k = self.count
        start = self.next - k if k < self.size else self.next
        return [(start + i) % self.size for i in range(k)]

    def apply(self, q):
        """``H q`` for the L-BFGS inverse Hessian with ``H_0 = gamma I``."""
        k, gamma = self.count, self.gamma
        if k == 0:
            return q * gamma
        idx = torch.tensor(self.order(), device=q.device)
        a, b = self._products(q)
        a, b = a[idx], b[idx]
        # Chronological order: R is the upper triangle of S'Y, D its diagonal.
        R = torch.triu(self.SY[idx][:, idx])
        YY = self.YY[idx][:, idx]
        p = torch.linalg.solve_triangular(R, a.unsqueeze(1), upper=True)
        rhs = torch.diagonal(R).unsqueeze(1) * p + gamma * (YY @ p - b.unsqueeze(1))
        c = torch.linalg.solve_triangular(R.t(), rhs, upper=False)
        # H q = gamma q + S c - gamma Y p (back in buffer order for the stored pairs).
        coefficients = torch.empty(2 * k, dtype=torch.float64, device=q.device)
        coefficients[idx] = c[:, 0]
        coefficients[idx + k] = -gamma * p[:, 0]
        coefficients = coefficients.to(q.dtype)
        out = q * gamma
        if k == self.size:
            return out.addmv_(self.pairs.t(), coefficients)
        out.addmv_(self.S[:k].t(), coefficients[:k])
        return out.addmv_(self.Y[:k].t(), coefficients[k:])


class LBFGS:
    """Limited-memory BFGS on a list of tensors, one iteration per :meth:`step`.

    Parameters
    ----------
    parameters : list of tensor
        Leaf tensors to optimize in place.
    closure : callable
        Zeroes the gradients, evaluates the loss, calls ``backward`` and returns the loss.
    lr : float
        Initial step length of each line search (1 after the first iteration).
    history_size : int
    tolerance_grad, tolerance_change : float
        Stop when the largest gradient entry, or the change in loss or parameters, is
        below these (torch's rules).
    max_ls : int
        Loss evaluations allowed per line search.
    """

    def __init__(self, parameters, closure, *, lr=1.0, history_size=100,
                 tolerance_grad=1e-7, tolerance_change=1e-9, max_ls=25):
        self.parameters = list(parameters)
        self.closure = closure
        self.lr, self.max_ls = float(lr), int(max_ls)
        self.tolerance_grad, self.tolerance_change = tolerance_grad, tolerance_change
        first = self.parameters[0]
        n = sum(p.numel() for p in self.parameters)
        self.memory = CompactMemory(history_size, n, first.dtype, first.device)
        self.n_iter = 0
        self.loss = self._evaluate()
        self.grad = self._flat_grad()
        self.d = self.t = self.prev_grad = None

    def _evaluate(self):
        with torch.enable_grad():
            loss = self.closure()
        return float(loss.detach()) if torch.is_tensor(loss) else float(loss)

    def _flat_grad(self):
        return torch.cat([torch.zeros_like(p).reshape(-1) if p.grad is None
                          else p.grad.reshape(-1) for p in self.parameters])

    def _flat_params(self):
        return torch.cat([p.detach().reshape(-1) for p in self.parameters])

    def _set_params(self, vector):
        offset = 0
        with torch.no_grad():
            for p in self.parameters:
                p.copy_(vector[offset:offset + p.numel()].view_as(p))
                offset += p.numel()

    def _directional(self, x, t, d):
        self._set_params(x + t * d)
        loss = self._evaluate()
        return loss, self._flat_grad()

    def step(self):
        """One iteration. Returns False when a stopping rule is met (nothing was changed
        if it was met before the line search)."""
        g = self.grad
        if self.n_iter == 0 and float(g.abs().max()) <= self.tolerance_grad:
            return False
        self.n_iter += 1
        if self.n_iter == 1:
            d = g.neg()
            t = min(1.0, 1.0 / float(g.abs().sum())) * self.lr
        else:
            y = g - self.prev_grad
            s = self.d * self.t
            ys = float(y.dot(s))
            if ys > 1e-10:
                self.memory.push(s, y, ys)
            d = self.memory.apply(g.neg())
            t = self.lr
        self.prev_grad = g
        prev_loss = self.loss
        gtd = g.dot(d)
        if gtd > -self.tolerance_change:
            return False
        x = self._flat_params()
        loss, grad, t, _ = _strong_wolfe(self._directional, x, t, d, self.loss, g, gtd,
                                         max_ls=self.max_ls)
        t = float(t)
        self._set_params(x + t * d)
        self.loss, self.grad, self.d, self.t = float(loss), grad, d, t
        if float(grad.abs().max()) <= self.tolerance_grad:
            return False
        if float(d.abs().max()) * abs(t) <= self.tolerance_change:
            return False
        return abs(self.loss - prev_loss) >= self.tolerance_change
