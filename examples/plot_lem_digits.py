"""
Long Expressive Memory on sequential digits
===========================================

sklearn's 8 × 8 digits read one pixel at a time: 64 steps of one feature, a small
offline stand-in for sequential MNIST. :class:`~physml.LEMClassifier` trains through
skorch; ``history_`` holds one entry per epoch, from which the learning curve is drawn.
The settings are those of ``benchmarks/bench_recurrent.py pixels``.
"""

import matplotlib.pyplot as plt
from sklearn.model_selection import train_test_split

from physml import LEMClassifier
from physml.datasets import load_sequential_digits

X, y = load_sequential_digits()  # (1797, 64, 1)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y,
                                                    random_state=0)
est = LEMClassifier(hidden_size=64, dt=1.0, max_iter=80, learning_rate=5e-3,
                    random_state=0).fit(X_train, y_train)
print(f"test accuracy: {est.score(X_test, y_test):.4f}")

fig, ax = plt.subplots(figsize=(6, 4))
ax.semilogy(est.history_["epoch"], est.history_["train_loss"])
ax.set_xlabel("epoch")
ax.set_ylabel("training loss (cross-entropy)")
ax.set_title("LEM on digits, pixel by pixel")
fig.tight_layout()
plt.show()
