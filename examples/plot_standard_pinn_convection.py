"""
The standard PINN on convection: it learns β = 1 and fails at β = 30
======================================================================

Krishnapriyan et al. (NeurIPS 2021) showed that a physics-informed network trained the
standard way learns the convection equation ``u_t + β u_x = 0`` for a small speed β, and
fails for a large one, although the network could represent the solution. Here is that
failure, with the paper's settings: a 4 × 50 tanh network, 1000 collocation points, the
initial condition ``sin(x)`` observed at 256 points, and float32 L-BFGS, passed as
:data:`physml.strategies.PAPER_SETTINGS` (physml's own defaults train in float64, Adam
then L-BFGS).
"""

import matplotlib.pyplot as plt

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import Convection
from physml.strategies import PAPER_SETTINGS

cases = []
for beta in (1.0, 30.0):
    pde = Convection(beta=beta)
    X0, u0 = pde.initial_data(n_points=256)
    est = PINNRegressor(pde=pde, random_state=0, **PAPER_SETTINGS).fit(X0, u0)
    X, u = make_pde_data(pde)
    u_hat = est.predict(X)
    print(f"beta = {beta:g}: relative L2 error {relative_l2_error(u, u_hat):.2e}")
    cases.append((beta, X, u, u_hat))

# %%
# The exact solution ``sin(x - β t)`` beside the prediction. At β = 30 the network finds a
# smooth function that satisfies the residual almost everywhere but not the solution.
fig, axes = plt.subplots(2, 2, figsize=(9, 6), sharex=True, sharey=True)
for row, (beta, X, u, u_hat) in zip(axes, cases):
    for ax, values, name in zip(row, (u, u_hat), ("exact", "standard PINN")):
        image = ax.pcolormesh(X[:, 1].reshape(100, 256), X[:, 0].reshape(100, 256),
                              values.reshape(100, 256), shading="auto", cmap="RdBu_r")
        ax.set_title(f"β = {beta:g}: {name}")
        ax.set_xlabel("t")
        ax.set_ylabel("x")
        fig.colorbar(image, ax=ax)
fig.tight_layout()
plt.show()
