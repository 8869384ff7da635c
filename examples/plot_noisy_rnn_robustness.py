"""
Noisy RNN: robustness to perturbed inputs
=========================================

The Noisy RNN (Lim et al., NeurIPS 2021) trains the Lipschitz RNN's dynamics with noise
injected into the hidden state (Euler–Maruyama), and predicts without it. The noise acts
as a regularizer that makes the classifier less sensitive to perturbed inputs. Here both
are trained on digits read row by row and tested with Gaussian noise of growing size
added to the pixels (``benchmarks/bench_recurrent.py robustness`` prints the table, with
salt-and-pepper noise too).
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.model_selection import train_test_split

from physml import LipschitzRNNClassifier, NoisyRNNClassifier
from physml.datasets import load_sequential_digits

X, y = load_sequential_digits(by_rows=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)
kw = dict(hidden_size=128, dt=1.0, max_iter=40, random_state=0)
models = {"Lipschitz RNN": LipschitzRNNClassifier(**kw),
          "Noisy RNN": NoisyRNNClassifier(additive_noise=0.1, multiplicative_noise=0.05,
                                          **kw)}
levels = np.linspace(0, 0.4, 9)
rng = np.random.default_rng(0)
noise = rng.standard_normal(X_test.shape)
fig, ax = plt.subplots(figsize=(6, 4))
for name, est in models.items():
    est.fit(X_train, y_train)
    accuracy = [est.score(X_test + s * noise, y_test) for s in levels]
    ax.plot(levels, 100 * np.array(accuracy), "o-", label=name)
ax.set_xlabel("standard deviation of the Gaussian input noise")
ax.set_ylabel("test accuracy (%)")
ax.legend()
fig.tight_layout()
plt.show()
