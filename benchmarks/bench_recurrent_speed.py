"""One training step (forward, backward, Adam) of each recurrent cell against torch.nn.LSTM.

Same hidden size, same batch, same sequence, same run: B = 128, H = 128, one input feature,
T = 64 and T = 784 (sequential MNIST's length). The published LEM code took 2.45x
nn.LSTM's time at T = 784 on 2 cores (measured in this project: 1.45 s against 0.59 s); the target
is <= 1.2x. "LEM, autograd loop" is the same cell written as plain PyTorch operations
under autograd (``LEMCell(fused=False)``), the way without our hand-written backward.

    python benchmarks/bench_recurrent_speed.py [--threads 1] [--lengths 64 784]

``--threads`` defaults to one, what a fit runs on by default (``n_jobs=None``).
"""

import argparse
import statistics
import time

import torch

from physml._results import recorded_tables
from physml.recurrent._cells import LipschitzCell, SequenceNetwork
from physml.recurrent._lem import LEMCell


class LSTMNet(torch.nn.Module):
    def __init__(self, n_features, hidden, n_outputs):
        super().__init__()
        self.lstm = torch.nn.LSTM(n_features, hidden, batch_first=True)
        self.readout = torch.nn.Linear(hidden, n_outputs)

    def forward(self, X):
        return self.readout(self.lstm(X)[0][:, -1])


def step_time(model, X, y, repeats):
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    times = []
    for k in range(repeats + 1):
        start = time.perf_counter()
        optimizer.zero_grad()
        loss_fn(model(X), y).backward()
        optimizer.step()
        if k:  # the first step warms up
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 784])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    B, H = 128, 128
    models = {
        "nn.LSTM": lambda: LSTMNet(1, H, 10),
        "LEM": lambda: SequenceNetwork(LEMCell(H, 1.0), 1, 10),
        "LEM, autograd loop": lambda: SequenceNetwork(LEMCell(H, 1.0, fused=False), 1, 10),
        "Lipschitz RNN (euler)": lambda: SequenceNetwork(
            LipschitzCell(H, 0.03, 0.75, 0.001, 0.001, "euler"), 1, 10),
        "Lipschitz RNN (rk2)": lambda: SequenceNetwork(
            LipschitzCell(H, 0.03, 0.75, 0.001, 0.001, "rk2"), 1, 10),
        "Noisy RNN (train mode)": lambda: SequenceNetwork(
            LipschitzCell(H, 0.03, 0.75, 0.001, 0.001, "euler", 0.05, 0.02), 1, 10),
    }
    print(f"B={B}, H={H}, torch threads {args.threads}; median of {args.repeats} steps\n")
    print("| model | " + " | ".join(f"T={T} (ms) | vs LSTM" for T in args.lengths) + " |")
    print("|---|" + "---|---|" * len(args.lengths))
    rows = {name: [] for name in models}
    for T in args.lengths:
        X = torch.rand(B, T, 1)
        y = torch.randint(0, 10, (B,))
        for name, make in models.items():
            rows[name].append(step_time(make(), X, y, args.repeats))
    for name, times in rows.items():
        cells = " | ".join(f"{1e3 * t:.0f} | {t / lstm:.2f}x"
                           for t, lstm in zip(times, rows["nn.LSTM"]))
        print(f"| {name} | {cells} |", flush=True)


if __name__ == "__main__":
    with recorded_tables("recurrent_speed"):
        main()
