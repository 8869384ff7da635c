"""
Curriculum regularization: convection at β = 30
================================================

The standard PINN cannot learn ``u_t + 30 u_x = 0`` (see the previous example). The
curriculum of Krishnapriyan et al. (NeurIPS 2021) trains the same network on easy versions
of the equation first, β = 1, 5, 10, …, 30, each stage starting from the last stage's
solution. Same network (4 × 50 tanh), same 1000 collocation points; only the way of
training changes: ``strategy="curriculum"`` with nothing else set, which trains each stage
with the curriculum's own defaults (500 Adam steps then 1000 L-BFGS iterations, the early
stages in float32, the last in float64 with six times the iterations). The standard PINN
gets the paper's settings (:data:`physml.strategies.PAPER_SETTINGS`), which reproduce its
failure.
"""

import matplotlib.pyplot as plt

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import Convection
from physml.plotting import plot_solutions
from physml.strategies import PAPER_SETTINGS

pde = Convection(beta=30.0)
X0, u0 = pde.initial_data(n_points=256)
X, u = make_pde_data(pde)

standard = PINNRegressor(pde=pde, random_state=0, **PAPER_SETTINGS).fit(X0, u0)
curriculum = PINNRegressor(pde=pde, strategy="curriculum", random_state=0).fit(X0, u0)
cases = []
for name, est in (("standard", standard), ("curriculum", curriculum)):
    u_hat = est.predict(X)
    print(f"{name}: relative L2 error {relative_l2_error(u, u_hat):.2e}")
    cases.append((f"β = 30, {name}", X, u, u_hat))

# %%
# The stages the curriculum went through, how each trained, and its lowest loss.
for stage in curriculum.stages_:
    print(f"beta = {stage['coefficients']['beta']:>4g}: {stage['dtype']}, "
          f"{stage['n_iter']} iterations, loss {stage['loss']:.2e}")

# %%
# Exact solution, prediction and error: the standard PINN finds a smooth function; the
# curriculum finds the travelling wave.
plot_solutions(cases, 256, 100)
plt.show()
