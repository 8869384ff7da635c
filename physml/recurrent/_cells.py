"""The Lipschitz (and Noisy) RNN cell, and the network around any cell."""

import torch

from ..integrators import euler_maruyama_step, resolve_integrator, rk_step


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
        # The published initialization, N(0, 1/H) entries: A and W start close to -gamma I
        # (Erichson et al. 2021), rather than PyTorch's uniform(+-1/sqrt(H)).
        std = 1.0 / hidden_size
        self.M_A = torch.nn.Parameter(torch.randn(hidden_size, hidden_size) * std)
        self.M_W = torch.nn.Parameter(torch.randn(hidden_size, hidden_size) * std)

    @property
    def noisy(self):
        return self.training and (self.additive_noise > 0 or self.multiplicative_noise > 0)

    def forward(self, inputs, project, all_states=True, mask=None):
        """Hidden states ``(T, B, H)`` of ``inputs`` ``(T, B, F)`` (the last one,
        ``(B, H)``, when not ``all_states``). ``mask`` ``(T, B)``, True at observed
        steps: a missing step leaves the state as it is."""
        projected = project(inputs)  # (T, B, H), one matrix product
        T, B, H = projected.shape
        A = _lipschitz_matrix(self.M_A, self.beta, self.gamma_a)
        W = _lipschitz_matrix(self.M_W, self.beta, self.gamma_w)
        h = projected.new_zeros((B, H))
        states = []
        observed = [None] * T if mask is None else mask.unsqueeze(-1).unbind(0)
        for u, m in zip(projected.unbind(0), observed):
            def field(t, h, u=u):
                return h @ A.T + torch.tanh(h @ W.T + u)

            if self.noisy:
                drift = field(0.0, h)
                noise = torch.randn_like(h)
                stepped = euler_maruyama_step(
                    lambda _, f=drift: f,
                    lambda _, f=drift: self.additive_noise + self.multiplicative_noise * f,
                    h, self.dt, noise)
            else:
                stepped = rk_step(field, h, self.dt, self.tableau)
            h = stepped if m is None else torch.where(m, stepped, h)
            states.append(h)
        return torch.stack(states) if all_states else h


class SequenceNetwork(torch.nn.Module):
    """Input projection for all steps at once, a cell, and a linear read-out of the last
    hidden state (``sequence_output=False``) or of every one. A step whose inputs are
    NaN is missing: the cell carries its state over it."""

    def __init__(self, cell, n_features, n_outputs, sequence_output=False):
        super().__init__()
        self.cell = cell
        self.sequence_output = sequence_output
        self.project = torch.nn.Linear(n_features, cell.n_projections * cell.hidden_size)
        self.readout = torch.nn.Linear(cell.hidden_size, n_outputs)

    def forward(self, X):
        # Missing steps (NaN-padded unequal lengths) are NaN in every feature (the
        # estimators' input check), so the first feature tells them.
        inputs, mask = X.transpose(0, 1), ~torch.isnan(X[:, :, 0].t())
        if mask.all():
            mask = None
        else:
            inputs = torch.nan_to_num(inputs, nan=0.0)
        states = self.cell(inputs, self.project, self.sequence_output, mask)
        if self.sequence_output:
            return self.readout(states).transpose(0, 1)  # (B, T, outputs)
        return self.readout(states)  # the last state
