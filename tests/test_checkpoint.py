"""Long fits: checkpoint and resume to the same bits, warm start, callbacks."""

import csv
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import time
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_digits

from physml import (
    ContinuousNetClassifier,
    LEMClassifier,
    LipschitzRNNRegressor,
    ODENetForecaster,
    PINNRegressor,
)
from physml.callbacks import CSVLogger, EarlyStopping, PrintProgress, StopTraining
from physml.datasets import load_sequential_digits, make_harmonic_oscillator, make_pde_data
from physml.pde import Convection

PDE = Convection(beta=5.0)
X0, U0 = PDE.initial_data(n_points=64)
GRID = make_pde_data(PDE)[0][::7]

#: Small fits of every strategy (each a second or two), with their optimizers' phases.
PINN_CASES = {
    "standard": dict(max_iter=150, warmup_iter=30),
    "curriculum": dict(max_iter=120, warmup_iter=20),
    "seq2seq": dict(max_iter=60, warmup_iter=10),
    "causal": dict(max_iter=150, warmup_iter=20),
}


def pinn(strategy="standard", **kw):
    return PINNRegressor(pde=PDE, strategy=strategy, hidden_layer_sizes=(16, 16),
                         n_collocation=128, random_state=0,
                         **{"n_jobs": 1, **PINN_CASES[strategy], **kw})


def oscillator():
    return make_harmonic_oscillator(n_trajectories=3, dt=0.5, random_state=0)[0]


def digits():
    X, y = load_sequential_digits()
    return X[:200], y[:200]


class Interrupt:
    """Ctrl-C at the ``n``-th logged row."""

    def __init__(self, n):
        self.n, self.seen = n, 0

    def on_iteration(self, estimator, record):
        self.seen += 1
        if self.seen == self.n:
            raise KeyboardInterrupt


def interrupted(estimator, n, path, X, y=None):
    """Fit ``estimator`` with a checkpoint written at every chance, interrupted at row
    ``n``."""
    estimator.set_params(checkpoint=path, checkpoint_every=0, callbacks=[Interrupt(n)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        estimator.fit(X) if y is None else estimator.fit(X, y)
    assert estimator.stopped_ == "interrupted"
    return estimator


@pytest.mark.parametrize("strategy", sorted(PINN_CASES))
def test_pinn_interrupted_twice_then_resumed_equals_uninterrupted(strategy, tmp_path):
    reference = pinn(strategy).fit(X0, U0)
    path = tmp_path / "fit.ckpt"
    n = len(reference.history_["loss"])
    for cut in (n // 3, 2 * n // 3):
        interrupted(pinn(strategy), cut, path, X0, U0)
    resumed = pinn(strategy, checkpoint=path, checkpoint_every=0).fit(X0, U0)
    assert np.array_equal(resumed.predict(GRID), reference.predict(GRID))
    assert resumed.history_["loss"] == reference.history_["loss"]
    assert resumed.n_iter_ == reference.n_iter_ and resumed.stopped_ is None
    assert [s["optimizer"] for s in resumed.stages_] == \
        [s["optimizer"] for s in reference.stages_]
    # The file now holds the finished fit: fitting again returns it without training.
    again = pinn(strategy, checkpoint=path).fit(X0, U0)
    assert np.array_equal(again.predict(GRID), reference.predict(GRID))


def test_an_inverse_fit_resumes_with_its_learned_coefficient(tmp_path):
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 2 * np.pi, 200), rng.uniform(0, 1, 200)])
    u = Convection(beta=3.0).reference_solution(X)

    def make(**kw):
        return PINNRegressor(pde=Convection(beta=1.0), learn_coefficients=("beta",),
                             hidden_layer_sizes=(16, 16), n_collocation=128, max_iter=120,
                             random_state=0, n_jobs=1, **kw)

    reference = make().fit(X, u)
    n = len(reference.history_["loss"])
    for cut in (n // 5, n // 2):  # inside the observations' phase, then the joint one
        interrupted(make(), cut, tmp_path / "inverse.ckpt", X, u)
    resumed = make(checkpoint=tmp_path / "inverse.ckpt").fit(X, u)
    assert resumed.coefficients_ == reference.coefficients_
    assert resumed.history_["beta"] == reference.history_["beta"]
    assert np.array_equal(resumed.predict(GRID), reference.predict(GRID))


def test_odenet_and_lem_resume_to_the_same_bits(tmp_path):
    X = oscillator()
    reference = ODENetForecaster(dt=0.5, max_iter=200, random_state=0).fit(X)
    interrupted(ODENetForecaster(dt=0.5, max_iter=200, random_state=0), 80,
                tmp_path / "ode.ckpt", X)
    resumed = ODENetForecaster(dt=0.5, max_iter=200, random_state=0,
                               checkpoint=tmp_path / "ode.ckpt").fit(X)
    assert np.array_equal(resumed.predict(X[0]), reference.predict(X[0]))
    assert resumed.history_["loss"] == reference.history_["loss"]

    X, y = digits()
    kw = dict(hidden_size=8, max_iter=5, random_state=0, n_jobs=1)
    reference = LEMClassifier(**kw).fit(X, y)
    interrupted(LEMClassifier(**kw), 2, tmp_path / "lem.ckpt", X, y)
    resumed = LEMClassifier(**kw, checkpoint=tmp_path / "lem.ckpt").fit(X, y)
    assert np.array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    assert resumed.n_iter_ == 5 and resumed.stopped_ is None


def test_continuousnet_and_a_sequence_regressor_resume_and_warm_start(tmp_path):
    X, y = load_digits(return_X_y=True)
    X, y = X[:200], y[:200]
    kw = dict(image_shape=(1, 8, 8), channels=4, max_iter=4, batch_size=64, random_state=0,
              n_jobs=1)
    reference = ContinuousNetClassifier(**kw).fit(X, y)
    interrupted(ContinuousNetClassifier(**kw), 2, tmp_path / "cn.ckpt", X, y)
    resumed = ContinuousNetClassifier(**kw, checkpoint=tmp_path / "cn.ckpt").fit(X, y)
    assert np.array_equal(resumed.predict_proba(X), reference.predict_proba(X))
    warm = ContinuousNetClassifier(**{**kw, "max_iter": 0}, warm_start=True)
    warm.fit(X, y)
    before = warm.predict_proba(X)
    assert np.array_equal(warm.fit(X, y).predict_proba(X), before)

    X, y = digits()
    kw = dict(hidden_size=8, max_iter=4, random_state=0, n_jobs=1)
    target = y.astype(float) / 10
    reference = LipschitzRNNRegressor(**kw).fit(X, target)
    interrupted(LipschitzRNNRegressor(**kw), 2, tmp_path / "lip.ckpt", X, target)
    resumed = LipschitzRNNRegressor(**kw, checkpoint=tmp_path / "lip.ckpt").fit(X, target)
    assert np.array_equal(resumed.predict(X), reference.predict(X))


def test_a_finished_early_stopped_fit_is_returned_as_it_ended(tmp_path):
    X, y = digits()
    kw = dict(hidden_size=8, max_iter=40, early_stopping=1, validation_fraction=0.3,
              learning_rate=0.1, random_state=0, checkpoint=tmp_path / "es.ckpt")
    first = LEMClassifier(**kw).fit(X, y)
    assert first.n_iter_ < 40 and first.stopped_ is None
    again = LEMClassifier(**kw).fit(X, y)
    assert again.n_iter_ == first.n_iter_
    assert np.array_equal(again.predict_proba(X), first.predict_proba(X))


def test_checkpoint_of_other_parameters_or_data_is_refused(tmp_path):
    path = tmp_path / "fit.ckpt"
    pinn(max_iter=20, warmup_iter=5, checkpoint=path).fit(X0, U0)
    with pytest.raises(ValueError, match=r"fit\.ckpt.*differ in: max_iter"):
        pinn(max_iter=30, warmup_iter=5, checkpoint=path).fit(X0, U0)
    with pytest.raises(ValueError, match=r"differ in: \(data\)"):
        pinn(max_iter=20, warmup_iter=5, checkpoint=path).fit(X0, U0 + 1.0)
    # an output transform is told apart by its code, not only its name
    def transform(k):
        return lambda X, u: u * (1.0 + k * X[:, 1])
    pinn(max_iter=20, warmup_iter=5, output_transform=transform(0.0),
         checkpoint=tmp_path / "t.ckpt").fit(X0, U0)
    with pytest.raises(ValueError, match="differ in: output_transform"):
        pinn(max_iter=20, warmup_iter=5, output_transform=transform(1.0),
             checkpoint=tmp_path / "t.ckpt").fit(X0, U0)
    # what does not change the computation may differ
    pinn(max_iter=20, warmup_iter=5, checkpoint=path, verbose=0, n_jobs=2,
         checkpoint_every=5.0).fit(X0, U0)


def test_truncated_or_foreign_checkpoint_names_the_file(tmp_path):
    path = tmp_path / "fit.ckpt"
    pinn(max_iter=20, warmup_iter=5, checkpoint=path).fit(X0, U0)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"fit\.ckpt.*truncated or is not a physml"):
        pinn(max_iter=20, warmup_iter=5, checkpoint=path).fit(X0, U0)
    path.write_bytes(pickle.dumps({"weights": [1, 2]}))
    with pytest.raises(ValueError, match="not a physml checkpoint"):
        pinn(max_iter=20, warmup_iter=5, checkpoint=path).fit(X0, U0)


def test_a_directory_holds_one_checkpoint_per_configuration(tmp_path):
    for max_iter in (10, 20):
        pinn(max_iter=max_iter, warmup_iter=5, checkpoint=tmp_path).fit(X0, U0)
    names = sorted(os.listdir(tmp_path))
    assert len(names) == 2 and all(n.startswith("PINNRegressor-") for n in names)
    assert not any(n.endswith(".partial") for n in names)


def test_a_grid_search_shares_a_checkpoint_directory(tmp_path):
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X = np.column_stack([rng.uniform(0, 2 * np.pi, 60), rng.uniform(0, 1, 60)])
    u = PDE.reference_solution(X)
    search = GridSearchCV(pinn(max_iter=20, warmup_iter=5, checkpoint=str(tmp_path) + os.sep),
                          {"pde__beta": [4.0, 5.0]}, cv=2)
    first = search.fit(X, u).cv_results_["mean_test_score"]
    # two candidates on two folds, and the refit on all the data: a file each
    assert len(os.listdir(tmp_path)) == 5
    again = search.fit(X, u).cv_results_["mean_test_score"]
    assert np.array_equal(first, again) and len(os.listdir(tmp_path)) == 5


def test_warm_start_continues_where_the_fit_ended():
    est = pinn(max_iter=100, warmup_iter=20, strategy="standard", warm_start=True)
    est.fit(X0, U0)
    best = est.stages_[-1]["loss"]
    est.set_params(max_iter=50)
    est.fit(X0, U0)
    # the first loss of the second fit is the first's lowest, in float32 (its first phase)
    assert est.history_["loss"][0] == pytest.approx(best, rel=1e-4)
    cold = pinn(max_iter=50, warmup_iter=20).fit(X0, U0)
    assert cold.history_["loss"][0] > 3 * best
    with pytest.raises(ValueError, match="warm_start=True.*another shape"):
        est.set_params(hidden_layer_sizes=(8, 8)).fit(X0, U0)

    X = oscillator()
    ode = ODENetForecaster(dt=0.5, max_iter=100, random_state=0, warm_start=True).fit(X)
    last = ode.history_["loss"][-1]
    assert ode.fit(X).history_["loss"][0] == pytest.approx(last, rel=1e-2)


def test_lem_warm_start_starts_from_the_fitted_network():
    X, y = digits()
    est = LEMClassifier(hidden_size=8, max_iter=2, random_state=0, warm_start=True).fit(X, y)
    before = est.predict_proba(X)
    est.set_params(max_iter=0).fit(X, y)
    assert np.array_equal(est.predict_proba(X), before)
    est.set_params(warm_start=False).fit(X, y)
    assert not np.array_equal(est.predict_proba(X), before)


class StopAt:
    def __init__(self, n):
        self.n, self.seen, self.stages = n, 0, []

    def on_stage_begin(self, estimator, stage):
        self.stages.append(stage["index"])

    def on_iteration(self, estimator, record):
        self.seen += 1
        assert estimator.predict(GRID[:3] if estimator.n_features_in_ == 2 else
                                 np.zeros((1, estimator.n_features_in_))) is not None
        if self.seen == self.n:
            raise StopTraining


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_a_callback_stops_the_fit_cleanly():
    stop = StopAt(40)
    est = pinn(callbacks=[stop]).fit(X0, U0)
    assert est.stopped_ == "callback" and len(est.history_["loss"]) == 40
    assert stop.stages == [0]
    assert np.isfinite(est.predict(GRID)).all()
    X, y = digits()
    lem = LEMClassifier(hidden_size=8, max_iter=5, random_state=0,
                        callbacks=[EarlyStopping(metric=lambda e: 1.0, patience=2)]).fit(X, y)
    assert lem.stopped_ == "callback" and lem.n_iter_ == 3
    assert lem.predict(X).shape == (200,)


def test_shipped_callbacks_on_every_estimator(tmp_path, capsys):
    log = tmp_path / "pinn.csv"
    est = pinn(max_iter=40, warmup_iter=10, callbacks=[CSVLogger(log), PrintProgress(25)])
    est.fit(X0, U0)
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == len(est.history_["loss"])
    assert [float(r["loss"]) for r in rows] == est.history_["loss"]
    assert {"residual", "boundary", "data", "optimizer", "stage"} <= set(rows[0])
    assert "[PINNRegressor] stage 0 record 25: loss" in capsys.readouterr().out

    X, y = digits()
    log = tmp_path / "lem.csv"
    lem = LEMClassifier(hidden_size=8, max_iter=3, random_state=0,
                        callbacks=[CSVLogger(log)]).fit(X, y)
    with open(log) as f:
        rows = list(csv.DictReader(f))
    assert [float(r["loss"]) for r in rows] == pytest.approx(lem.history_["loss"])
    stop = EarlyStopping(metric="residual", patience=3, min_delta=10.0)
    assert pinn(callbacks=[stop]).fit(X0, U0).stopped_ == "callback"


def test_a_fit_that_fails_leaves_no_network_behind_its_callbacks():
    from physml.pde import CustomPDE

    pde = CustomPDE(coordinates=("x", "t"), domain=((0, 1), (0, 1)),
                    residual=lambda X, u, d, c: u[:, None], derivatives=("u_t",))
    est = PINNRegressor(pde=pde, max_iter=5, callbacks=[PrintProgress()])
    with pytest.raises(ValueError, match="residual"):
        est.fit(np.zeros((4, 2)), np.zeros(4))
    assert not hasattr(est, "network_")


def test_bad_callbacks_and_checkpoint_parameters_are_refused():
    with pytest.raises(TypeError, match="callbacks.*none of the callback methods"):
        pinn(callbacks=[object()]).fit(X0, U0)
    with pytest.raises(ValueError, match="checkpoint_every"):
        pinn(checkpoint_every=-1.0).fit(X0, U0)
    with pytest.raises(ValueError, match="callbacks"):
        ODENetForecaster(callbacks="log").fit(oscillator())


# Killed for real: SIGKILL in a subprocess, at random moments and inside writes. -------

_SCRIPT = textwrap.dedent("""
    import os, signal, sys, threading, time
    import numpy as np
    import torch
    from physml import LEMClassifier, ODENetForecaster, PINNRegressor
    from physml.datasets import load_sequential_digits, make_harmonic_oscillator
    from physml.pde import Convection
    import physml._checkpoint as ck

    case, path, out, kill = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    how, _, when = kill.partition(":")
    if how == "write":
        # the process dies half way through its when-th checkpoint write
        count, save = [0], torch.save
        def dying(obj, f, *a, **k):
            count[0] += 1
            if count[0] == int(when):
                f.write(b"\\x80\\x02half a checkpoint")
                f.flush()
                os.kill(os.getpid(), signal.SIGKILL)
            save(obj, f, *a, **k)
        ck.torch.save = dying
    common = dict(checkpoint=path if path != "-" else None, checkpoint_every=0)
    if case == "lem":
        X, y = load_sequential_digits()
        X, y = X[:200], y[:200]
        est = LEMClassifier(hidden_size=8, max_iter=6, random_state=0, n_jobs=1, **common)
        fit = lambda: est.fit(X, y).predict_proba(X)
    elif case == "odenet":
        X = make_harmonic_oscillator(n_trajectories=3, dt=0.5, random_state=0)[0]
        est = ODENetForecaster(dt=0.5, max_iter=600, random_state=0, n_jobs=1, **common)
        fit = lambda: est.fit(X).predict(X[0])
    else:
        pde = Convection(beta=5.0)
        X0, u0 = pde.initial_data(n_points=64)
        budget = {"curriculum": (200, 30), "seq2seq": (100, 20), "causal": (200, 30)}[case]
        est = PINNRegressor(pde=pde, strategy=case, hidden_layer_sizes=(16, 16),
                            n_collocation=128, max_iter=budget[0], warmup_iter=budget[1],
                            random_state=0, n_jobs=1, **common)
        grid = np.stack(np.meshgrid(np.linspace(0, 2 * np.pi, 40), np.linspace(0, 1, 20)),
                        -1).reshape(-1, 2)
        fit = lambda: est.fit(X0, u0).predict(grid)
    if how == "timer":  # SIGKILL at a moment of the fit, whatever it is doing then
        threading.Timer(float(when), os.kill, (os.getpid(), signal.SIGKILL)).start()
    start = time.perf_counter()
    result = fit()
    print(time.perf_counter() - start)
    np.save(out, result)
    os._exit(0)
""")


def _run(tmp_path, case, path, out, kill="none"):
    script = tmp_path / "fit_script.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    done = subprocess.run([sys.executable, str(script), case, str(path), str(out), kill],
                          env=env, capture_output=True, timeout=600)
    return done.returncode, done.stdout.decode(), done.stderr.decode()


def _killed_then_finished(tmp_path, case, kills, rng):
    """The uninterrupted fit's result and the result of a fit killed as each of ``kills``
    says (``"timer"``: at a random moment within the uninterrupted fit's time;
    ``"write:k"``: inside its k-th checkpoint write), then run to the end; and how many
    processes died inside a write."""
    code, out, err = _run(tmp_path, case, "-", tmp_path / "reference.npy")
    assert code == 0, err
    seconds = float(out.split()[-1])
    path = tmp_path / f"{case}.ckpt"
    inside_writes = 0
    for kill in kills:
        if kill == "timer":
            kill = f"timer:{rng.uniform(0.05, 1.0) * seconds:.3f}"
        code, _, err = _run(tmp_path, case, path, tmp_path / "out.npy", kill)
        assert code in (0, -signal.SIGKILL), err
        inside_writes += kill.startswith("write") and code == -signal.SIGKILL
    code, _, err = _run(tmp_path, case, path, tmp_path / "out.npy")
    assert code == 0, err
    return np.load(tmp_path / "reference.npy"), np.load(tmp_path / "out.npy"), inside_writes


def test_pinn_killed_by_sigkill_resumes_to_the_same_bits(tmp_path):
    rng = np.random.default_rng(int(time.time()))
    kills = ["timer", f"write:{rng.integers(1, 4)}"]
    reference, resumed, inside = _killed_then_finished(tmp_path, "curriculum", kills, rng)
    assert inside == 1  # the second process died inside a write; the file stayed whole
    assert np.array_equal(resumed, reference)


@pytest.mark.slow
@pytest.mark.parametrize("case", ["curriculum", "seq2seq", "causal", "odenet", "lem"])
def test_five_kills_in_a_row_some_inside_writes(case, tmp_path):
    rng = np.random.default_rng(int(time.time()))
    kills = ["timer", f"write:{rng.integers(1, 4)}", "timer", f"write:{rng.integers(1, 4)}",
             "timer"]
    reference, resumed, inside = _killed_then_finished(tmp_path, case, kills, rng)
    assert inside >= 1
    assert np.array_equal(resumed, reference)
