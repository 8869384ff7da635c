"""The optimizers behind one call: every strategy trains with every optimizer, and
physml's L-BFGS (compact inverse-Hessian form) against torch.optim.LBFGS."""

import numpy as np
import pytest
import torch

from physml import PINNRegressor
from physml._lbfgs import LBFGS, _CompactHistory
from physml._optimizers import OPTIMIZERS, continued, optimize
from physml.pde import Convection
from physml.strategies import Causal, Curriculum, TimeMarching


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("strategy", ["standard", "curriculum", "seq2seq", "causal"])
def test_every_strategy_trains_with_every_optimizer(strategy, optimizer):
    pde = Convection(beta=3.0)
    X0, u0 = pde.initial_data(32)
    strategy = {"seq2seq": TimeMarching(dt=0.5), "causal": Causal(n_chunks=4)}.get(
        strategy, strategy)
    est = PINNRegressor(pde=pde, strategy=strategy, optimizer=optimizer,
                        hidden_layer_sizes=(8, 8), n_collocation=60, n_boundary=16,
                        max_iter=4, random_state=0).fit(X0, u0)
    assert est.stopped_ is None
    ran = [stage["optimizer"] for stage in est.stages_]
    allowed = {optimizer, continued(optimizer)}
    if isinstance(strategy, Causal):  # its final phase is its own choice
        assert ran[-1] == "lm"
        ran = ran[:-1]
    assert set(ran) <= allowed, ran
    # every evaluation was made by a phase of what ran (Adam and L-BFGS for adam+lbfgs)
    phases = {"adam": {"adam"}, "lbfgs": {"lbfgs"}, "adam+lbfgs": {"adam", "lbfgs"},
              "lm": {"adam", "lm"} if strategy == "curriculum" else {"lm"}}
    expected = set().union(*(phases[name] for name in allowed))
    if isinstance(strategy, Causal):
        expected.add("lm")
    assert set(est.history_["optimizer"]) <= expected, est.history_["optimizer"]
    history = np.array(est.history_["loss"])
    assert np.all(np.isfinite(history)) and len(history) == len(est.history_["stage"])


def test_an_unknown_optimizer_is_a_value_error_naming_the_valid_ones():
    with pytest.raises(ValueError, match="'lm'"):
        optimize(lambda: {}, [], optimizer="newton", max_iter=1)
    pde = Convection(beta=1.0)
    with pytest.raises(ValueError, match="optimizer"):
        PINNRegressor(pde=pde, optimizer="newton").fit(*pde.initial_data(8))


def test_lm_takes_fewer_iterations_by_default_and_an_explicit_count_wins():
    pde = Convection(beta=1.0)
    X0, u0 = pde.initial_data(16)
    small = dict(hidden_layer_sizes=(6,), n_collocation=30, n_boundary=8, random_state=0,
                 strategy=Causal(n_chunks=2, final_iter=0))
    est = PINNRegressor(pde=pde, optimizer="lm", max_iter=3, **small).fit(X0, u0)
    assert est.stages_[0]["max_iter"] == 3 and est.stages_[0]["warmup_iter"] == 0
    settings = PINNRegressor(pde=pde, optimizer="lm", **small)._training_settings(Causal())
    assert settings.max_iter == Causal.training_defaults.max_iter // 25


def rosenbrock_run(cls, history_size, steps=3, dtype=torch.float64):
    p = torch.nn.Parameter(torch.zeros(40, dtype=dtype))

    def closure():
        opt.zero_grad()
        loss = (100 * (p[1:] - p[:-1] ** 2) ** 2 + (1 - p[:-1]) ** 2).sum()
        loss.backward()
        return loss

    opt = cls([p], lr=1.0, max_iter=10, max_eval=250, history_size=history_size,
              tolerance_grad=0.0,
              tolerance_change=0.0, line_search_fn="strong_wolfe")
    for _ in range(steps):  # the history carries over between step calls
        opt.step(closure)
    return p.detach(), opt.state[p]["n_iter"], float(closure().detach())


@pytest.mark.parametrize("history_size", [3, 100])
def test_iterates_are_torchs_to_rounding(history_size):
    """With 3 pairs the ring buffer wraps around many times; with 100 it never does."""
    ours, n_ours, _ = rosenbrock_run(LBFGS, history_size)
    theirs, n_theirs, _ = rosenbrock_run(torch.optim.LBFGS, history_size)
    assert n_ours == n_theirs == 30
    torch.testing.assert_close(ours, theirs, rtol=1e-7, atol=1e-9)


def test_compact_direction_is_the_two_loop_recursion():
    torch.manual_seed(0)
    n, m = 50, 7
    history = _CompactHistory(m, torch.zeros(n))
    pairs = []
    for _ in range(12):  # more pairs than slots: the oldest go
        s = torch.randn(n, dtype=torch.float64)
        y = s + 0.3 * torch.randn(n, dtype=torch.float64)
        history.add(s, y)
        pairs = (pairs + [(s, y)])[-m:]
    g = torch.randn(n, dtype=torch.float64)
    q, alphas = -g.clone(), []
    for s, y in reversed(pairs):
        alpha = s.dot(q) / y.dot(s)
        q -= alpha * y
        alphas.append(alpha)
    s_last, y_last = pairs[-1]
    r = q * (y_last.dot(s_last) / y_last.dot(y_last))
    for (s, y), alpha in zip(pairs, reversed(alphas)):
        r += s * (alpha - y.dot(r) / y.dot(s))
    torch.testing.assert_close(history.direction(g), r, rtol=1e-10, atol=1e-12)


def test_float32_parameters_converge_as_torchs_do():
    """The history is kept in float64: in float32 the iteration still runs to the
    minimum (where a zero step ends it, as torch's)."""
    _, n_iter, loss = rosenbrock_run(LBFGS, 100, steps=20, dtype=torch.float32)
    _, n_torch, _ = rosenbrock_run(torch.optim.LBFGS, 100, steps=20, dtype=torch.float32)
    assert loss < 1e-8 and abs(n_iter - n_torch) <= 10
    with pytest.raises(ValueError, match="strong Wolfe"):
        LBFGS([torch.nn.Parameter(torch.zeros(2))], line_search_fn=None)


@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_refresh_runs_every_n_iterations_and_not_after_the_last(optimizer):
    """The hook that redraws points or updates causal weights: called at every multiple of
    ``refresh_every`` before the end; the loss it leaves is minimized from there on."""
    from physml._optimizers import minimize

    p = torch.nn.Parameter(torch.zeros(3, dtype=torch.float64))
    target = {"value": torch.ones(3, dtype=torch.float64)}
    calls = []

    def loss_terms():
        return {"fit": (p - target["value"]).square().sum()}

    def refresh(done):
        calls.append(done)
        target["value"] = target["value"] + 1.0  # a new objective

    report = minimize(loss_terms, [p], optimizer=optimizer, max_iter=30, tol=0.0,
                      learning_rate=0.5 if optimizer == "adam" else None,
                      refresh=refresh, refresh_every=10)
    assert calls == [10, 20]
    assert report["stopped"] is None
    if optimizer == "lbfgs":  # converged on the last objective, not the first
        torch.testing.assert_close(p.detach(), torch.full((3,), 3.0, dtype=torch.float64))


def test_lbfgs_keeps_its_curvature_across_a_new_loss_but_forms_no_mixed_pair():
    """After ``new_loss()`` (new points), L-BFGS keeps its stored pairs; the first step on
    the new loss adds no pair (its gradient difference would span two losses), the next
    ones do."""
    from physml._lbfgs import LBFGS

    p = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
    scale = torch.tensor([1.0, 3.0, 10.0, 30.0], dtype=torch.float64)
    target = {"value": torch.ones(4, dtype=torch.float64)}
    opt = LBFGS([p], max_iter=3, tolerance_grad=0.0, tolerance_change=0.0)

    def closure():
        opt.zero_grad()
        loss = (scale * (p - target["value"]).square()).sum() + (p ** 4).sum()
        loss.backward()
        return loss

    opt.step(closure)
    history = opt.state[p]["history"]
    before = history.count
    assert before > 0
    target["value"] = target["value"] + 1e-3  # a slightly different loss
    opt.new_loss()
    opt.param_groups[0]["max_iter"] = 1
    opt.step(closure)
    assert opt.state[p]["history"] is history and history.count == before
    opt.step(closure)
    assert history.count == before + 1



def quadratic_run(scale):
    """200 L-BFGS iterations on ``scale * 0.5 * sum(c_i p_i^2)``, curvatures 1 to 1e4;
    the largest ``|p_i|`` left (0 is the minimum)."""
    curvatures = torch.logspace(0, 4, 50, dtype=torch.float64)
    p = torch.nn.Parameter(torch.ones(50, dtype=torch.float64))

    def closure():
        opt.zero_grad()
        loss = scale * 0.5 * (curvatures * p ** 2).sum()
        loss.backward()
        return loss

    opt = LBFGS([p], max_iter=200, max_eval=2000, history_size=100, tolerance_grad=0.0,
                tolerance_change=0.0)
    opt.step(closure)
    return float(p.detach().abs().max())


def test_a_small_loss_keeps_its_curvature_model():
    """L-BFGS is invariant to the scale of the loss: scaled by 1e-9 (steps and gradient
    changes under torch's absolute 1e-10 on s . y, which leaves torch's L-BFGS at 9e-2
    as steepest descent) the ill-conditioned quadratic converges as at scale 1."""
    at_one, small = quadratic_run(1.0), quadratic_run(1e-9)
    assert at_one < 1e-4 and small < 1e-4


def _decay(X, u, d, c):
    return d["y_t"] + c["k"] * u


def test_levenberg_marquardt_learns_a_coefficient_and_records_its_path():
    from physml.pde import CustomPDE

    pde = CustomPDE(_decay, coordinates=("t",), outputs=("y",), derivatives=("y_t",),
                    domain=((0.0, 2.0),), initial_condition=lambda t: np.ones_like(t),
                    coefficients={"k": 1.0}, positive_coefficients=("k",))
    t = np.linspace(0.0, 2.0, 12)
    est = PINNRegressor(pde=pde, learn_coefficients=("k",), optimizer="lm", max_iter=30,
                        hidden_layer_sizes=(10,), n_collocation=60, random_state=0)
    est.fit(t[:, None], np.exp(-1.5 * t))
    assert abs(est.coefficients_["k"] - 1.5) < 0.02
    steps = [k for k, o in zip(est.history_["k"], est.history_["optimizer"]) if o == "lm"]
    assert steps and np.all(np.isfinite(steps))
    assert len(est.history_["k"]) == len(est.history_["loss"])


def test_gram_lower_is_the_lower_triangle_with_the_same_bits_on_any_thread_count():
    from physml._optimizers import gram_lower

    J = torch.randn(203, 157, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        two = gram_lower(J)
        torch.set_num_threads(1)
        one = gram_lower(J)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, two)
    torch.testing.assert_close(two, torch.tril(J @ J.t()), rtol=1e-12, atol=1e-10)
    assert not torch.triu(two, 1).any()  # what a Cholesky factor does not read


def test_lm_takes_a_given_adam_warm_up_first():
    pde = Convection(beta=1.0)
    X0, u0 = pde.initial_data(16)
    small = dict(hidden_layer_sizes=(6,), n_collocation=30, n_boundary=8, random_state=0,
                 strategy=Causal(n_chunks=2, final_iter=0), optimizer="lm", max_iter=3)
    est = PINNRegressor(pde=pde, warmup_iter=5, **small).fit(X0, u0)
    assert est.stages_[0]["warmup_iter"] == 5
    assert est.history_["optimizer"][:5] == ["adam"] * 5
    assert set(est.history_["optimizer"][5:]) == {"lm"}
    assert est.n_iter_ == 5 + 3
    cold = PINNRegressor(pde=pde, **small).fit(X0, u0)
    assert cold.stages_[0]["warmup_iter"] == 0 and "adam" not in cold.history_["optimizer"]


def test_curriculum_keeps_its_adam_warm_up_under_lm():
    pde = Convection(beta=4.0)
    X0, u0 = pde.initial_data(16)
    est = PINNRegressor(pde=pde, strategy="curriculum", optimizer="lm", max_iter=4,
                        hidden_layer_sizes=(6,), n_collocation=30, n_boundary=8,
                        random_state=0).fit(X0, u0)
    # 500 Adam steps to the 40 Levenberg-Marquardt steps of the default, scaled to 4
    factor = Curriculum().final_stage_factor
    assert [s["warmup_iter"] for s in est.stages_] == [50, round(50 * factor)]
    assert [s["optimizer"] for s in est.stages_] == ["lm", "lm"]
    for k, stage in enumerate(est.stages_):
        ran = [o for o, s in zip(est.history_["optimizer"], est.history_["stage"]) if s == k]
        assert ran[:stage["warmup_iter"]] == ["adam"] * stage["warmup_iter"]
        assert set(ran[stage["warmup_iter"]:]) == {"lm"}
