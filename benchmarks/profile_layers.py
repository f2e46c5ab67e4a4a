"""Where a training step goes: forward and backward time of every layer of a preset's network, per batch.

Random inputs of the real shape (the arithmetic does not depend on the pixel values), a few warm-up steps, then the
mean over timed steps. Layers run exactly as in training (batch-parallel, workspaces reused), timed from outside.

    python benchmarks/profile_layers.py --preset cnn [--batch-size 128 --steps 20]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kaggle_digits.allocator import keep_large_allocations
from kaggle_digits.nn.losses import cross_entropy
from kaggle_digits.nn.network import build_network
from kaggle_digits.nn.optim import Adam
from kaggle_digits.nn.parallel import workers
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.presets import preset_config

WARMUP = 3


def profile(preset: str, batch_size: int, steps: int) -> tuple[list, np.ndarray, float]:
    """(layers, seconds (n_layers, 2) summed over the timed steps for forward/backward, optimiser seconds)."""
    keep_large_allocations()
    rng = np.random.default_rng(0)
    net = build_network(architecture(preset_config(preset)), rng)
    optimizer = Adam(net.parameter_pairs())
    X = rng.random((batch_size, *net.input_shape), dtype=np.float32)  # (B, ...)
    y = rng.integers(0, 10, batch_size)  # (B,)
    seconds = np.zeros((len(net.layers), 2))
    optimizer_seconds = 0.0
    for step in range(WARMUP + steps):
        timed = step >= WARMUP
        h = X
        for i, layer in enumerate(net.layers):
            start = time.perf_counter()
            h = layer.forward(h, training=True)
            seconds[i, 0] += (time.perf_counter() - start) * timed
        _, delta = cross_entropy(h, y)
        for i in range(len(net.layers) - 1, -1, -1):
            start = time.perf_counter()
            delta = net.layers[i].backward(delta, need_dX=i > 0)
            seconds[i, 1] += (time.perf_counter() - start) * timed
        start = time.perf_counter()
        optimizer.step(1e-3)
        optimizer_seconds += (time.perf_counter() - start) * timed
    return net.layers, seconds, optimizer_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="cnn", choices=["mlp", "cnn", "fast", "strided"])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    layers, seconds, optimizer_seconds = profile(args.preset, args.batch_size, args.steps)
    print(f"{args.preset}, batch {args.batch_size}, {workers()} worker thread(s), mean of {args.steps} steps")
    print("\n".join(report(layers, seconds, optimizer_seconds, args.steps, args.batch_size)))


def report(layers: list, seconds: np.ndarray, optimizer_seconds: float, steps: int, batch_size: int) -> list[str]:
    """One line per layer (forward and backward ms per step, share of the step), then Adam and the step total."""
    per_step = seconds / steps * 1e3  # (n_layers, 2) ms
    adam = optimizer_seconds / steps * 1e3
    total = per_step.sum() + adam
    lines = [f"{'layer':<16}{'forward ms':>11}{'backward ms':>12}{'share':>8}"]
    for i, layer in enumerate(layers):
        detail = f" {getattr(layer, 'method', '')}".rstrip()
        forward, backward = per_step[i]
        lines.append(
            f"{i:>2} {layer.kind + detail:<13}{forward:>11.1f}{backward:>12.1f}{(forward + backward) / total:>8.1%}"
        )
    lines.append(f"   {'adam':<13}{adam:>23.1f}{adam / total:>8.1%}")
    lines.append(
        f"step {total:.1f} ms → {batch_size / total * 1e3:,.0f} samples/s (loss and data handling not included)"
    )
    return lines


if __name__ == "__main__":
    main()
