"""PINNRegressor: behaviour of the standard strategy, errors, divergence, interruption."""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import Burgers, Convection, CustomPDE, Reaction, ReactionDiffusion
from physml.strategies import PAPER_SETTINGS, Standard, TimeMarching

# The paper's optimizer settings at a small budget: these tests are about the estimator's
# behaviour, not the strategies' defaults (tests/test_strategies.py).
SMALL = {**PAPER_SETTINGS, **dict(hidden_layer_sizes=(20, 20), max_iter=150,
                                  n_collocation=200, n_boundary=20, random_state=0)}


def fitted(pde, **params):
    X0, u0 = pde.initial_data(64)
    return PINNRegressor(pde=pde, **{**SMALL, **params}).fit(X0, u0)


def test_standard_pinn_learns_easy_convection():
    pde = Convection(beta=1.0)
    est = fitted(pde)
    X, u = make_pde_data(pde, 64, 20)
    assert relative_l2_error(u, est.predict(X)) < 5e-2
    assert est.n_iter_ > 0 and est.stopped_ is None
    assert set(est.history_) >= {"loss", "data", "boundary", "residual", "optimizer"}
    assert est.coefficients_ == {"beta": 1.0}


def test_the_modified_mlp_gates_every_layer_and_learns_too():
    pde = Convection(beta=1.0)
    est = fitted(pde, architecture="modified")
    X, u = make_pde_data(pde, 64, 20)
    assert relative_l2_error(u, est.predict(X)) < 5e-2
    net = est.network_.network if hasattr(est.network_, "network") else est.network_
    assert type(net).__name__ == "ModifiedMLP" and len(net.encoders) == 2
    # a = h * U + (1 - h) * V after every hidden layer, from the two encoders of the input
    Z = torch.rand(5, 2, dtype=net.layers[0].weight.dtype)
    U, V = (torch.tanh(e(Z)) for e in net.encoders)
    a = Z
    for layer in net.layers[:-1]:
        h = torch.tanh(layer(a))
        a = h * U + (1 - h) * V
    torch.testing.assert_close(net(Z), net.layers[-1](a))


def _mixed(X, u, d, c):
    return d["u_t"] + d["u_x"] + 0.0 * d["u_xt"]


def _hard_initial_condition(X, N):
    return torch.sin(X[:, 0]) + X[:, 1] * N


@pytest.mark.parametrize("pde, params", [
    (Convection(beta=1.0), dict(architecture="modified")),
    (CustomPDE(_mixed, derivatives=("u_t", "u_x", "u_xt"), initial_condition=np.sin), {}),
    (Convection(beta=1.0), dict(constraints="exact")),
    (Convection(beta=1.0), dict(output_transform=_hard_initial_condition)),
], ids=["modified-mlp", "mixed-derivative", "exact-constraints", "output-transform"])
def test_compile_says_when_it_cannot_apply_and_runs_eagerly(pde, params):
    # torch.compile cannot differentiate autograd's input derivatives twice (it raised
    # "does not currently support double backward"): without the hand-written jets, or
    # with a transform whose chain rule goes through autograd (it raised the same with
    # constraints="exact" and with an output_transform), the fit says so once and runs
    # eagerly.
    with pytest.warns(UserWarning, match="compile=True has no effect") as record:
        est = fitted(pde, compile=True, max_iter=5, **params)
    assert len([w for w in record if "compile=True" in str(w.message)]) == 1
    assert est.n_iter_ > 0


def test_loss_terms_are_what_they_say():
    pde = Convection(beta=3.0)
    est = fitted(pde, max_iter=1)
    h = est.history_
    np.testing.assert_allclose(h["loss"][0], h["data"][0] + h["boundary"][0] + h["residual"][0],
                               rtol=1e-6)
    est2 = fitted(pde, max_iter=1, residual_weight=10.0)
    np.testing.assert_allclose(est2.history_["residual"][0], 10 * h["residual"][0], rtol=1e-5)


@pytest.mark.parametrize("pde", [Reaction(rho=2.0), ReactionDiffusion(nu=1.0, rho=2.0),
                                 Burgers(nu=0.1)], ids=lambda p: type(p).__name__)
def test_fast_derivatives_give_the_same_loss_as_autograd(pde, monkeypatch):
    one_phase = dict(max_iter=1, dtype="float64", strategy=Standard(early_dtype=None))
    est = fitted(pde, **one_phase)
    first = est.history_["loss"][0]
    monkeypatch.setattr("physml._problem.derivative_plan", lambda indices: None)
    est_autograd = fitted(pde, **one_phase)
    np.testing.assert_allclose(est_autograd.history_["loss"][0], first, rtol=1e-10)
    np.testing.assert_allclose(est_autograd.predict(pde.grid(16, 4)),
                               est.predict(pde.grid(16, 4)), rtol=1e-10)


def test_mixed_derivatives_fall_back_to_autograd():
    def residual(X, u, d, c):
        return d["u_t"] + d["u_xt"]

    pde = CustomPDE(residual, derivatives=("u_t", "u_xt"), initial_condition=np.sin)
    est = fitted(pde, max_iter=20)
    assert np.isfinite(est.history_["loss"]).all() and est.history_["loss"][-1] < est.history_[
        "loss"][0]


def test_optimizers():
    pde = Convection(beta=1.0)
    adam = fitted(pde, optimizer="adam", max_iter=30)
    assert adam.n_iter_ == 30 and set(adam.history_["optimizer"]) == {"adam"}
    both = fitted(pde, optimizer="adam+lbfgs", warmup_iter=20, max_iter=20)
    assert both.history_["optimizer"][:20] == ["adam"] * 20
    assert both.history_["optimizer"][-1] == "lbfgs"


def test_deterministic_under_random_state_and_clone_and_pickle():
    pde = Convection(beta=2.0)
    a, b = fitted(pde, max_iter=30), fitted(pde, max_iter=30)
    X = pde.grid(16, 4)
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert a.history_["loss"] == b.history_["loss"]
    c = fitted(pde, max_iter=30, random_state=1)
    assert not np.array_equal(a.predict(X), c.predict(X))
    twin = clone(a)
    assert not hasattr(twin, "network_") and twin.get_params()["pde"].beta == 2.0
    again = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(again.predict(X), a.predict(X))


def test_fit_leaves_the_global_torch_rng_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fitted(Convection(), max_iter=2)
    torch.testing.assert_close(torch.rand(3), expected)


def test_grid_search_over_nested_pde_coefficients():
    pde = Convection(beta=2.0)
    X, u = make_pde_data(pde, 32, 10)
    rows = np.random.default_rng(0).choice(len(X), 120, replace=False)
    search = GridSearchCV(PINNRegressor(pde=Convection(), **{**SMALL, "max_iter": 60}),
                          {"pde__beta": [0.0, 2.0]}, cv=2).fit(X[rows], u[rows])
    assert search.best_params_ == {"pde__beta": 2.0}


@pytest.mark.parametrize("params, match", [
    (dict(strategy="magic"), "'strategy' parameter .*'causal'.* Got 'magic'"),
    (dict(strategy=3), "'strategy' parameter"),
    (dict(optimizer="sgd"), "'optimizer' parameter .* Got 'sgd'"),
    (dict(activation="relu"), "'activation' parameter .*'tanh'.* Got 'relu'"),
    (dict(pde="convection"), "'pde' parameter"),
    (dict(hidden_layer_sizes=(0,)), "hidden_layer_sizes"),
    (dict(architecture="modified", hidden_layer_sizes=(20, 10)), "hidden_layer_sizes"),
    (dict(architecture="resnet"), "'architecture' parameter"),
    (dict(n_collocation=0), "n_collocation"),
    (dict(max_iter=-1), "max_iter"),
    (dict(residual_weight=float("inf")), "residual_weight"),
    (dict(learning_rate=0.0), "learning_rate"),
    (dict(dtype="float16"), "dtype"),
    (dict(device="nonsense"), "device"),
])
def test_bad_parameters_raise_errors_that_name_them(params, match):
    X0, u0 = Convection().initial_data(16)
    params = {"pde": Convection(), **params}
    with pytest.raises((ValueError, TypeError), match=match):
        PINNRegressor(**params).fit(X0, u0)


def test_bad_input_raises_errors_that_name_the_problem():
    est = PINNRegressor(pde=Convection(), max_iter=1)
    X0, u0 = Convection().initial_data(16)
    with pytest.raises(ValueError, match="3 columns.*coordinates"):
        est.fit(np.column_stack([X0, X0[:, :1]]), u0)
    bad = X0.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        est.fit(bad, u0)
    with pytest.raises(ValueError, match="infinity|inf"):
        est.fit(X0, np.where(np.arange(16) == 3, np.inf, u0))
    with pytest.raises(ValueError, match="0 sample"):
        est.fit(X0[:0], u0[:0])
    with pytest.raises(NotFittedError):
        est.predict(X0)
    est.fit(X0, u0)
    with pytest.raises(ValueError, match="features"):
        est.predict(X0[:, :1])


class BlowsUp:
    """A convection residual that turns to inf, then NaN, after ``after`` evaluations, as a
    residual with an exponential does once the network leaves its range."""

    def __init__(self, after):
        self.after, self.calls = after, 0

    def __call__(self, X, u, d, c):
        r = d["u_t"] + d["u_x"]
        if not torch.is_grad_enabled():
            return r  # the shape check before training
        self.calls += 1
        if self.calls > self.after:
            return r * float("inf")
        return r


def test_divergence_stops_with_a_warning_and_keeps_the_best_parameters():
    pde = CustomPDE(BlowsUp(after=30), derivatives=("u_t", "u_x"), initial_condition=np.sin)
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        est = fitted(pde, optimizer="adam", learning_rate=1e-2, max_iter=200)
    assert est.stopped_ == "diverged" and est.n_iter_ == 30
    losses = est.history_["loss"]
    assert len(losses) == 30 and np.isfinite(losses).all()
    # The parameters kept are the ones that gave the lowest loss seen.
    X0, u0 = pde.initial_data(64)
    replay = CustomPDE(BlowsUp(after=10**9), derivatives=("u_t", "u_x"), initial_condition=np.sin)
    check = PINNRegressor(pde=replay, **{**SMALL, "max_iter": 0}).fit(X0, u0)
    check.network_.load_state_dict(est.network_.state_dict())
    problem = check._problem(replay, X0, u0.reshape(-1, 1),
                             check._training_settings(Standard()))
    problem.network = check.network_
    from physml._base import torch_seed
    problem.generator.manual_seed(torch_seed(0))
    terms = problem.loss(replay, replay.domain, problem.X_obs, problem.y_obs, 200)()
    assert float(sum(terms.values()).detach()) == pytest.approx(min(losses), rel=1e-5)


def test_ctrl_c_during_fit_keeps_what_was_learned(monkeypatch):
    from physml._loss import PINNLoss

    real_call = PINNLoss.__call__
    calls = {"n": 0}

    def interrupting_loss(loss):
        calls["n"] += 1
        if calls["n"] == 40:
            raise KeyboardInterrupt
        return real_call(loss)

    monkeypatch.setattr(PINNLoss, "__call__", interrupting_loss)
    pde = Convection(beta=1.0)
    with pytest.warns(RuntimeWarning, match="KeyboardInterrupt"):
        est = fitted(pde, max_iter=500)
    assert est.stopped_ == "interrupted"
    losses = est.history_["loss"]
    assert len(losses) == 39 and min(losses) < losses[0]
    X, u = make_pde_data(pde, 16, 4)
    # The kept parameters are the best ones seen (not a later line-search trial point).
    assert np.isfinite(est.predict(X)).all()
    est_again = fitted(pde, max_iter=0)  # no training at all
    assert relative_l2_error(u, est.predict(X)) < relative_l2_error(u, est_again.predict(X))


def test_verbose_shows_a_progress_bar(capsys):
    fitted(Convection(), max_iter=5, verbose=1)
    err = capsys.readouterr().err
    assert "standard Convection(beta=1)" in err and ("it/s" in err or "s/it" in err)


def test_without_an_equation_it_is_a_plain_network_regressor():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    est = PINNRegressor(hidden_layer_sizes=(16,), max_iter=200, random_state=0).fit(X, y)
    assert est.score(X, y) > 0.99
    assert set(est.history_) == {"loss", "data", "optimizer", "stage"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(X)


@pytest.mark.parametrize("params, match", [
    (dict(strategy="causal"), "strategy='causal' trains against an equation"),
    (dict(strategy=TimeMarching()), "strategy='TimeMarching' trains against an equation"),
    (dict(constraints="exact"), "constraints='exact' builds an equation's conditions"),
    (dict(sampling="rad"), "sampling='rad' places an equation's collocation points"),
    (dict(learn_coefficients=("beta",)), "learn_coefficients needs a pde"),
])
def test_without_an_equation_a_setting_for_one_is_refused(params, match):
    # They were ignored: a data-only fit with strategy="causal" ran as a plain regression.
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match=match):
        PINNRegressor(max_iter=1, **params).fit(X, X.sum(1))


def test_compiled_loss_trains_like_the_eager_one():
    pytest.importorskip("torch._inductor")
    import shutil

    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("torch.compile on the CPU needs a C++ compiler")
    pde = Convection(beta=2.0)
    one_phase = dict(max_iter=5, dtype="float64", strategy=Standard(early_dtype=None))
    eager = fitted(pde, **one_phase)
    compiled = fitted(pde, compile=True, **one_phase)
    np.testing.assert_allclose(compiled.history_["loss"], eager.history_["loss"], rtol=1e-8)


_FIT_AND_PRINT = """
import torch
from physml import PINNRegressor
from physml._threads import freed_memory_kept
from physml.pde import ReactionDiffusion
pde = ReactionDiffusion(nu=3.0, rho=5.0)
X0, u0 = pde.initial_data(64)
est = PINNRegressor(pde=pde, dtype="float64", hidden_layer_sizes=(50, 50),
                    optimizer="adam+lbfgs", warmup_iter=20, max_iter=30,
                    n_collocation=2000, random_state=0).fit(X0, u0)
with freed_memory_kept() as on:
    pass
print(on, est.predict(pde.grid(64, 16)).tobytes().hex())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt only")
def test_malloc_setting_changes_no_number():
    # freed_memory_kept changes where buffers come from (heap instead of fresh pages),
    # never the arithmetic: a fit with it and one without give the same bits.
    # The two processes run at once (one thread each): the test pays one start-up.
    runs = {setting: subprocess.Popen([sys.executable, "-c", _FIT_AND_PRINT],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True,
                                      env={**os.environ, "PHYSML_MALLOC_TUNING": setting})
            for setting in ("0", "1")}
    outputs = {}
    for setting, run in runs.items():
        stdout, stderr = run.communicate()
        assert run.returncode == 0, stderr
        outputs[setting] = stdout.split()
    # The fit with it really ran under the setting (glibc accepted it), the other not.
    assert outputs["0"][0] == "False" and outputs["1"][0] == "True"
    assert outputs["0"][1] == outputs["1"][1]
