"""
Recovering the viscosity of Burgers' equation from sparse, noisy data
=====================================================================

The inverse problem of Raissi et al. (2019): given scattered measurements of ``u(x, t)``
for ``u_t + u u_x − ν u_xx = 0``, find ν. Here 2000 points of the reference solution
with 1 % noise. ``learn_coefficients=("nu",)`` makes ν a trainable parameter (through its
logarithm, so it stays positive) that starts from the guess in the equation object, 0.05;
the truth is 0.01/π ≈ 3.18e-3. Nothing else is set: the standard strategy's defaults
(Adam, then L-BFGS in float32 and in float64), as in ``benchmarks/bench_inverse.py``.
"""

import matplotlib.pyplot as plt
import numpy as np

from physml import PINNRegressor
from physml.pde import Burgers

true = Burgers()
rng = np.random.default_rng(0)
X = true.grid(256, 100)[rng.choice(25600, 2000, replace=False)]
u = true.reference_solution(X)
u_noisy = u + 0.01 * np.std(u) * rng.standard_normal(u.shape)

est = PINNRegressor(pde=Burgers(nu=0.05), learn_coefficients=("nu",),
                    random_state=0).fit(X, u_noisy)
nu = est.coefficients_["nu"]
print(f"nu: {nu:.4e} (true {true.nu:.4e}, error {abs(nu - true.nu) / true.nu:.2%})")

# %%
# The data, the fitted solution on the full grid, and ν over the loss evaluations
# (Adam first, then L-BFGS in float32, then in float64).
grid = true.grid(256, 100)
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
axes[0].scatter(X[:, 1], X[:, 0], c=u_noisy, s=3, cmap="RdBu_r")
axes[0].set_title("2000 noisy observations")
image = axes[1].pcolormesh(grid[:, 1].reshape(100, 256), grid[:, 0].reshape(100, 256),
                           est.predict(grid).reshape(100, 256), shading="auto", cmap="RdBu_r")
fig.colorbar(image, ax=axes[1])
axes[1].set_title("fitted u(x, t)")
for ax in axes[:2]:
    ax.set_xlabel("t")
    ax.set_ylabel("x")
axes[2].semilogy(est.history_["nu"], label="learned ν")
axes[2].axhline(true.nu, color="k", ls="--", label="true ν")
axes[2].set_xlabel("loss evaluation")
axes[2].legend()
fig.tight_layout()
plt.show()
