"""The LEM cell and its sequence kernel: one autograd Function with a hand-written
backward through time."""

import torch

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

    def forward(self, inputs, project, all_states=True, mask=None):
        """Hidden states ``(T, B, H)`` of ``inputs`` ``(T, B, F)`` (the last one,
        ``(B, H)``, when not ``all_states``). ``mask`` ``(T, B)``, True at observed
        steps, False at missing ones: a missing step leaves both states as they are
        (its time steps ``dt_n``, ``dt_bar`` are zero)."""
        steps = None if mask is None else mask.to(inputs.dtype).unsqueeze(-1) * self.dt
        if not self.fused:
            return self._autograd_loop(project(inputs), all_states, steps)
        tensors = (inputs, project.weight, project.bias, self.W.weight, self.Wy.weight)
        need_grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
        return _LEMSequence.apply(*tensors, float(self.dt), bool(all_states), need_grad,
                                  steps)

    def _autograd_loop(self, u, all_states, steps=None):
        H = self.hidden_size
        y = z = u.new_zeros((u.shape[1], H))
        states = []
        for t, step in enumerate(u.unbind(0)):
            dt = self.dt if steps is None else steps[t]
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
    def forward(ctx, X, Wp, bp, W, Wy, dt, all_states, need_grad, steps=None):
        T, B, F = X.shape
        H = Wy.shape[0]
        y = z = X.new_zeros((B, H))
        ones, dt = X.new_ones((B, H)), X.new_tensor(dt)
        # steps (T, B, 1): each series' dt at each step, 0 at its missing steps
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
                if steps is not None:
                    dt = steps[t0 + i]
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
        return grad_X, grad_Wp, grad_bp, grad_W, grad_Wy, None, None, None, None
