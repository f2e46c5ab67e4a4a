"""Training speed of a preset's architecture on the full train.csv: NumPy (this package) against PyTorch CPU.

Both sides train the same layers (PyTorch's are built from the same architecture JSON the NumPy model uses), the
same batch size and Adam, on the same float32 data, one process each so peak RSS is their own. Augmentation is off
on both sides (it is not part of the network). Both sides are pinned to the same thread count (--threads, default
every core this process may use; printed) and run with the same allocator setting (glibc's mmap and trim thresholds
raised, as the CLI does). Prints seconds per epoch, samples/s, peak RSS and the ratio NumPy/PyTorch.

    python benchmarks/bench_train.py --preset mlp [--hidden 256,128 --dropout 0]
    python benchmarks/bench_train.py --preset cnn --epochs 1 --limit 12800 [--rounds 5]

The two sides alternate `--rounds` times (this machine's speed drifts within minutes) and the medians are compared.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import numpy as np


def config_from(args):
    from kaggle_digits.training.presets import preset_config

    return preset_config(args.preset, hidden_sizes=args.hidden, dropout=args.dropout, batch_size=args.batch_size)


def load(args) -> tuple[np.ndarray, np.ndarray]:
    from kaggle_digits.data import load_train
    from kaggle_digits.pipeline.plan import dev_split

    train = load_train(args.data_dir)
    train_idx, _ = dev_split(train, config_from(args))
    train_idx = train_idx[: args.limit] if args.limit else train_idx
    return train.features(train_idx), train.labels[train_idx]


def numpy_epochs(args, X, y) -> list[float]:
    from kaggle_digits.nn.losses import cross_entropy
    from kaggle_digits.nn.network import build_network
    from kaggle_digits.nn.optim import Adam
    from kaggle_digits.training.architecture import architecture

    config = config_from(args)
    rng = np.random.default_rng(0)
    net = build_network(architecture(config), rng)
    opt = Adam(net.parameter_pairs())
    times = []
    for _ in range(args.epochs + 1):
        start = time.perf_counter()
        order = rng.permutation(len(X))
        for begin in range(0, len(X), config.batch_size):
            index = order[begin : begin + config.batch_size]
            _, delta = cross_entropy(net.forward(X[index], training=True), y[index])
            net.backward(delta)
            opt.step(1e-3)
        times.append(time.perf_counter() - start)
    return times[1:]  # the first epoch warms up


def torch_model(spec: dict):
    """The same network in PyTorch, layer for layer, from the NumPy model's architecture JSON."""
    import torch

    build = {
        "dense": lambda e: torch.nn.Linear(e["n_in"], e["n_out"]),
        "relu": lambda e: torch.nn.ReLU(),
        "dropout": lambda e: torch.nn.Dropout(e["rate"]),
        "flatten": lambda e: torch.nn.Flatten(),
        "conv2d": lambda e: torch.nn.Conv2d(
            e["in_channels"], e["out_channels"], e["kernel_size"], padding=e["padding"], bias=e.get("bias", True)
        ),
        "maxpool2d": lambda e: torch.nn.MaxPool2d(e["size"]),
        "batchnorm": lambda e: torch.nn.BatchNorm2d(e["channels"], momentum=1 - e["momentum"], eps=e["eps"]),
    }
    return torch.nn.Sequential(*(build[e["type"]](e) for e in spec["layers"]))


def torch_epochs(args, X, y) -> list[float]:
    import torch

    from kaggle_digits.training.architecture import architecture

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    spec = architecture(config_from(args))
    net = torch_model(spec)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    Xt, yt = torch.from_numpy(X).reshape(len(X), *spec["input_shape"]), torch.from_numpy(y)
    batch = config_from(args).batch_size
    times = []
    net.train()
    for _ in range(args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(Xt))
        for begin in range(0, len(Xt), batch):
            index = order[begin : begin + batch]
            opt.zero_grad(set_to_none=True)
            loss_fn(net(Xt[index]), yt[index]).backward()
            opt.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def worker(args) -> None:
    from kaggle_digits.allocator import keep_large_allocations

    keep_large_allocations()  # the same allocator setting on both sides
    X, y = load(args)
    times = (numpy_epochs if args.worker == "numpy" else torch_epochs)(args, X, y)
    per_epoch = float(np.median(times))
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"s_per_epoch": per_epoch, "samples_per_s": len(X) / per_epoch, "peak_rss_mib": peak_mib}))


def without_threads(argv: list[str]) -> list[str]:
    """The command line minus any --threads option (given as `--threads N` or `--threads=N`)."""
    kept, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--threads":
            skip = True
        elif not arg.startswith("--threads="):
            kept.append(arg)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mlp", choices=["mlp", "cnn", "fast"])
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--hidden", type=lambda s: tuple(int(v) for v in s.split(",")), help="e.g. 256,128")
    parser.add_argument("--dropout", type=float)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs, after one warm-up epoch")
    parser.add_argument("--limit", type=int, default=0, help="train rows per epoch (0: the whole train split)")
    parser.add_argument("--threads", type=int, default=0, help="threads on both sides (0: every available core)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating runs of each side; medians reported")
    parser.add_argument("--worker", choices=["numpy", "torch"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.threads:
        from kaggle_digits.nn.parallel import cpu_count

        args.threads = cpu_count()
    if args.worker:
        worker(args)
        return
    from kaggle_digits.terminal.display import describe

    config = config_from(args)
    rows = args.limit or "all"
    print(
        f"{args.preset}: {describe(config)}, dropout {config.dropout}, Adam, batch {config.batch_size}, "
        f"float32, {rows} train rows, median of {args.epochs} epochs after a warm-up; "
        f"{args.threads} thread(s) on both sides, the same allocator setting"
    )
    passthrough = [*without_threads(sys.argv[1:]), "--threads", str(args.threads)]
    sides = ["numpy"]
    try:
        import torch

        print(f"torch {torch.__version__}; the sides alternate {args.rounds} time(s), medians below")
        sides.append("torch")
    except ImportError:
        print("torch: not installed (pip install torch==2.13.0) — skipped")
    env = os.environ | {"KAGGLE_DIGITS_THREADS": str(args.threads), "OPENBLAS_NUM_THREADS": str(args.threads)}
    results: dict[str, list[dict]] = {side: [] for side in sides}
    for round_ in range(1, args.rounds + 1):
        for side in sides:
            cmd = [sys.executable, __file__, *passthrough, "--worker", side]
            out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
            results[side].append(r := json.loads(out.strip().splitlines()[-1]))
            print(f"round {round_} {side:>6}: {r['s_per_epoch']:.2f} s/epoch  {r['samples_per_s']:>9,.0f} samples/s")
    medians = {
        side: {key: float(np.median([r[key] for r in runs])) for key in runs[0]} for side, runs in results.items()
    }
    for side, m in medians.items():
        print(
            f"median {side:>6}: {m['s_per_epoch']:.2f} s/epoch  {m['samples_per_s']:>9,.0f} samples/s  "
            f"peak RSS {m['peak_rss_mib']:,.0f} MiB"
        )
    if len(medians) == 2:
        ratio = medians["numpy"]["s_per_epoch"] / medians["torch"]["s_per_epoch"]
        rounds = [n["s_per_epoch"] / t["s_per_epoch"] for n, t in zip(results["numpy"], results["torch"], strict=True)]
        print(
            f" ratio NumPy/PyTorch (median time per epoch): {ratio:.2f}; round by round "
            + ", ".join(f"{x:.2f}" for x in rounds)
        )


if __name__ == "__main__":
    main()
