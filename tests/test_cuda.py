"""``device="cuda"``: every estimator fits on a GPU, and the pickle loads on a CPU-only
machine (a fresh process with ``CUDA_VISIBLE_DEVICES=""``) and predicts the same.

Skipped where no GPU is present (CI); run ``python -m pytest tests/test_cuda.py`` on one.
"""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

from physml import (
    ContinuousNetClassifier,
    LEMClassifier,
    LEMRegressor,
    LipschitzRNNClassifier,
    NoisyRNNClassifier,
    ODENetForecaster,
    PINNRegressor,
)
from physml.datasets import (
    load_sequential_digits,
    make_adding_problem,
    make_harmonic_oscillator,
)
from physml.pde import Convection

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def _cases():
    pde = Convection(beta=1.0)
    X0, u0 = pde.initial_data(64)
    grid = np.stack(np.meshgrid(np.linspace(0, 2 * np.pi, 7), np.linspace(0, 1, 5)),
                    -1).reshape(-1, 2)
    yield "pinn", PINNRegressor(pde=pde, hidden_layer_sizes=(16,), max_iter=30,
                                n_collocation=64, random_state=0), (X0, u0), grid
    X, _ = make_harmonic_oscillator(n_timepoints=21)
    yield "odenet", ODENetForecaster(hidden_layer_sizes=(8,), max_iter=30,
                                     random_state=0), (X, None), X[0, :3]
    rows, labels = load_sequential_digits(by_rows=True)
    rows, labels = rows[:300], labels[:300]
    yield "continuousnet", ContinuousNetClassifier(max_iter=2, random_state=0), \
        (rows.reshape(len(rows), -1), labels), rows[:20].reshape(20, -1)
    for name, cls in (("lem", LEMClassifier), ("lipschitz", LipschitzRNNClassifier),
                      ("noisy", NoisyRNNClassifier)):
        yield name, cls(hidden_size=16, max_iter=2, random_state=0), (rows, labels), rows[:20]
    X, y = make_adding_problem(128, 10, random_state=0)
    yield "lem_regressor", LEMRegressor(hidden_size=16, max_iter=2, random_state=0), \
        (X, y), X[:20]


# Built only where a GPU is present: the skipped module loads no data in CI.
CASES = list(_cases()) if torch.cuda.is_available() else []


@pytest.mark.parametrize("name, est, data, X_new", CASES, ids=[case[0] for case in CASES])
def test_fits_on_cuda_and_loads_on_a_cpu_only_machine(name, est, data, X_new, tmp_path):
    est.set_params(device="cuda").fit(*data)
    expected = est.predict(X_new)
    path = tmp_path / f"{name}.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X_new.npy", X_new)
    script = (
        "import pickle, sys, numpy as np, torch\n"
        "assert not torch.cuda.is_available()\n"
        f"est = pickle.loads(open({str(path)!r}, 'rb').read())\n"
        f"np.save({str(tmp_path / 'cpu.npy')!r}, est.predict(np.load("
        f"{str(tmp_path / 'X_new.npy')!r})))\n"
    )
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")
    subprocess.run([sys.executable, "-c", script], env=env, check=True)
    on_cpu = np.load(tmp_path / "cpu.npy")
    if expected.dtype.kind == "f":
        np.testing.assert_allclose(on_cpu, expected, rtol=1e-4, atol=1e-5)
    else:
        np.testing.assert_array_equal(on_cpu, expected)
