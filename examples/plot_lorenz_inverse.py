"""
Identifying the Lorenz system from 25 samples
=============================================

An ODE system is an equation in ``t`` alone with several outputs. Here the Lorenz system
``y1' = C1 (y2 - y1)``, ``y2' = y1 (C2 - y3) - y2``, ``y3' = y1 y2 - C3 y3`` from
``y(0) = (-8, 7, 27)`` on ``t in [0, 3]``, observed at 25 times, with its three
coefficients unknown (truth 10, 15, 8/3; the fit starts them at 1), fitted with the
defaults. DeepXDE's example of the same problem runs 20,000 Adam steps; the ``lorenz`` row
of the equations table (``benchmarks/bench_equations.py lorenz``) compares the two.
"""

import matplotlib.pyplot as plt
import numpy as np
from scipy.integrate import solve_ivp

from physml import PINNRegressor
from physml.pde import CustomPDE

TRUTH = {"C1": 10.0, "C2": 15.0, "C3": 8.0 / 3.0}


def lorenz(X, y, d, c):
    y1, y2, y3 = y[:, 0], y[:, 1], y[:, 2]
    return (d["y1_t"] - c["C1"] * (y2 - y1),
            d["y2_t"] - (y1 * (c["C2"] - y3) - y2),
            d["y3_t"] - (y1 * y2 - c["C3"] * y3))


def rhs(_, y):
    return [TRUTH["C1"] * (y[1] - y[0]), y[0] * (TRUTH["C2"] - y[2]) - y[1],
            y[0] * y[1] - TRUTH["C3"] * y[2]]


t = np.linspace(0.0, 3.0, 25)
Y = solve_ivp(rhs, (0, 3), [-8, 7, 27], t_eval=t, rtol=1e-12, atol=1e-12).y.T

pde = CustomPDE(lorenz, coordinates=("t",), outputs=("y1", "y2", "y3"),
                derivatives=("y1_t", "y2_t", "y3_t"), domain=((0.0, 3.0),), boundary=None,
                initial_condition=(-8.0, 7.0, 27.0),
                coefficients={"C1": 1.0, "C2": 1.0, "C3": 1.0})
est = PINNRegressor(pde=pde, learn_coefficients=("C1", "C2", "C3"), random_state=0)
est.fit(t[:, None], Y)
for name, value in est.coefficients_.items():
    print(f"{name}: {value:.5f} (true {TRUTH[name]:.5f}, "
          f"error {abs(value - TRUTH[name]) / TRUTH[name]:.3%})")

# %%
# The fitted trajectories, and the coefficients over the loss evaluations (from
# ``history_``): first the network fits the observations alone (the coefficients stay
# at their guesses), then the coefficients are fitted to the equation on that fit, then
# everything together.
t_dense = np.linspace(0, 3, 301)
Y_dense = solve_ivp(rhs, (0, 3), [-8, 7, 27], t_eval=t_dense, rtol=1e-12, atol=1e-12).y.T
fig, axes = plt.subplots(1, 2, figsize=(12, 4))
for k in range(3):
    axes[0].plot(t_dense, Y_dense[:, k], color=f"C{k}", lw=3, alpha=0.3)
    axes[0].plot(t_dense, est.predict(t_dense[:, None])[:, k], color=f"C{k}", lw=1,
                 label=f"y{k + 1}")
    axes[0].plot(t, Y[:, k], "o", color=f"C{k}", ms=3)
axes[0].set_xlabel("t")
axes[0].legend()
axes[0].set_title("reference (wide), PINN (thin), samples")
for name in TRUTH:
    axes[1].plot(np.asarray(est.history_[name]) / TRUTH[name], label=name)
axes[1].axhline(1.0, color="k", lw=0.5)
axes[1].set_xlabel("loss evaluation")
axes[1].set_ylabel("fitted / true")
axes[1].set_ylim(0, 1.5)
axes[1].legend()
plt.tight_layout()
plt.show()
