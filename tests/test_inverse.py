"""Inverse problems, parameter search, pipelines, parallel and distributed search, pickling."""

import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold, RandomizedSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from physml import PINNRegressor
from physml.metrics import get_scorer, neg_relative_l2_error
from physml.pde import Burgers, Convection
from physml.strategies import Curriculum

FAST = dict(hidden_layer_sizes=(16, 16), n_collocation=200, n_boundary=20, max_iter=60,
            dtype="float64", random_state=0)


def sensors(pde, n=300, noise=0.0, seed=0):
    """Noisy interior observations of the reference solution."""
    rng = np.random.default_rng(seed)
    (x0, x1), (t0, t1) = pde.domain
    X = np.column_stack([rng.uniform(x0, x1, n), rng.uniform(t0, t1, n)])
    u = pde.reference_solution(X)
    return X, u + noise * rng.standard_normal(n)


def test_learned_coefficient_moves_to_the_truth_and_is_recorded():
    X, u = sensors(Convection(beta=3.0))
    est = PINNRegressor(pde=Convection(beta=1.0), learn_coefficients=("beta",),
                        **{**FAST, "max_iter": 200}).fit(X, u)
    assert abs(est.coefficients_["beta"] - 3.0) < 0.1, est.coefficients_
    trajectory = est.history_["beta"]
    assert trajectory[0] == 1.0 and len(trajectory) == len(est.history_["loss"])
    # The equation object the user passed is untouched: the guess stays a guess.
    assert est.pde.beta == 1.0



def test_each_term_of_the_history_lines_up_with_the_loss():
    """An inverse fit fits the observations alone first: the residual and boundary terms
    are NaN at those evaluations, and each evaluation's terms sum to its loss."""
    X, u = sensors(Convection(beta=3.0))
    est = PINNRegressor(pde=Convection(beta=1.0), learn_coefficients=("beta",),
                        **{**FAST, "max_iter": 40}).fit(X, u)
    h = {k: np.asarray(v) for k, v in est.history_.items()}
    assert len({len(v) for v in h.values()}) == 1
    data_only = h["optimizer"] == "adam"  # the observations-first phase starts with Adam
    assert data_only[0] and np.isnan(h["boundary"][0]) and np.isnan(h["residual"][0])
    joint = ~np.isnan(h["boundary"]) & ~np.isnan(h["residual"]) & ~np.isnan(h["data"])
    assert joint[-1] and joint.sum() > 10
    np.testing.assert_allclose(h["loss"][joint],
                               (h["data"] + h["residual"] + h["boundary"])[joint], rtol=1e-5)

def test_positive_coefficients_stay_positive():
    X, u = sensors(Burgers(), n=200)
    est = PINNRegressor(pde=Burgers(nu=0.05), learn_coefficients=("nu",),
                        **{**FAST, "max_iter": 30}).fit(X, u)
    assert min(est.history_["nu"]) > 0
    # A negative viscosity is refused by Burgers' own constraints; a zero one (allowed:
    # inviscid) cannot be learned through its logarithm.
    with pytest.raises(ValueError, match="'nu' parameter of Burgers"):
        PINNRegressor(pde=Burgers(nu=-0.01), learn_coefficients=("nu",)).fit(X, u)
    with pytest.raises(ValueError, match="positive"):
        PINNRegressor(pde=Burgers(nu=0.0), learn_coefficients=("nu",)).fit(X, u)


@pytest.mark.parametrize("value, match, error", [
    (("rho",), "'rho' is not a coefficient of Convection", ValueError),
    ("beta", "'learn_coefficients' parameter", TypeError),
])
def test_learn_coefficients_input_errors(value, match, error):
    X, u = sensors(Convection(), n=20)
    with pytest.raises(error, match=match):
        PINNRegressor(pde=Convection(), learn_coefficients=value).fit(X, u)


def test_grid_search_over_the_equation_picks_the_true_coefficient():
    X, u = sensors(Convection(beta=4.0), n=300, noise=0.01)
    search = GridSearchCV(PINNRegressor(pde=Convection(), **FAST),
                          {"pde__beta": [1.0, 4.0, 8.0]},
                          scoring=get_scorer("neg_relative_l2_error"),
                          cv=KFold(3, shuffle=True, random_state=0)).fit(X, u)
    assert search.best_params_ == {"pde__beta": 4.0}, search.cv_results_["mean_test_score"]
    assert search.best_estimator_.pde.beta == 4.0


def test_randomized_search_over_strategy_and_network_parameters():
    X, u = sensors(Convection(beta=2.0), n=200)
    search = RandomizedSearchCV(
        PINNRegressor(pde=Convection(beta=2.0), strategy=Curriculum(), **FAST),
        {"strategy__step": [0.5, 1.0], "hidden_layer_sizes": [(8,), (16, 16)],
         "learning_rate": [0.5, 1.0]},
        n_iter=3, cv=2, scoring="neg_mean_squared_error", random_state=0).fit(X, u)
    assert len(search.cv_results_["params"]) == 3
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_scorer_by_name_and_as_a_function():
    X, u = sensors(Convection(beta=1.0), n=100)
    est = PINNRegressor(pde=Convection(beta=1.0), **FAST).fit(X, u)
    assert get_scorer("neg_relative_l2_error")(est, X, u) == neg_relative_l2_error(est, X, u)
    assert neg_relative_l2_error(est, X, u) < 0
    assert get_scorer("r2")(est, X, u) <= 1.0


def test_pipeline_with_a_coordinate_transformer_and_cross_val_score():
    # Observations arrive as (t, x); the transformer puts the columns in the equation's order.
    X, u = sensors(Convection(beta=1.0), n=200)
    swap = FunctionTransformer(lambda Z: Z[:, ::-1])
    pipe = make_pipeline(swap, PINNRegressor(pde=Convection(beta=1.0), **FAST))
    pipe.fit(X[:, ::-1], u)
    direct = PINNRegressor(pde=Convection(beta=1.0), **FAST).fit(X, u)
    np.testing.assert_allclose(pipe.predict(X[:, ::-1]), direct.predict(X))
    scores = cross_val_score(pipe, X[:, ::-1], u, cv=3, scoring=neg_relative_l2_error)
    assert scores.shape == (3,) and np.all(scores < 0)


def _small_search(n_jobs):
    X, u = sensors(Convection(beta=2.0), n=120, noise=0.01)
    return GridSearchCV(PINNRegressor(pde=Convection(), **{**FAST, "max_iter": 20}),
                        {"pde__beta": [1.0, 2.0]}, cv=2, n_jobs=n_jobs,
                        scoring=neg_relative_l2_error).fit(X, u)


def test_parallel_search_gives_the_same_results_as_serial():
    serial, parallel = _small_search(1), _small_search(2)
    np.testing.assert_array_equal(serial.cv_results_["mean_test_score"],
                                  parallel.cv_results_["mean_test_score"])


def test_a_joblib_worker_uses_its_thread_budget():
    from joblib import Parallel, delayed

    from physml._threads import thread_budget

    def threads_in_fit():  # n_jobs=-1 asks for every core; the worker's share caps it
        with thread_budget(-1):
            return torch.get_num_threads()

    inner = Parallel(n_jobs=2)(delayed(threads_in_fit)() for _ in range(2))
    assert inner == [1, 1] or torch.get_num_threads() == 1


def test_search_runs_on_a_dask_cluster(monkeypatch):
    distributed = pytest.importorskip("distributed")
    from joblib import parallel_config

    # distributed's nanny leaves its workers' environment (OMP_NUM_THREADS=1) in this
    # process's os.environ; setting it through monkeypatch puts the old value back after
    monkeypatch.setenv("OMP_NUM_THREADS", os.environ.get("OMP_NUM_THREADS", ""))
    if not os.environ["OMP_NUM_THREADS"]:
        monkeypatch.delenv("OMP_NUM_THREADS")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as client:
        assert len(client.scheduler_info()["workers"]) == 2
        with parallel_config(backend="dask"):
            on_dask = _small_search(-1)
    np.testing.assert_array_equal(on_dask.cv_results_["mean_test_score"],
                                  _small_search(1).cv_results_["mean_test_score"])


def test_a_fitted_estimator_reloads_in_another_process(tmp_path):
    X, u = sensors(Convection(beta=1.0), n=100)
    est = PINNRegressor(pde=Convection(beta=1.0), learn_coefficients=("beta",),
                        **FAST).fit(X, u)
    path = tmp_path / "est.pkl"
    path.write_bytes(pickle.dumps(est))
    np.save(tmp_path / "X.npy", X)
    code = ("import pickle, sys, numpy as np; p = sys.argv[1]; "
            "est = pickle.load(open(p + '/est.pkl', 'rb')); "
            "np.save(p + '/u.npy', est.predict(np.load(p + '/X.npy')))")
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    np.testing.assert_array_equal(np.load(tmp_path / "u.npy"), est.predict(X))
    assert pickle.loads(path.read_bytes()).coefficients_ == est.coefficients_


def test_a_model_saved_on_a_gpu_is_stored_with_cpu_tensors():
    # What makes a cuda-fitted model load on a CPU-only machine: the pickle holds CPU
    # tensors and the device it came from; loading moves it back only where CUDA exists.
    X, u = sensors(Convection(beta=1.0), n=50)
    est = PINNRegressor(pde=Convection(beta=1.0), **FAST).fit(X, u)
    est._fitted_device = "cuda:0"  # as if fitted there
    state = est.__getstate__()
    assert all(p.device.type == "cpu" for p in state["network_"].parameters())
    again = clone(est)
    again.__setstate__(state)
    if not torch.cuda.is_available():
        assert next(again.network_.parameters()).device.type == "cpu"
        np.testing.assert_array_equal(again.predict(X), est.predict(X))
