"""
ContinuousNet: accuracy against depth, and compression without retraining
==========================================================================

A :class:`~physml.ContinuousNetClassifier` is a ResNet whose weights are functions of
depth ``t ∈ [0, 1]``, expanded in basis functions, and whose forward pass integrates
``dh/dt = f(h, θ(t))``. The number of steps and the scheme are set at prediction time.
Trained with 8 steps, does the network still classify when run with 4, 16 or 32? This is
the convergence test of Queiruga et al. (2020) for classifiers. Then the weights are
L2-projected onto half the basis functions: half the block's parameters, no retraining.
"""

import matplotlib.pyplot as plt
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from physml import ContinuousNetClassifier
from physml.diagnostics import depth_convergence_test

X, y = load_digits(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)
n_steps = [2, 4, 8, 16, 32]
fig, ax = plt.subplots(figsize=(6, 4))
fitted = {}
for integrator in ("euler", "midpoint", "rk4"):
    est = ContinuousNetClassifier(image_shape=(1, 8, 8), integrator=integrator,
                                  random_state=0).fit(X_train, y_train)
    result = depth_convergence_test(est, X_test, y_test, n_steps)
    ax.semilogx(result.extra["n_steps"], 100 * result.extra["accuracy"], "o-",
                label=f"trained with {integrator}", base=2)
    fitted[integrator] = est
ax.axvline(8, color="0.6", ls=":", lw=1)
ax.set_xlabel("depth steps at inference (trained with 8)")
ax.set_ylabel("test accuracy (%)")
ax.legend()
fig.tight_layout()

# %%
# Compression: project the RK4-trained network's weights onto 4 basis functions instead
# of 8, and run it with 4 steps.
est = fitted["rk4"]
print(f"8 basis functions, 8 steps: {est.n_parameters()} parameters, "
      f"accuracy {est.score(X_test, y_test):.4f}")
est.project(4).set_params(n_steps=4)
print(f"4 basis functions, 4 steps: {est.n_parameters()} parameters, "
      f"accuracy {est.score(X_test, y_test):.4f}")
plt.show()
