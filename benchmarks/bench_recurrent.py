"""Continuous-time recurrent models against nn.LSTM on offline sequence tasks.

Held-out 25 % (stratified) of sklearn's digits as sequences: by rows (8 steps x 8
pixels), by pixels (64 x 1) and permuted pixels; the adding problem; FitzHugh-Nagumo
one-step forecasting; and the Noisy RNN's robustness to input noise beside the Lipschitz
RNN. The LSTM baseline has the same hidden size and the same training budget (epochs,
batch, Adam learning rate, gradient clipping), trained by the same skorch loop.

    python benchmarks/bench_recurrent.py defaults generated
    python benchmarks/bench_recurrent.py events fitzhugh-defaults adding-defaults
    python benchmarks/bench_recurrent.py rows --seeds 3
    python benchmarks/bench_recurrent.py pixels permuted robustness adding adding500 fitzhugh

``defaults`` is the bare call, ``Estimator(random_state=0)`` with nothing else set, on
digits (the acceptance targets); ``generated`` the same calls on three generated tasks
with several channels per step: the order in which three channels fire (classification,
60 steps x 3 channels), FitzHugh-Nagumo forecasting (regression, 50 steps x 2) and the
adding problem (regression, 100 steps x 2), each beside an LSTM given the same defaults.
"""

import argparse
import time

import numpy as np
import torch
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from physml import (
    LEMClassifier,
    LEMRegressor,
    LipschitzRNNClassifier,
    LipschitzRNNRegressor,
    NoisyRNNClassifier,
)
from physml._results import default_directory, write_results
from physml.datasets import (
    load_sequential_digits,
    make_adding_problem,
    make_event_order,
    make_fitzhugh_nagumo,
)
from physml.recurrent._estimator import _Classifier, _Regressor
from physml.recurrent._lem import LEMCell


class _LSTMCell(torch.nn.Module):
    """nn.LSTM behind the same cell interface (SequenceNetwork's projection is its input)."""

    n_projections = 1

    def __init__(self, hidden_size):
        super().__init__()
        self.hidden_size = hidden_size
        self.lstm = torch.nn.LSTM(hidden_size, hidden_size)

    def forward(self, inputs, project, all_states=True, mask=None):
        projected = project(inputs)
        if mask is None:
            states = self.lstm(projected)[0]
            return states if all_states else states[-1]
        # missing steps: NaN padding at the end (from_sktime's), read to each series' end
        lengths = mask.sum(0)
        if all_states or not torch.equal(mask, torch.arange(len(mask))[:, None] < lengths):
            raise ValueError("the LSTM floor reads series padded at the end only")
        packed = torch.nn.utils.rnn.pack_padded_sequence(projected, lengths.cpu(),
                                                         enforce_sorted=False)
        return self.lstm(packed)[1][0][-1]


class LSTMClassifier(LEMClassifier):
    def _make_cell(self, n_timesteps):
        return _LSTMCell(int(self.hidden_size))


class LSTMRegressor(LEMRegressor):
    def _make_cell(self, n_timesteps):
        return _LSTMCell(int(self.hidden_size))


assert issubclass(LSTMClassifier, _Classifier) and issubclass(LSTMRegressor, _Regressor)
assert LEMCell  # the cell under test


def digits(mode):
    X, y = load_sequential_digits(by_rows=mode == "rows", permute=mode == "permuted")
    return train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)


def fit_score(est, data):
    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    est.fit(X_train, y_train)
    return est.score(X_test, y_test), time.perf_counter() - start


def classification(mode, models, target, seeds=1):
    """Test accuracy of each model (a dict name: estimator) over ``seeds`` seeds; a target
    is met when the mean reaches it."""
    data = digits(mode)
    print(f"\nsequential digits, {mode} (test accuracy, {len(data[1])} held out, "
          f"seeds 0-{seeds - 1})\n")
    print("| model | mean accuracy (%) | per seed (%) | seconds per fit |\n|---|---|---|---|")
    scores = {}
    for name, est in models.items():
        runs = [fit_score(clone(est).set_params(random_state=seed), data)
                for seed in range(seeds)]
        scores[name] = np.mean([accuracy for accuracy, _ in runs])
        print(f"| {name} | {100 * scores[name]:.2f} | "
              + ", ".join(f"{100 * accuracy:.2f}" for accuracy, _ in runs)
              + f" | {np.mean([seconds for _, seconds in runs]):.0f} |", flush=True)
    for name, threshold in target.items():
        met = scores[name] >= threshold and (mode != "pixels" or scores[name] >= scores["LSTM"])
        print(f"[{'met' if met else 'NOT MET'}] {name} >= {100 * threshold:.0f} %"
              + (" and >= the LSTM" if mode == "pixels" else ""))


def robustness():
    data = digits("rows")
    X_train, X_test, y_train, y_test = data
    models = {"Lipschitz RNN": LipschitzRNNClassifier(random_state=0),
              "Noisy RNN": NoisyRNNClassifier(random_state=0)}
    for est in models.values():
        est.fit(X_train, y_train)
    rng = np.random.default_rng(0)
    print("\nrobustness (digits by rows): test accuracy (%) under input noise\n")
    levels = [0.0, 0.1, 0.2, 0.3, 0.4]
    print("| model | noise | " + " | ".join(f"{s:g}" for s in levels) + " |")
    print("|---|---|" + "---|" * len(levels))
    for kind in ("gaussian", "salt and pepper"):
        for name, est in models.items():
            row = []
            for level in levels:
                if kind == "gaussian":
                    X = X_test + level * rng.standard_normal(X_test.shape)
                else:
                    mask = rng.random(X_test.shape) < level
                    X = np.where(mask, rng.integers(0, 2, X_test.shape).astype(float), X_test)
                row.append(est.score(X, y_test))
            print(f"| {name} | {kind} | " + " | ".join(f"{100 * a:.1f}" for a in row) + " |",
                  flush=True)


def adding(T, models):
    X, y = make_adding_problem(4000, T, random_state=0)
    X_test, y_test = make_adding_problem(1000, T, random_state=1)
    print(f"\nadding problem, T = {T} (test MSE; predicting 1 gives 0.167)\n")
    print("| model | MSE | seconds |\n|---|---|---|")
    for name, est in models.items():
        start = time.perf_counter()
        est.fit(X, y)
        mse = float(np.mean((est.predict(X_test) - y_test) ** 2))
        print(f"| {name} | {mse:.2e} | {time.perf_counter() - start:.0f} |", flush=True)


def fitzhugh():
    X, y = make_fitzhugh_nagumo(n_samples=1200, n_timesteps=50, random_state=0)
    X_test, y_test = make_fitzhugh_nagumo(n_samples=300, n_timesteps=50, random_state=1)
    print("\nFitzHugh-Nagumo, one-step forecast from 50 steps (test RMSE)\n")
    print("| model | RMSE | seconds |\n|---|---|---|")
    for name, est in {"LEM": LEMRegressor(hidden_size=64, max_iter=60, random_state=0),
                      "LSTM": LSTMRegressor(hidden_size=64, max_iter=60,
                                            random_state=0)}.items():
        start = time.perf_counter()
        est.fit(X, y)
        rmse = float(np.sqrt(np.mean((est.predict(X_test) - y_test) ** 2)))
        print(f"| {name} | {rmse:.3e} | {time.perf_counter() - start:.0f} |", flush=True)


def _bare_call_row(task, name, est, data, metric, target=None):
    X_train, X_test, y_train, y_test = data
    start = time.perf_counter()
    est.fit(X_train, y_train)
    seconds = time.perf_counter() - start
    if metric == "accuracy":
        value = est.score(X_test, y_test)
        text = f"{100 * value:.2f} %"
        met = "-" if target is None else ("yes" if value >= target else "NO")
        goal = "-" if target is None else f">= {100 * target:.0f} %"
    else:
        value = float(np.mean((est.predict(X_test) - y_test) ** 2))
        text, met, goal = f"MSE {value:.2e}", "-", "-"
    print(f"| {task} | {name} | {text} | {goal} | {met} | {seconds:.0f} |", flush=True)
    write_results("recurrent", [dict(key=f"{task} | {name} | seed 0", task=task, model=name,
                                     metric=metric, value=value, target=target, met=met,
                                     seconds=seconds)], default_directory())


def _bare_call_header():
    print("\nbare calls, Estimator(random_state=0) (LSTM: the LEM estimator's defaults with "
          "an nn.LSTM cell)\n")
    print("| task | model | score | target | met | seconds |\n|---|---|---|---|---|---|")


def defaults():
    """The bare calls on digits: every estimator with nothing but ``random_state`` set."""
    _bare_call_header()
    row = _bare_call_row
    rows, pixels = digits("rows"), digits("pixels")
    row("digits by rows", "LEM", LEMClassifier(random_state=0), rows, "accuracy", 0.97)
    row("digits by rows", "Lipschitz RNN", LipschitzRNNClassifier(random_state=0), rows,
        "accuracy", 0.97)
    row("digits by rows", "Noisy RNN", NoisyRNNClassifier(random_state=0), rows, "accuracy",
        0.97)
    row("digits by pixels", "LEM", LEMClassifier(random_state=0), pixels, "accuracy", 0.92)
    row("digits by pixels", "Lipschitz RNN", LipschitzRNNClassifier(random_state=0), pixels,
        "accuracy")


def generated(which=("events", "fitzhugh", "adding")):
    """The bare calls on generated tasks with several channels per step."""
    _bare_call_header()
    row = _bare_call_row
    if "events" in which:
        _events(row)
    if "fitzhugh" in which:
        _fitzhugh_defaults(row)
    if "adding" in which:
        _adding_defaults(row)


def _events(row):
    X, y = make_event_order(2000, random_state=0)
    X_test, y_test = make_event_order(1000, random_state=1)
    events = (X, X_test, y, y_test)
    for name, est in (("LEM", LEMClassifier(random_state=0)),
                      ("Lipschitz RNN", LipschitzRNNClassifier(random_state=0)),
                      ("LSTM", LSTMClassifier(random_state=0))):
        row("event order (60 x 3, 6 classes)", name, est, events, "accuracy")


def _fitzhugh_defaults(row):
    X, y = make_fitzhugh_nagumo(n_samples=1200, n_timesteps=50, random_state=0)
    X_test, y_test = make_fitzhugh_nagumo(n_samples=300, n_timesteps=50, random_state=1)
    for name, est in (("LEM", LEMRegressor(random_state=0)),
                      ("Lipschitz RNN", LipschitzRNNRegressor(random_state=0)),
                      ("LSTM", LSTMRegressor(random_state=0))):
        row("FitzHugh-Nagumo, 50 x 2", name, est, (X, X_test, y, y_test), "mse")


def _adding_defaults(row):
    X, y = make_adding_problem(2000, 100, random_state=0)
    X_test, y_test = make_adding_problem(1000, 100, random_state=1)
    for name, est in (("LEM", LEMRegressor(random_state=0)),
                      ("Lipschitz RNN", LipschitzRNNRegressor(random_state=0)),
                      ("LSTM", LSTMRegressor(random_state=0))):
        row("adding, T = 100 (predicting 1: 0.167)", name, est, (X, X_test, y, y_test), "mse")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="+", choices=["defaults", "generated", "events",
                                                     "fitzhugh-defaults", "adding-defaults",
                                                     "rows", "pixels", "permuted",
                                                     "robustness", "adding", "adding500",
                                                     "fitzhugh"])
    parser.add_argument("--seeds", type=int, default=1,
                        help="seeds per classifier on digits (the mean meets the target)")
    args = parser.parse_args(argv)
    print("one torch thread per fit (the estimators' default, n_jobs=None)")
    for task in args.tasks:
        if task == "defaults":
            defaults()
        elif task == "generated":
            generated()
        elif task in ("events", "fitzhugh-defaults", "adding-defaults"):
            generated([task.removesuffix("-defaults")])
        elif task == "rows":
            classification("rows", {
                "LEM": LEMClassifier(), "Lipschitz RNN": LipschitzRNNClassifier(),
                "Noisy RNN": NoisyRNNClassifier(), "LSTM": LSTMClassifier()},
                {"LEM": 0.97, "Lipschitz RNN": 0.97, "Noisy RNN": 0.97}, seeds=args.seeds)
        elif task in ("pixels", "permuted"):
            classification(task, {"LEM": LEMClassifier(),
                                  "Lipschitz RNN": LipschitzRNNClassifier(),
                                  "LSTM": LSTMClassifier()},
                           {"LEM": 0.92} if task == "pixels" else {}, seeds=args.seeds)
        elif task == "robustness":
            robustness()
        elif task in ("adding", "adding500"):
            T = 200 if task == "adding" else 500
            # A constant step size: the loss drops only once the network finds the two
            # marked numbers, and a cosine schedule has shrunk the step by then.
            kw = dict(hidden_size=64, max_iter=20, lr_schedule="constant", random_state=0)
            if T == 500:  # fewer, larger batches: each fit within 10 minutes on 2 cores
                kw.update(max_iter=12, batch_size=128)
            models = {"LEM": LEMRegressor(dt=0.1, **kw)}
            if T == 500:
                models["LSTM"] = LSTMRegressor(**kw)
            adding(T, models)
        else:
            fitzhugh()


if __name__ == "__main__":
    main()
