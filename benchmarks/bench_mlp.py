"""Benchmark the mlp architecture on the full train.csv: NumPy (this package) against PyTorch CPU.

Both sides train the same layers (Dense-ReLU-Dropout per hidden size, Dense to 10), the same batch size, Adam,
the same data in float32, one process each so peak RSS is their own. Prints seconds per epoch, samples/s, peak
RSS and the ratio NumPy/PyTorch. Usage: python benchmarks/bench_mlp.py [--data-dir data] [--hidden 256,128]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

import numpy as np


def load(data_dir: str) -> tuple[np.ndarray, np.ndarray]:
    from kaggle_digits.data import load_train
    from kaggle_digits.presets import PRESETS
    from kaggle_digits.workflow import dev_split

    train = load_train(data_dir)
    train_idx, _ = dev_split(train, PRESETS["mlp"])
    return train.features(train_idx), train.labels[train_idx]


def numpy_epochs(X, y, hidden, batch, dropout, epochs) -> list[float]:
    from kaggle_digits.allocator import keep_large_allocations
    from kaggle_digits.losses import cross_entropy
    from kaggle_digits.model import architecture, build_network
    from kaggle_digits.optim import Adam
    from kaggle_digits.presets import preset_config

    keep_large_allocations()
    config = preset_config("mlp", hidden_sizes=hidden, dropout=dropout)
    rng = np.random.default_rng(0)
    net = build_network(architecture(config), rng)
    opt = Adam(net.parameter_pairs())
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        order = rng.permutation(len(X))
        for begin in range(0, len(X), batch):
            index = order[begin : begin + batch]
            _, delta = cross_entropy(net.forward(X[index], training=True), y[index])
            net.backward(delta)
            opt.step(1e-3)
        times.append(time.perf_counter() - start)
    return times


def torch_epochs(X, y, hidden, batch, dropout, epochs) -> list[float]:
    import torch

    torch.manual_seed(0)
    layers, n_in = [], X.shape[1]
    for n_out in hidden:
        layers += [torch.nn.Linear(n_in, n_out), torch.nn.ReLU()]
        if dropout:
            layers.append(torch.nn.Dropout(dropout))
        n_in = n_out
    net = torch.nn.Sequential(*layers, torch.nn.Linear(n_in, 10))
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)
    times = []
    net.train()
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(Xt))
        for begin in range(0, len(Xt), batch):
            index = order[begin : begin + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[index]), yt[index]).backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times


def worker(args) -> None:
    X, y = load(args.data_dir)
    run = numpy_epochs if args.worker == "numpy" else torch_epochs
    times = run(X, y, args.hidden, args.batch_size, args.dropout, args.epochs + 1)[1:]  # first epoch warms up
    per_epoch = float(np.median(times))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s_per_epoch": per_epoch, "samples_per_s": len(X) / per_epoch, "peak_rss_mib": peak_mib}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--hidden", default="512,256", type=lambda s: tuple(int(v) for v in s.split(",")))
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--dropout", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs (after one warm-up epoch)")
    parser.add_argument("--worker", choices=["numpy", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    arch = "-".join(map(str, (784, *args.hidden, 10)))
    print(f"mlp {arch}, dropout {args.dropout}, Adam, batch {args.batch_size}, {args.epochs} timed epochs, float32")
    results = {}
    for side in ("numpy", "torch"):
        if side == "torch":
            try:
                import torch  # noqa: F401
            except ImportError:
                print("torch: not installed (pip install torch==2.13.0) — skipped")
                continue
        cmd = [
            sys.executable,
            __file__,
            "--worker",
            side,
            "--data-dir",
            args.data_dir,
            "--hidden",
            ",".join(map(str, args.hidden)),
            "--batch-size",
            str(args.batch_size),
            "--dropout",
            str(args.dropout),
            "--epochs",
            str(args.epochs),
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
        results[side] = r = json.loads(out)
        print(
            f"{side:>6}: {r['s_per_epoch']:.3f} s/epoch  {r['samples_per_s']:>9,.0f} samples/s  "
            f"peak RSS {r['peak_rss_mib']:,.0f} MiB"
        )
    if len(results) == 2:
        ratio = results["numpy"]["s_per_epoch"] / results["torch"]["s_per_epoch"]
        print(f" ratio NumPy/PyTorch (time per epoch): {ratio:.2f}")


if __name__ == "__main__":
    main()
