"""
Curriculum regularization: convection at β = 30
================================================

The standard PINN cannot learn ``u_t + 30 u_x = 0`` (see the previous example). The
curriculum of Krishnapriyan et al. (NeurIPS 2021) trains the same network on easy versions
of the equation first, β = 1, 5, 10, …, 30, each stage starting from the last stage's
solution. Same network (4 × 50 tanh), same 1000 collocation points; only the way of
training changes. The recipe is physml's benchmark recipe
(:data:`physml.reproduce.CURRICULUM_RECIPE`: float64, per stage 500 Adam steps then 1000
L-BFGS iterations, six times that at the last stage).
"""

import matplotlib.pyplot as plt

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import Convection
from physml.plotting import plot_solutions
from physml.reproduce import CURRICULUM_RECIPE, STANDARD_RECIPE
from physml.strategies import Curriculum

pde = Convection(beta=30.0)
X0, u0 = pde.initial_data(n_points=256)
X, u = make_pde_data(pde)

standard = PINNRegressor(pde=pde, random_state=0, **STANDARD_RECIPE).fit(X0, u0)
curriculum = PINNRegressor(pde=pde, strategy=Curriculum(final_stage_factor=6.0),
                           random_state=0, **CURRICULUM_RECIPE).fit(X0, u0)
cases = []
for name, est in (("standard", standard), ("curriculum", curriculum)):
    u_hat = est.predict(X)
    print(f"{name}: relative L2 error {relative_l2_error(u, u_hat):.2e}")
    cases.append((f"β = 30, {name}", X, u, u_hat))

# %%
# The stages the curriculum went through, and the lowest loss of each.
for stage in curriculum.stages_:
    print(f"beta = {stage['coefficients']['beta']:>4g}: {stage['n_iter']} iterations, "
          f"loss {stage['loss']:.2e}")

# %%
# Exact solution, prediction and error: the standard PINN finds a smooth function; the
# curriculum finds the travelling wave.
plot_solutions(cases, 256, 100)
plt.show()
