"""Continuous-time recurrent estimators: cells, input shapes, training, search, pipelines."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler
from skorch.callbacks import Callback

from physml import (
    LEMClassifier,
    LEMRegressor,
    LipschitzRNNClassifier,
    LipschitzRNNRegressor,
    NoisyRNNClassifier,
)
from physml.datasets import (
    load_sequential_digits,
    make_adding_problem,
    make_event_order,
    make_fitzhugh_nagumo,
)
from physml.recurrent import from_sktime
from physml.recurrent._cells import LipschitzCell, _lipschitz_matrix
from physml.recurrent._lem import LEMCell, _LEMSequence


def test_lem_cell_follows_its_equations():
    torch.manual_seed(0)
    H, dt = 3, 0.5
    cell, project = LEMCell(H, dt), torch.nn.Linear(2, 4 * H)
    X = torch.randn(3, 4, 2)  # T=3, B=4, F=2
    states = cell(X, project)
    y = z = torch.zeros(4, H)
    for step in project(X):  # [Vy x, V1 x, V2 x, Vz x] + biases
        g = cell.W(y)
        dt_bar = dt * torch.sigmoid(g[:, :H] + step[:, H:2 * H])
        dt_n = dt * torch.sigmoid(g[:, H:2 * H] + step[:, 2 * H:3 * H])
        z = (1 - dt_n) * z + dt_n * torch.tanh(g[:, 2 * H:] + step[:, 3 * H:])
        y = (1 - dt_bar) * y + dt_bar * torch.tanh(cell.Wy(z) + step[:, :H])
    torch.testing.assert_close(states[-1], y)
    torch.testing.assert_close(cell(X, project, all_states=False), y)


@pytest.mark.parametrize("all_states", [True, False])
@pytest.mark.parametrize("chunk", [4, 16])  # 6 steps: two chunks (one partial), or one
def test_lem_hand_written_backward_matches_autograd(all_states, chunk, monkeypatch):
    monkeypatch.setattr(_LEMSequence, "CHUNK", chunk)
    torch.manual_seed(0)
    cell, project = LEMCell(5, 0.7).double(), torch.nn.Linear(3, 20).double()
    X = torch.randn(6, 4, 3, dtype=torch.float64, requires_grad=True)
    tensors = [X, project.weight, project.bias, cell.W.weight, cell.Wy.weight]
    out = cell(X, project, all_states)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), tensors)
    cell.fused = False
    reference = cell(X, project, all_states)
    torch.testing.assert_close(out, reference)
    for grad, expected in zip(grads, torch.autograd.grad((reference * weights).sum(),
                                                         tensors)):
        torch.testing.assert_close(grad, expected)
    # and against finite differences
    assert torch.autograd.gradcheck(
        lambda *t: _LEMSequence.apply(*t, 0.7, all_states, True), tensors)


IDENTITY = torch.nn.Identity()  # the Lipschitz cells' tests give projected inputs


def test_lipschitz_matrices_and_steps():
    torch.manual_seed(0)
    M = torch.randn(4, 4)
    A = _lipschitz_matrix(M, 1.0, 0.1)
    # beta = 1: skew-symmetric minus gamma I, so every eigenvalue has real part -gamma.
    np.testing.assert_allclose(torch.linalg.eigvals(A).real.numpy(), -0.1, atol=1e-6)
    cell = LipschitzCell(4, 0.1, 0.75, 0.001, 0.001, integrator="euler")
    u = torch.randn(1, 2, 4)
    A = _lipschitz_matrix(cell.M_A, 0.75, 0.001)
    W = _lipschitz_matrix(cell.M_W, 0.75, 0.001)
    expected = 0.1 * torch.tanh(u[0])  # one Euler step from h = 0
    torch.testing.assert_close(cell(u, IDENTITY)[0], expected)
    rk2 = LipschitzCell(4, 0.1, 0.75, 0.001, 0.001, integrator="rk2")
    rk2.load_state_dict(cell.state_dict())
    k1 = torch.tanh(u[0])
    h1 = 0.1 * k1
    k2 = h1 @ A.T + torch.tanh(h1 @ W.T + u[0])
    torch.testing.assert_close(rk2(u, IDENTITY)[0], 0.05 * (k1 + k2))


def test_noise_only_while_training():
    cell = LipschitzCell(4, 0.1, 0.75, 0.001, 0.001, additive_noise=0.5)
    u = torch.randn(3, 2, 4)
    cell.eval()
    torch.testing.assert_close(cell(u, IDENTITY), cell(u, IDENTITY))
    cell.train()
    assert not torch.equal(cell(u, IDENTITY), cell(u, IDENTITY))


def test_datasets():
    X, y = load_sequential_digits(permute=True)
    assert X.shape == (1797, 64, 1) and X.max() == 1.0
    X_rows, _ = load_sequential_digits(by_rows=True)
    assert X_rows.shape == (1797, 8, 8)
    X, y = make_adding_problem(200, 30, random_state=0)
    marked = (X[:, :, 0] * X[:, :, 1]).sum(1)
    np.testing.assert_allclose(marked, y)
    X, y = make_fitzhugh_nagumo(n_samples=20, n_timesteps=25, random_state=0)
    assert X.shape == (20, 25, 2) and np.all(np.isfinite(y))
    assert from_sktime(np.zeros((3, 2, 7))).shape == (3, 7, 2)
    X, y = make_event_order(300, n_timesteps=40, random_state=0)
    assert X.shape == (300, 40, 3) and set(y.tolist()) == set(range(6))
    # the label is the order of the bumps: argmax over time per channel, sorted
    peaks = np.argmax(make_event_order(50, noise=0.0, random_state=1)[0], axis=1)
    _, y_clean = make_event_order(50, noise=0.0, random_state=1)
    import itertools
    orders = list(itertools.permutations(range(3)))
    assert [orders[k] for k in y_clean] == [tuple(np.argsort(p)) for p in peaks]
    with pytest.raises(ValueError, match="n_timesteps"):
        make_event_order(10, n_timesteps=8)


def test_lipschitz_step_auto_spans_the_same_time_whatever_the_length():
    X8, y = load_sequential_digits(by_rows=True)
    X64, _ = load_sequential_digits()
    cheap = dict(hidden_size=8, max_iter=1, random_state=0)
    for cls in (LipschitzRNNClassifier, NoisyRNNClassifier):
        assert cls().dt == "auto"
        assert cls(**cheap).fit(X8[:64], y[:64]).dt_ == 2.0  # 16 / 8
        assert cls(**cheap).fit(X64[:64], y[:64]).dt_ == 0.25  # 16 / 64
        assert cls(dt=0.1, **cheap).fit(X8[:64], y[:64]).dt_ == 0.1  # an explicit value wins
    assert LipschitzRNNRegressor(**cheap).fit(X8[:64, :4], y[:64]).dt_ == 2.0  # capped at 2
    assert LEMClassifier(**cheap).fit(X8[:64], y[:64]).dt_ == 1.0


@pytest.fixture(scope="module")
def rows():
    X, y = load_sequential_digits(by_rows=True)
    return X[:600], y[:600], X[600:800], y[600:800]


CHEAP = dict(hidden_size=16, max_iter=3, learning_rate=1e-2, random_state=0)


@pytest.mark.parametrize("cls", [LEMClassifier, LipschitzRNNClassifier, NoisyRNNClassifier])
def test_classifiers_learn_and_are_deterministic(cls, rows):
    X, y, X_test, y_test = rows
    params = dict(CHEAP, dt=0.5) if cls is not LEMClassifier else CHEAP
    est = cls(**params).fit(X, y)
    assert est.score(X_test, y_test) > 0.3  # ten classes: chance is 0.1
    again = clone(est).fit(X, y)
    np.testing.assert_array_equal(again.predict_proba(X_test), est.predict_proba(X_test))
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(X_test), est.predict_proba(X_test))
    assert est.history_["epoch"] == [1, 2, 3] and len(est.history_["train_loss"]) == 3


def test_any_label_type_and_shapes(rows):
    X, y, X_test, _ = rows
    names = np.array(list("abcdefghij"))
    est = LEMClassifier(**CHEAP).fit(X, names[y])
    assert set(est.predict(X_test)) <= set(names)
    with pytest.raises(ValueError, match="features per time step"):
        est.predict(X_test[:, :, :4])
    with pytest.raises(NotFittedError):
        LEMClassifier().predict(X_test)


def test_regressors_sequence_to_one_and_to_sequence():
    X, y = make_adding_problem(256, 10, random_state=0)
    est = LEMRegressor(**CHEAP).fit(X, y)
    assert est.predict(X).shape == (256,)
    per_step = np.cumsum(X[:, :, 0], axis=1)  # a target at every step
    seq = LipschitzRNNRegressor(sequence_output=True, dt=0.5, **CHEAP).fit(X, per_step)
    assert seq.predict(X).shape == (256, 10)
    multi = LEMRegressor(**CHEAP).fit(X, np.stack([y, -y], 1))
    assert multi.predict(X).shape == (256, 2)
    with pytest.raises(ValueError, match="steps"):
        LEMRegressor(sequence_output=True, **CHEAP).fit(X, per_step[:, :5])


def test_early_stopping_and_gradient_clip(rows):
    X, y, _, _ = rows
    est = LEMClassifier(hidden_size=8, max_iter=50, early_stopping=2, learning_rate=0.3,
                        gradient_clip=0.5, random_state=0).fit(X, y)
    assert est.n_iter_ < 50 and len(est.history_["valid_loss"]) == est.n_iter_
    assert est.stopped_ is None  # early stopping is not an interruption


class _Sabotage(Callback):
    """Poison a weight at a given batch (divergence) or raise Ctrl-C after an epoch."""

    def __init__(self, at_batch=None, interrupt_after_epoch=None):
        self.at_batch, self.interrupt_after_epoch = at_batch, interrupt_after_epoch
        self.batches = 0

    def on_batch_end(self, net, training=None, **kwargs):
        self.batches += training
        if self.batches == self.at_batch:
            with torch.no_grad():
                net.module_.readout.bias[0] = float("nan")

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.interrupt_after_epoch:
            raise KeyboardInterrupt


def test_divergence_stops_with_a_warning_and_keeps_the_best_epoch(rows):
    X, y, X_test, _ = rows
    est = LEMClassifier(**dict(CHEAP, max_iter=5, callbacks=[_Sabotage(at_batch=25)]))
    with pytest.warns(RuntimeWarning, match="NaN or infinite"):
        est.fit(X, y)  # 10 batches per epoch: poisoned during the third epoch
    assert est.stopped_ == "diverged" and est.n_iter_ == 2
    assert np.isfinite(est.predict_proba(X_test)).all()
    first = LEMClassifier(**dict(CHEAP, max_iter=1, callbacks=[_Sabotage(at_batch=3)]))
    with pytest.warns(RuntimeWarning, match="initial parameters"):
        first.fit(X, y)
    assert np.isfinite(first.predict_proba(X_test)).all()


def test_ctrl_c_leaves_a_usable_estimator(rows):
    X, y, X_test, y_test = rows
    est = LEMClassifier(**dict(CHEAP, max_iter=8,
                               callbacks=[_Sabotage(interrupt_after_epoch=2)]))
    with pytest.warns(RuntimeWarning, match="KeyboardInterrupt"):
        est.fit(X, y)
    assert est.stopped_ == "interrupted" and est.n_iter_ == 2
    assert est.score(X_test, y_test) > 0.2
    done = LEMClassifier(**CHEAP).fit(X, y)
    assert done.stopped_ is None


@pytest.mark.parametrize("params, match", [
    (dict(hidden_size=0), "hidden_size"), (dict(dt=-1.0), "dt"), (dict(dt="fast"), "dt"),
    (dict(gradient_clip=0.0), "gradient_clip"), (dict(beta=2.0), "beta"),
    (dict(integrator="rk9"), "integrator"), (dict(lr_schedule="step"), "lr_schedule")])
def test_bad_parameters_name_themselves(params, match, rows):
    X, y, _, _ = rows
    with pytest.raises(ValueError, match=match):
        LipschitzRNNClassifier(**dict(CHEAP, **params)).fit(X, y)


def test_x_of_the_wrong_dimensions_says_the_layouts_it_reads(rows):
    # A 4-D X got sklearn's "dim <= 2 is required", wrong for estimators that read 3-D.
    X, y, _, _ = rows
    with pytest.raises(ValueError, match="n_timesteps, n_features.*got 4 dimensions"):
        LEMClassifier(**CHEAP).fit(X[..., None], y)
    est = LEMClassifier(**CHEAP).fit(X, y)
    with pytest.raises(ValueError, match="from_sktime"):
        est.predict(X[..., None])


def test_pipeline_with_a_scaler_on_flattened_sequences_and_grid_search(rows):
    X, y, X_test, y_test = rows
    flatten = FunctionTransformer(lambda Z: Z.reshape(len(Z), -1))
    unflatten = FunctionTransformer(lambda Z: Z.reshape(len(Z), 8, 8))
    pipe = make_pipeline(flatten, StandardScaler(), unflatten, LEMClassifier(**CHEAP))
    pipe.fit(X, y)
    assert pipe.score(X_test, y_test) > 0.3
    search = GridSearchCV(LEMClassifier(**CHEAP), {"dt": [0.5, 1.0], "hidden_size": [8, 16]},
                          cv=2).fit(X, y)
    assert len(search.cv_results_["params"]) == 4


# --- Real sequence data: missing steps, unequal lengths, scaling, the training length ---


@pytest.mark.parametrize("all_states", [True, False])
def test_lem_missing_steps_hand_written_backward_matches_autograd(all_states):
    torch.manual_seed(0)
    cell, project = LEMCell(5, 0.7).double(), torch.nn.Linear(3, 20).double()
    X = torch.randn(6, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = torch.tensor([[1, 1, 0, 1]] * 3 + [[1, 0, 0, 1], [0, 0, 1, 1], [0, 0, 1, 1]],
                        dtype=torch.bool)
    tensors = [X, project.weight, project.bias, cell.W.weight, cell.Wy.weight]
    out = cell(X, project, all_states, mask)
    weights = torch.randn_like(out)
    grads = torch.autograd.grad((out * weights).sum(), tensors)
    cell.fused = False
    reference = cell(X, project, all_states, mask)
    torch.testing.assert_close(out, reference)
    for grad, expected in zip(grads, torch.autograd.grad((reference * weights).sum(),
                                                         tensors)):
        torch.testing.assert_close(grad, expected)


@pytest.mark.parametrize("cls", [LEMClassifier, LipschitzRNNClassifier, NoisyRNNClassifier])
def test_a_padded_series_reads_as_the_series_alone(cls):
    # NaN steps are missing: the state is carried over them, so trailing padding gives the
    # series' own last state and leading padding the state of a fit started at its first
    # step, to the bit.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 12, 2))
    y = (X[:, :, 0].mean(1) > 0).astype(int)
    est = cls(hidden_size=8, max_iter=2, random_state=0).fit(X, y)
    short = X[:5, :7]
    pad = np.full((5, 5, 2), np.nan)
    expected = est.predict_proba(short)
    np.testing.assert_array_equal(est.predict_proba(np.concatenate([short, pad], 1)),
                                  expected)
    np.testing.assert_array_equal(est.predict_proba(np.concatenate([pad, short], 1)),
                                  expected)
    # and fitting on NaN-padded series trains (gradients through the held states)
    ragged = X.copy()
    ragged[::2, 9:] = np.nan
    fitted = cls(hidden_size=8, max_iter=2, random_state=0).fit(ragged, y)
    assert np.isfinite(fitted.predict_proba(ragged)).all()
    assert np.isfinite(fitted.history_["loss"]).all()


def test_missing_values_that_are_not_missing_steps_are_refused():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(20, 6, 3)), np.arange(20) % 2
    partial = X.copy()
    partial[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="some but not all features of series 3 at step 2"):
        LEMClassifier(**CHEAP).fit(partial, y)
    empty = X.copy()
    empty[4] = np.nan
    with pytest.raises(ValueError, match="series 4 has no observed step"):
        LEMClassifier(**CHEAP).fit(empty, y)
    infinite = X.copy()
    infinite[0, 0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        LEMClassifier(**CHEAP).fit(infinite, y)
    est = LEMClassifier(**CHEAP).fit(X, y)
    with pytest.raises(ValueError, match="some but not all"):
        est.predict(partial)
    Y = rng.normal(size=(20, 6))
    X[0, 4:] = np.nan
    with pytest.raises(ValueError, match="sequence-to-sequence"):
        LEMRegressor(**CHEAP).fit(X, Y[..., None])


def test_from_sktime_reads_the_collections_of_sktime_and_aeon():
    aeon = [np.arange(6.0).reshape(2, 3), np.arange(10.0).reshape(2, 5)]  # (channels, time)
    X = from_sktime(aeon)
    assert X.shape == (2, 5, 2)
    np.testing.assert_array_equal(X[0, :3], aeon[0].T)
    assert np.isnan(X[0, 3:]).all() and not np.isnan(X[1]).any()
    np.testing.assert_array_equal(from_sktime(np.stack([aeon[1], aeon[1]])), [aeon[1].T] * 2)
    with pytest.raises(ValueError, match="same channels"):
        from_sktime([np.zeros((2, 3)), np.zeros((3, 3))])
    pd = pytest.importorskip("pandas")
    df_list = [pd.DataFrame(a.T) for a in aeon]  # sktime's df-list: (time, channels)
    np.testing.assert_array_equal(from_sktime(df_list), X)
    nested = pd.DataFrame({c: [pd.Series(a[c]) for a in aeon] for c in range(2)})
    np.testing.assert_array_equal(from_sktime(nested), X)
    with pytest.raises(ValueError, match="nested layout"):
        from_sktime(pd.DataFrame({"a": [1.0, 2.0]}))


def test_the_training_length_follows_the_training_set():
    from physml.recurrent._estimator import training_length
    assert training_length("auto", "auto", 36, 64) == (500, 16)  # 3 steps an epoch
    assert training_length("auto", "auto", 1347, 64) == (69, 64)  # 22 steps an epoch
    assert training_length("auto", "auto", 270, 32) == (150, 27)
    assert training_length(7, "auto", 36, 64) == (7, 16)
    assert training_length("auto", 100, 1000, 64) == (150, 100)


def test_channel_scaling_is_learned_at_fit_and_survives_pickle():
    # Channels on scales 1e-3 and 1e4 apart: the default standardizes each with what it
    # learned from the training series, so the fit is the one on unit-scale data.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 10, 2))
    y = (X[:, :, 0].mean(1) > X[:, :, 1].mean(1)).astype(int)
    skewed = X * np.array([1e-3, 1e4]) + np.array([5.0, -300.0])
    plain = LEMClassifier(hidden_size=8, max_iter=3, random_state=0,
                          dtype="float64").fit(X, y)
    est = LEMClassifier(hidden_size=8, max_iter=3, random_state=0,
                        dtype="float64").fit(skewed, y)
    assert est.input_center_.shape == est.input_scale_.shape == (2,)
    np.testing.assert_allclose(est.input_scale_, X.std((0, 1)) * [1e-3, 1e4])
    # the same fit up to rounding (Adam amplifies the inputs' last bits a little)
    unit = (X - X.mean((0, 1))) / X.std((0, 1))
    np.testing.assert_allclose(est.predict_proba(skewed), plain.predict_proba(unit),
                               atol=1e-2)
    # predict applies the statistics learned at fit
    proba = est.predict_proba(skewed)
    est.set_params(scaling=None)
    manual = (skewed - est.input_center_) / est.input_scale_
    np.testing.assert_array_equal(est.predict_proba(manual), proba)
    est.set_params(scaling="channel")
    restored = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(restored.predict_proba(skewed), est.predict_proba(skewed))
    series = LEMClassifier(hidden_size=8, max_iter=3, random_state=0, scaling="series",
                           dtype="float64").fit(skewed * 7.0, y)
    assert series.input_center_ is None
    np.testing.assert_allclose(series.predict_proba(skewed), series.predict_proba(
        skewed * 3.0 + 1.0), rtol=1e-9)  # each series' own level and amplitude drop out


def _small_archive(n, seed):
    """A small archive-like problem: 3 channels on scales 1e-2, 1 and 1e3 around
    different levels, 40 steps; the class is which channel carries a bump, and where."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, 40)
    y = rng.integers(0, 3, n)
    X = rng.normal(scale=0.3, size=(n, 40, 3))
    centers = rng.uniform(0.2, 0.8, n)
    for i in range(n):
        X[i, :, y[i]] += 2.0 * np.exp(-((t - centers[i]) / 0.08) ** 2)
    return X * np.array([1e-2, 1.0, 1e3]) + np.array([3.0, -1.0, 500.0]), y


@pytest.mark.parametrize("cls", [LEMClassifier, LipschitzRNNClassifier])
def test_the_bare_call_learns_from_thirty_series(cls):
    X, y = _small_archive(30, 0)
    X_test, y_test = _small_archive(200, 1)
    est = cls(random_state=0).fit(X, y)
    assert est.batch_size_ == 16 and est.max_iter_ == 750
    assert est.score(X_test, y_test) > 0.8  # chance: 1/3


def test_a_pipeline_reads_sktime_containers_from_its_own_loaders():
    datasets = pytest.importorskip("sktime.datasets")
    from sklearn.model_selection import cross_val_score

    model = make_pipeline(FunctionTransformer(from_sktime),
                          LEMClassifier(hidden_size=16, max_iter=60, random_state=0))
    X, y = datasets.load_japanese_vowels(split="train", return_type="nested_univ")
    X, y = X.iloc[::3], np.asarray(y)[::3]  # 90 series of 7 to 26 steps, 12 channels
    scores = cross_val_score(model, X, y, cv=2)
    assert scores.mean() > 0.5  # nine speakers: chance is 1/9
    X, y = datasets.load_basic_motions(split="train", return_type="numpy3D")
    assert model.fit(X, y).predict(X[:3]).shape == (3,)
    assert model[-1].n_features_in_ == 6


def test_early_stopping_on_too_few_series_for_a_stratified_split_says_so():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 5, 2)), np.arange(30) % 6
    with pytest.raises(ValueError, match="validation_fraction=0.1 of 30 series, 3, fewer "
                                         "than the 6 classes.*at least 0.2"):
        LEMClassifier(early_stopping=5, **CHEAP).fit(X, y)
    est = LEMClassifier(early_stopping=5, validation_fraction=0.2, **CHEAP).fit(X, y)
    assert "valid_loss" in est.history_
