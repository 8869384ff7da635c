"""
A steady 2-D problem from its boundary: Poisson on the unit square
==================================================================

Without a coordinate ``"t"`` a problem is steady. ``-Δu = 2π² sin(πx) sin(πy)`` on the
unit square with ``u = 0`` on its edges has the solution ``sin(πx) sin(πy)``; the network
sees only the boundary values (``pde.boundary_data``) and the equation inside.
"""

import matplotlib.pyplot as plt
import numpy as np
import torch

from physml import PINNRegressor
from physml.metrics import relative_l2_error
from physml.pde import CustomPDE


def poisson(X, u, d, c):
    source = 2 * np.pi ** 2 * torch.sin(np.pi * X[:, 0]) * torch.sin(np.pi * X[:, 1])
    return -(d["u_xx"] + d["u_yy"]) - source


pde = CustomPDE(poisson, coordinates=("x", "y"), derivatives=("u_xx", "u_yy"),
                domain=((0.0, 1.0), (0.0, 1.0)), boundary="dirichlet")
Xb, ub = pde.boundary_data(400)
est = PINNRegressor(pde=pde, random_state=0).fit(Xb, ub)

X = pde.grid(101)
exact = np.sin(np.pi * X[:, 0]) * np.sin(np.pi * X[:, 1])
predicted = est.predict(X)
print(f"relative L2 error: {relative_l2_error(exact, predicted):.2e}")

# %%
# The solution and the error, on a 101 x 101 grid.
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
image = axes[0].imshow(predicted.reshape(101, 101), origin="lower", extent=(0, 1, 0, 1),
                       cmap="viridis")
axes[0].scatter(Xb[:, 0], Xb[:, 1], s=1, c="k")
axes[0].set_title("PINN (boundary data in black)")
fig.colorbar(image, ax=axes[0])
image = axes[1].imshow((predicted - exact).reshape(101, 101), origin="lower",
                       extent=(0, 1, 0, 1), cmap="RdBu_r")
axes[1].set_title("PINN - exact")
fig.colorbar(image, ax=axes[1])
for ax in axes:
    ax.set_xlabel("x")
    ax.set_ylabel("y")
plt.tight_layout()
plt.show()
