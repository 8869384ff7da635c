"""Training strategies: behaviour on small problems (paper-scale runs are benchmarks)."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from physml import PINNRegressor
from physml.datasets import make_pde_data
from physml.metrics import relative_l2_error
from physml.pde import Convection, Reaction
from physml.strategies import Curriculum, Standard, TimeMarching, resolve_strategy

CI_SIZED = dict(dtype="float64", optimizer="adam+lbfgs", warmup_iter=50, max_iter=300,
                hidden_layer_sizes=(32, 32, 32), n_collocation=500, random_state=0)


def test_schedules():
    assert Curriculum().schedule(30.0) == [1.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0]
    assert Curriculum(step=4.0).schedule(10.0) == [1.0, 4.0, 8.0, 10.0]
    assert Curriculum().schedule(1.0) == [1.0]
    assert Curriculum(stages=[2.0, 4.0]).schedule(5.0) == [2.0, 4.0, 5.0]
    with pytest.raises(ValueError, match="step"):
        Curriculum(step=0.0).schedule(3.0)


def test_strategies_are_parameter_objects_and_names():
    assert isinstance(resolve_strategy("curriculum"), Curriculum)
    assert isinstance(resolve_strategy("standard"), Standard)
    assert isinstance(resolve_strategy("seq2seq"), TimeMarching)
    est = PINNRegressor(pde=Convection(), strategy=Curriculum(step=2.0))
    assert est.get_params()["strategy__step"] == 2.0
    twin = clone(est).set_params(strategy__step=3.0)
    assert twin.strategy.step == 3.0 and est.strategy.step == 2.0


def test_curriculum_visits_its_stages_in_order_and_warm_starts():
    pde = Convection(beta=7.0)
    X0, u0 = pde.initial_data(64)
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=3.0), max_iter=40,
                        hidden_layer_sizes=(16, 16), n_collocation=100, random_state=0)
    est.fit(X0, u0)
    assert [s["coefficients"]["beta"] for s in est.stages_] == [1.0, 3.0, 6.0, 7.0]
    stage = np.array(est.history_["stage"])
    assert np.all(np.diff(stage) >= 0) and set(stage) == {0, 1, 2, 3}
    data = np.array(est.history_["data"]) + np.array(est.history_["boundary"])
    loss = np.array(est.history_["loss"])
    for k in range(3):
        # Stage k+1 starts from the best parameters of stage k: its first data and boundary
        # terms (which do not depend on beta) are those of stage k's best evaluation.
        best = np.flatnonzero(stage == k)[np.argmin(loss[stage == k])]
        first = np.flatnonzero(stage == k + 1)[0]
        assert data[first] == pytest.approx(data[best], rel=1e-6)
    assert est.n_iter_ == sum(s["n_iter"] for s in est.stages_)


# The paper's fixes at CI size: curriculum on convection at beta = 15, time marching on
# reaction at rho = 5, where the standard PINN already fails.
@pytest.mark.parametrize("pde, strategy", [(Convection(beta=15.0), "curriculum"),
                                           (Reaction(rho=5.0), "seq2seq")],
                         ids=["curriculum-convection", "seq2seq-reaction"])
def test_the_fix_beats_the_standard_pinn(pde, strategy):
    X0, u0 = pde.initial_data(256)
    X, u = make_pde_data(pde, 128, 50)
    standard = PINNRegressor(pde=pde, **CI_SIZED).fit(X0, u0)
    fixed = PINNRegressor(pde=pde, strategy=strategy, **CI_SIZED).fit(X0, u0)
    e_standard = relative_l2_error(u, standard.predict(X))
    e_fixed = relative_l2_error(u, fixed.predict(X))
    assert e_standard > 0.5 and e_fixed < 0.2, (e_standard, e_fixed)


def test_curriculum_names_a_coefficient_the_equation_has():
    X0, u0 = Reaction().initial_data(16)
    with pytest.raises(ValueError, match="coefficient='beta'.*Reaction"):
        PINNRegressor(pde=Reaction(rho=3.0), strategy=Curriculum(coefficient="beta"),
                      max_iter=1).fit(X0, u0)


def test_curriculum_does_not_ramp_a_coefficient_being_learned():
    # It ran, ramping a value the fit then learned over (beta 3 -> 0.6 in a short fit).
    pde = Convection(beta=3.0)
    X, u = make_pde_data(Convection(beta=5.0), 16, 8)
    with pytest.raises(ValueError, match="ramps 'beta', which learn_coefficients learns"):
        PINNRegressor(pde=pde, strategy="curriculum", learn_coefficients=("beta",),
                      max_iter=1).fit(X, u)


def _heat(X, u, d, c):
    return d["u_t"] - 0.1 * d["u_xx"]


def test_curriculum_on_an_equation_without_coefficients_says_what_to_do():
    # It raised a bare IndexError from coefficient_names[0].
    from physml.pde import CustomPDE

    pde = CustomPDE(_heat, derivatives=("u_t", "u_xx"), initial_condition=np.sin,
                    domain=((0.0, 2 * np.pi), (0.0, 1.0)), boundary="periodic")
    X0, u0 = pde.initial_data(16)
    with pytest.raises(ValueError, match="CustomPDE has none.*coefficients="):
        PINNRegressor(pde=pde, strategy="curriculum", max_iter=1).fit(X0, u0)


def test_time_marching_hands_each_block_end_state_to_the_next(monkeypatch):
    from physml._problem import PINNProblem
    from physml.strategies import PiecewiseInTime

    seen = []
    real_train = PINNProblem.train

    def recording_train(problem, pde, scope=None, **kwargs):
        seen.append((scope.domain, scope.X_obs.clone(), scope.y_obs.clone(),
                     scope.n_collocation))
        return real_train(problem, pde, scope, **kwargs)

    monkeypatch.setattr(PINNProblem, "train", recording_train)
    pde = Reaction(rho=2.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=TimeMarching(dt=0.25, n_points=16), max_iter=20,
                        hidden_layer_sizes=(8,), n_collocation=100, random_state=0)
    est.fit(X0, u0)
    assert est.time_blocks_ == [(0.0, 0.25), (0.25, 0.5), (0.5, 0.75), (0.75, 1.0)]
    assert isinstance(est.network_, PiecewiseInTime)
    assert [s[3] for s in seen] == [25, 25, 25, 25]  # the budget is shared out
    assert len(est.stages_) == 4
    for k in range(1, 4):
        (_, (start, _)), X_k, y_k, _ = seen[k]
        assert start == 0.25 * k and np.all(X_k[:, 1].numpy() == start)
        # The initial data of block k is block k-1's prediction at its end time.
        np.testing.assert_allclose(
            y_k[:, 0].numpy(), est.network_.networks[k - 1](X_k).detach()[:, 0].numpy(), rtol=1e-6)
    # predict sends each point to its block; a block edge belongs to the block it ends.
    X = np.array([[1.0, 0.1], [1.0, 0.25], [1.0, 0.3], [1.0, 1.0]])
    dtype = next(est.network_.parameters()).dtype
    expected = [est.network_.networks[k](torch.tensor(X[i:i + 1], dtype=dtype)).item()
                for i, k in enumerate([0, 0, 1, 3])]
    np.testing.assert_allclose(est.predict(X), expected, rtol=1e-5)


def _recording_train(monkeypatch):
    """Record the network's parameters when each training stage starts and ends."""
    from physml._problem import PINNProblem

    record = []
    real_train = PINNProblem.train

    def train(problem, pde, scope=None, **kwargs):
        vector = torch.nn.utils.parameters_to_vector
        start = vector(problem.network.parameters()).detach().clone()
        report = real_train(problem, pde, scope, **kwargs)
        record.append((start, vector(problem.network.parameters()).detach().clone(), scope))
        return report

    monkeypatch.setattr(PINNProblem, "train", train)
    return record


def test_adaptive_curriculum_halves_a_step_that_did_not_converge(monkeypatch):
    record = _recording_train(monkeypatch)
    pde = Convection(beta=3.0)
    X0, u0 = pde.initial_data(32)
    # No stage can reach a loss of 1e-12 in 5 iterations: each step is halved once.
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0, accept_loss=1e-12,
                                                     max_splits=1),
                        max_iter=5, hidden_layer_sizes=(8,), n_collocation=50, random_state=0)
    est.fit(X0, u0)
    assert [s["coefficients"]["beta"] for s in est.stages_] == [1.0, 2.0, 1.5, 2.0, 3.0,
                                                                2.5, 3.0]
    assert [s["accepted"] for s in est.stages_] == [True, False, True, True, False, True,
                                                   True]
    # A rejected stage is undone: the halfway stage starts where the last accepted one ended.
    assert torch.equal(record[2][0], record[0][1])
    assert torch.equal(record[5][0], record[3][1])
    # An accepted stage hands its parameters on.
    assert torch.equal(record[3][0], record[2][1])


def test_adaptive_curriculum_accepts_a_converged_stage_as_it_is():
    pde = Convection(beta=3.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0, accept_loss=1e3),
                        max_iter=5, hidden_layer_sizes=(8,), n_collocation=50, random_state=0)
    est.fit(X0, u0)
    assert [s["coefficients"]["beta"] for s in est.stages_] == [1.0, 2.0, 3.0]
    with pytest.raises(ValueError, match="accept_loss"):
        clone(est).set_params(strategy__accept_loss=-1.0).fit(X0, u0)


def test_curriculum_stages_share_one_set_of_collocation_points(monkeypatch):
    from physml._problem import PINNProblem

    drawn = []
    real_draw = PINNProblem._draw
    monkeypatch.setattr(PINNProblem, "_draw",
                        lambda self, *a: drawn.append(a) or real_draw(self, *a))
    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0), max_iter=2,
                        hidden_layer_sizes=(8,), n_collocation=50, random_state=0)
    est.fit(X0, u0)
    # the three stages before the target, one draw (the paper trains on one point set);
    # Levenberg-Marquardt's steps at the target each draw their own
    n_steps = est.stages_[-1]["n_iter"]
    assert est.stages_[-1]["optimizer"] == "lm" and len(drawn) == 1 + n_steps
    drawn.clear()
    est.set_params(strategy__final_optimizer="adam+lbfgs").fit(X0, u0)
    assert len(drawn) == 1  # four stages, one draw


def test_time_marching_gives_the_first_block_more_iterations():
    pde = Reaction(rho=2.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=TimeMarching(dt=0.5, first_block_factor=3.0),
                        optimizer="adam", max_iter=10, hidden_layer_sizes=(8,),
                        n_collocation=50, random_state=0).fit(X0, u0)
    assert [s["n_iter"] for s in est.stages_] == [30, 10]
    with pytest.raises(ValueError, match="first_block_factor"):
        clone(est).set_params(strategy__first_block_factor=0.0).fit(X0, u0)


def _marching_fit(**strategy):
    """Reaction on two blocks of 8 points each: too few for the network, which fits
    them exactly and misses between them (on fixed points, by Adam and L-BFGS:
    Levenberg-Marquardt, a small network's default, draws new points at every step)."""
    pde = Reaction(rho=5.0)
    X0, u0 = pde.initial_data(32)
    strategy = TimeMarching(dt=0.5, **{"block_optimizer": "adam+lbfgs", **strategy})
    return PINNRegressor(pde=pde, strategy=strategy, max_iter=150,
                         warmup_iter=20, hidden_layer_sizes=(16, 16), n_collocation=16,
                         random_state=0).fit(X0, u0)


def test_time_marching_refines_a_block_that_misses_between_its_points(monkeypatch):
    from physml._problem import PINNProblem

    added = []
    real_add, real_held_out = PINNProblem.add_points, PINNProblem.held_out

    def recording_held_out(problem, pde, domain, n):
        ratio, X, squared = real_held_out(problem, pde, domain, n)
        added.append({"n": n, "X": X, "squared": squared, "domain": domain,
                      "before": problem.collocation_points(domain, n).shape[0]})
        return ratio, X, squared

    def recording_add(problem, domain, n, X, squared):
        before = problem.collocation_points(domain, n).shape[0]
        real_add(problem, domain, n, X, squared)
        added[-1]["added"] = problem.collocation_points(domain, n)[before:]

    monkeypatch.setattr(PINNProblem, "held_out", recording_held_out)
    monkeypatch.setattr(PINNProblem, "add_points", recording_add)
    est = _marching_fit(refine_at=1.0, max_refinements=2)
    stages = est.stages_
    # every block is checked; a check above refine_at is followed by a refinement,
    # up to max_refinements a block, and the last training of a block is checked too
    assert all("held_out_ratio" in s for s in stages)
    blocks = [s["domain"][1] for s in stages]
    assert blocks[0] == (0.0, 0.5) and blocks[-1] == (0.5, 1.0)
    for before, after in zip(stages, stages[1:]):
        if after.get("refinement"):
            assert before["held_out_ratio"] > 1.0 and after["domain"] == before["domain"]
            assert after["refinement"] == before.get("refinement", 0) + 1
            assert after["optimizer"] == "lbfgs" and after["warmup_iter"] == 0
    assert max(s.get("refinement", 0) for s in stages) >= 1
    assert all(s.get("refinement", 0) <= 2 for s in stages)
    # each round adds as many fresh points as the block had, those of largest residual,
    # and the block trains on its own points and them
    rounds = [a for a in added if "added" in a]
    assert rounds and all(a["added"].shape[0] == a["n"] == 8 for a in rounds)
    for a in rounds:
        top = torch.topk(a["squared"], a["n"]).indices
        assert ({tuple(row) for row in a["added"].tolist()}
                == {tuple(row) for row in a["X"][top].tolist()})
    for k, check in enumerate(added):
        earlier = [a for a in added[:k] if a["domain"] == check["domain"] and "added" in a]
        assert check["before"] == 8 * (1 + len(earlier))


def test_residual_draw_favours_the_peaks():
    from physml._problem import residual_draw

    squared = torch.zeros(1000, dtype=torch.float64)
    squared[:10] = 1e6  # 1 % of the points, where the residual is
    chosen = residual_draw(squared, 10, torch.Generator().manual_seed(0))
    assert len(set(chosen.tolist())) == 10
    assert (chosen < 10).sum() >= 3  # density 101 against 1: half the draws, not 1 %
    # no residual at all: uniform, and never more than there are points
    assert len(residual_draw(torch.zeros(5), 10, torch.Generator().manual_seed(0))) == 5


def test_time_marching_without_refinement_trains_as_before():
    # a check that passes changes nothing: the same bits as no check at all
    unchecked = _marching_fit(refine_at=None)
    passed = _marching_fit(refine_at=1e300)
    assert len(passed.stages_) == len(unchecked.stages_) == 2
    assert all("held_out_ratio" in s for s in passed.stages_)
    assert not any("held_out_ratio" in s for s in unchecked.stages_)
    X = Reaction().grid(20, 20)
    np.testing.assert_array_equal(passed.predict(X), unchecked.predict(X))
    refined = _marching_fit(refine_at=1.0, max_refinements=1)
    assert len(refined.stages_) > 2
    assert not np.array_equal(refined.predict(X), unchecked.predict(X))


def test_curriculum_runs_inside_each_time_block(monkeypatch):
    record = _recording_train(monkeypatch)
    pde = Convection(beta=4.0)
    X0, u0 = pde.initial_data(32)
    strategy = TimeMarching(dt=0.5, n_points=16, first_block_factor=2.0,
                            within=Curriculum(step=2.0, final_stage_factor=3.0))
    est = PINNRegressor(pde=pde, strategy=strategy, optimizer="adam", max_iter=4,
                        hidden_layer_sizes=(8,), n_collocation=50, random_state=0)
    assert est.get_params()["strategy__within__step"] == 2.0
    est.fit(X0, u0)
    assert est.time_blocks_ == [(0.0, 0.5), (0.5, 1.0)]
    assert [s["coefficients"]["beta"] for s in est.stages_] == [1.0, 2.0, 4.0] * 2
    assert [s["domain"][1] for s in est.stages_] == [(0.0, 0.5)] * 3 + [(0.5, 1.0)] * 3
    # the first block's factor times the curriculum's (3x on each block's last stage)
    assert [s["n_iter"] for s in est.stages_] == [8, 8, 24, 4, 4, 12]
    # every stage of block 2 trains on block 1's end state, and starts where the last
    # stage (of its block, or block 1's final one) ended
    handed = [scope.y_obs for _, _, scope in record[3:]]
    assert all(torch.equal(y, handed[0]) for y in handed)
    np.testing.assert_allclose(
        handed[0][:, 0].numpy(),
        est.network_.networks[0](record[3][2].X_obs).detach()[:, 0].numpy(), rtol=1e-6)
    for k in range(1, 6):
        assert torch.equal(record[k][0], record[k - 1][1])
    with pytest.raises(ValueError, match="within"):
        clone(est).set_params(strategy__within="seq2seq").fit(X0, u0)


def test_curriculum_stages_in_float32_end_in_the_estimators_dtype(monkeypatch):
    from physml._problem import PINNProblem

    dtypes = []
    real_train = PINNProblem.train

    def train(problem, pde, scope=None, **kwargs):
        report = real_train(problem, pde, scope, **kwargs)
        dtypes.append(next(problem.network.parameters()).dtype)
        return report

    monkeypatch.setattr(PINNProblem, "train", train)
    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0, stage_dtype="float32"),
                        dtype="float64", max_iter=5, hidden_layer_sizes=(8,),
                        n_collocation=50, random_state=0).fit(X0, u0)
    assert dtypes == [torch.float32] * 3 + [torch.float64]
    assert next(est.network_.parameters()).dtype == torch.float64
    assert np.isfinite(est.predict(X0)).all()
    with pytest.raises(ValueError, match="stage_dtype"):
        clone(est).set_params(strategy__stage_dtype="float16").fit(X0, u0)


def test_strategies_nest_on_a_user_defined_equation():
    from physml.pde import CustomPDE

    def heat(X, u, d, c):
        return d["u_t"] - c["kappa"] * d["u_xx"]

    pde = CustomPDE(heat, derivatives=("u_t", "u_xx"), initial_condition=np.sin,
                    coefficients={"kappa": 2.0})
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=TimeMarching(dt=0.5, within=Curriculum(step=1.0)),
                        max_iter=3, hidden_layer_sizes=(8,), n_collocation=50,
                        random_state=0).fit(X0, u0)
    assert [s["coefficients"]["kappa"] for s in est.stages_] == [1.0, 2.0] * 2
    assert pde.coefficients == {"kappa": 2.0}  # the user's equation is left as it was
    with pytest.raises(ValueError, match="no coefficient 'nu'"):
        pde.with_coefficients(nu=1.0)


TINY = dict(hidden_layer_sizes=(8,), n_collocation=40, n_boundary=8, random_state=0)


def _recorded(stage, *names):
    return tuple(stage[name] for name in names)


def test_auto_training_settings_resolve_per_strategy():
    from physml.strategies import TrainingSettings

    # The bare call's settings are the strategy's documented defaults.
    assert Standard().training() == TrainingSettings(
        optimizer="adam+lbfgs", max_iter=4000, warmup_iter=500, tol=0.0,
        lbfgs_history_size=100, dtype="float64")
    assert Curriculum().training().tol == 0.0 and TimeMarching().training().tol == 1e-10
    assert TimeMarching(within=Curriculum()).training() == Curriculum().training()
    pde = Convection(beta=3.0)
    X0, u0 = pde.initial_data(32)
    # max_iter given, everything else "auto": the strategy's settings at that budget,
    # scaled per stage as the strategy says, and recorded per stage.
    names = ("optimizer", "max_iter", "warmup_iter", "tol", "lbfgs_history_size", "dtype")
    # The standard strategy: Adam and 80 % of L-BFGS in float32 (stopping on a stall),
    # the rest of L-BFGS in float64.
    standard = PINNRegressor(pde=pde, max_iter=10, **TINY).fit(X0, u0)
    assert [_recorded(s, *names) for s in standard.stages_] == [
        ("adam+lbfgs", 8, 1, 1e-10, 100, "float32"),
        ("lbfgs", 2, 0, 0.0, 100, "float64")]
    assert next(standard.network_.parameters()).dtype == torch.float64
    one_phase = PINNRegressor(pde=pde, strategy=Standard(early_dtype=None), max_iter=10,
                              **TINY).fit(X0, u0)
    assert [_recorded(s, *names) for s in one_phase.stages_] == [
        ("adam+lbfgs", 10, 1, 0.0, 100, "float64")]
    curriculum = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0), max_iter=4,
                               **TINY).fit(X0, u0)
    assert [_recorded(s, *names) for s in curriculum.stages_] == [
        ("adam+lbfgs", 4, 2, 0.0, 100, "float32"),
        ("adam+lbfgs", 4, 2, 0.0, 100, "float32"),
        ("lm", 1, 0, 0.0, 100, "float64")]  # 40 LM steps x 6 x 4/1000
    marching = PINNRegressor(pde=Reaction(rho=2.0), strategy=TimeMarching(dt=0.5, n_points=8),
                             max_iter=4, **TINY).fit(X0, u0)
    # (the blocks by Levenberg-Marquardt: 40 steps x 4/1000, x 5 in the first block,
    # at least one)
    assert [_recorded(s, *names) for s in marching.stages_] == [
        ("lm", 1, 0, 1e-10, 100, "float64"), ("lm", 1, 0, 1e-10, 100, "float64")]
    marching.set_params(strategy__block_optimizer="adam+lbfgs").fit(X0, u0)
    assert [_recorded(s, *names) for s in marching.stages_] == [
        ("adam+lbfgs", 20, 10, 1e-10, 100, "float64"),
        ("adam+lbfgs", 4, 2, 1e-10, 100, "float64")]


def test_an_explicit_training_setting_wins_over_the_strategy():
    pde = Convection(beta=3.0)
    X0, u0 = pde.initial_data(32)
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0), optimizer="adam",
                        max_iter=3, warmup_iter=7, tol=1e-6, lbfgs_history_size=5,
                        dtype="float32", **TINY).fit(X0, u0)
    # the curriculum still scales its last stage, in the precision asked for
    assert [(s["optimizer"], s["max_iter"], s["warmup_iter"], s["tol"],
             s["lbfgs_history_size"], s["dtype"]) for s in est.stages_] == [
        ("adam", 3, 7, 1e-6, 5, "float32"), ("adam", 3, 7, 1e-6, 5, "float32"),
        ("adam", 18, 42, 1e-6, 5, "float32")]
    assert [s["n_iter"] for s in est.stages_] == [3, 3, 18]
    assert next(est.network_.parameters()).dtype == torch.float32
    for bad, match in [(dict(max_iter="many"), "max_iter"), (dict(tol=-1.0), "tol"),
                       (dict(dtype="half"), "dtype"), (dict(optimizer="sgd"), "optimizer"),
                       (dict(lbfgs_history_size=0), "lbfgs_history_size")]:
        with pytest.raises(ValueError, match=match):
            clone(est).set_params(**bad).fit(X0, u0)


def test_the_standard_strategys_precision_phases_check_their_parameters():
    pde = Convection(beta=1.0)
    X0, u0 = pde.initial_data(16)
    for strategy, match in [(Standard(early_fraction=1.5), "early_fraction"),
                            (Standard(early_dtype="half"), "early_dtype")]:
        with pytest.raises(ValueError, match=match):
            PINNRegressor(pde=pde, strategy=strategy, max_iter=2, **TINY).fit(X0, u0)
    # float32 first, float64 last: the fitted network is in the estimator's precision
    est = PINNRegressor(pde=pde, optimizer="lbfgs", max_iter=10, **TINY).fit(X0, u0)
    assert [s["dtype"] for s in est.stages_] == ["float32", "float64"]
    assert [s["optimizer"] for s in est.stages_] == ["lbfgs", "lbfgs"]
    assert est.predict(X0).dtype == np.float64 and np.isfinite(est.predict(X0)).all()
    assert est.n_iter_ <= 10


def test_a_refit_with_another_strategy_leaves_no_time_blocks():
    pde = Reaction(rho=1.0)
    X0, u0 = pde.initial_data(16)
    est = PINNRegressor(pde=pde, strategy=TimeMarching(dt=0.5), hidden_layer_sizes=(6,),
                        n_collocation=40, n_boundary=8, max_iter=2, random_state=0)
    assert len(est.fit(X0, u0).time_blocks_) == 2
    est.set_params(strategy="standard").fit(X0, u0)
    assert not hasattr(est, "time_blocks_")


def test_curriculum_trains_its_last_stage_by_levenberg_marquardt_where_it_can(monkeypatch):
    from physml import strategies

    pde = Convection(beta=5.0)
    X0, u0 = pde.initial_data(32)
    small = dict(max_iter=50, hidden_layer_sizes=(8,), n_collocation=50, random_state=0)
    est = PINNRegressor(pde=pde, strategy=Curriculum(step=2.0), **small).fit(X0, u0)
    assert [s["optimizer"] for s in est.stages_] == ["adam+lbfgs"] * 3 + ["lm"]
    final = est.stages_[-1]
    # LM's 40 default steps times final_stage_factor 6, scaled as max_iter scales the
    # strategy's 1000 L-BFGS iterations (50 of them): 12, in the estimator's float64
    assert final["max_iter"] == 12 and final["warmup_iter"] == 0
    assert final["dtype"] == "float64" and est.history_["optimizer"][-1] == "lm"
    # when asked, beyond LM_MAX_WEIGHTS and under an optimizer given to the estimator,
    # the other stages' optimizer trains it too
    asked = clone(est).set_params(strategy__final_optimizer="adam+lbfgs").fit(X0, u0)
    assert asked.stages_[-1]["optimizer"] == "adam+lbfgs"
    assert asked.stages_[-1]["max_iter"] == 300
    given = clone(est).set_params(optimizer="adam+lbfgs").fit(X0, u0)
    assert [s["optimizer"] for s in given.stages_] == ["adam+lbfgs"] * 4
    np.testing.assert_array_equal(given.predict(X0), asked.predict(X0))
    monkeypatch.setattr(strategies, "LM_MAX_WEIGHTS", 10)
    large = clone(est).fit(X0, u0)
    assert [s["optimizer"] for s in large.stages_] == ["adam+lbfgs"] * 4
    np.testing.assert_array_equal(large.predict(X0), asked.predict(X0))


def test_time_marching_trains_its_blocks_by_levenberg_marquardt_where_it_can(monkeypatch):
    from physml import strategies

    pde = Reaction(rho=5.0)
    X0, u0 = pde.initial_data(32)
    small = dict(max_iter=100, hidden_layer_sizes=(8,), n_collocation=40, random_state=0)
    seq2seq = TimeMarching(dt=0.5, refine_at=None)
    est = PINNRegressor(pde=pde, strategy=seq2seq, **small).fit(X0, u0)
    # LM's 40 default steps a block, scaled as max_iter scales the strategy's 1000 L-BFGS
    # iterations (100 of them): 4, the first block first_block_factor (5) times that
    assert [(s["optimizer"], s["max_iter"], s["warmup_iter"]) for s in est.stages_] == [
        ("lm", 20, 0), ("lm", 4, 0)]
    assert set(est.history_["optimizer"]) == {"lm"}
    # asked, given to the estimator, or beyond LM_MAX_WEIGHTS: the strategy's Adam+L-BFGS
    asked = clone(est).set_params(strategy__block_optimizer="adam+lbfgs").fit(X0, u0)
    assert [(s["optimizer"], s["max_iter"]) for s in asked.stages_] == [
        ("adam+lbfgs", 500), ("adam+lbfgs", 100)]
    given = clone(est).set_params(optimizer="adam+lbfgs").fit(X0, u0)
    np.testing.assert_array_equal(given.predict(X0), asked.predict(X0))
    monkeypatch.setattr(strategies, "LM_MAX_WEIGHTS", 10)
    large = clone(est).fit(X0, u0)
    np.testing.assert_array_equal(large.predict(X0), asked.predict(X0))
    # an optimizer given to the estimator trains every block with its own budget
    lm = clone(est).set_params(optimizer="lm", max_iter=6).fit(X0, u0)
    assert [(s["optimizer"], s["max_iter"]) for s in lm.stages_] == [("lm", 30), ("lm", 6)]
    with pytest.raises(ValueError, match="block_optimizer"):
        clone(est).set_params(strategy__block_optimizer="sgd").fit(X0, u0)
