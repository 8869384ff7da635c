"""
Time marching (seq2seq) on reaction–diffusion
=============================================

For ``u_t = ν u_xx + ρ u(1 − u)`` with ν = 3, ρ = 5, the standard PINN trained over the
whole of ``t ∈ [0, 1]`` at once fails (the paper: 0.80 relative error). Sequence-to-sequence
learning (Krishnapriyan et al., NeurIPS 2021) trains on one time block of Δt = 0.1 after
another; each block's initial data is the previous block's prediction at its end. The
1000 collocation points are shared out, 100 per block. The fitted estimator holds one
network per block (``time_blocks_``) and sends each point to its block. The call is
``strategy="seq2seq"`` with nothing else set (the strategy's own training defaults); the
standard PINN gets the paper's settings (:data:`physml.strategies.PAPER_SETTINGS`).
"""

import matplotlib.pyplot as plt

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import ReactionDiffusion
from physml.plotting import plot_solutions
from physml.strategies import PAPER_SETTINGS

pde = ReactionDiffusion(nu=3.0, rho=5.0)
X0, u0 = pde.initial_data(n_points=256)
X, u = make_pde_data(pde)

standard = PINNRegressor(pde=pde, random_state=0, **PAPER_SETTINGS).fit(X0, u0)
seq2seq = PINNRegressor(pde=pde, strategy="seq2seq", random_state=0).fit(X0, u0)
cases = []
for name, est in (("standard", standard), ("seq2seq", seq2seq)):
    u_hat = est.predict(X)
    print(f"{name}: relative L2 error {relative_l2_error(u, u_hat):.2e}")
    cases.append((f"ν = 3, ρ = 5, {name}", X, u, u_hat))
print("time blocks:", [f"({a:.1f}, {b:.1f}]" for a, b in seq2seq.time_blocks_])

# %%
plot_solutions(cases, 256, 100)
plt.show()
