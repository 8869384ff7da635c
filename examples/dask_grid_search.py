"""
Parameter search on a Dask cluster
==================================

A grid search over a PDE coefficient is many independent fits: joblib runs them in
parallel, and with ``dask.distributed`` on a cluster, the same code spreads them over
machines. Point ``PHYSML_SCHEDULER`` at your scheduler (``tcp://host:8786``); without it
this starts a local two-worker cluster. Each fit takes at most the budget of threads
joblib gives a worker (one each here). The results are the same as with ``n_jobs=1``:
every fit is seeded by ``random_state``, and its bits do not depend on its thread count.

(Not executed when the documentation is built: it needs a cluster.)
"""

import os

import numpy as np
from distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV

from physml import PINNRegressor
from physml.metrics import get_scorer
from physml.pde import Convection


def main():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 2 * np.pi, 500), rng.uniform(0, 1, 500)])
    u = Convection(beta=4.0).reference_solution(X) + 0.01 * rng.standard_normal(500)

    address = os.environ.get("PHYSML_SCHEDULER")
    client = Client(address) if address else Client(LocalCluster(n_workers=2,
                                                                 threads_per_worker=1))
    print(client)
    search = GridSearchCV(
        PINNRegressor(pde=Convection(), dtype="float64", max_iter=300, random_state=0),
        {"pde__beta": [1.0, 2.0, 4.0, 8.0]}, cv=3, n_jobs=-1,
        scoring=get_scorer("neg_relative_l2_error"))
    with parallel_config(backend="dask"):
        search.fit(X, u)
    print("best:", search.best_params_)
    print(np.round(search.cv_results_["mean_test_score"], 4))
    client.close()


# The guard matters: a local cluster starts its workers as new processes, which import
# this file again; without it each would start a cluster of its own.
if __name__ == "__main__":
    main()
