"""What bounds a convolution in NumPy: each wide cnn layer's passes against this core's GEMM rate and copy bandwidth.

For one 64-image chunk on one core (what each thread gets of a 128 batch), each pass of `Conv2D` (forward, input
gradient, weight gradient) is timed as training runs it, and set beside two bounds measured here a moment later:
the arithmetic at the rate OpenBLAS reaches on the GEMM shape the pass is made of (and on a large square product),
and the least memory traffic (read the inputs once, write the outputs once) at this core's copy bandwidth. GFLOP
counts the useful arithmetic only (2 per multiply-add of an input, an output and a tap), the same for the three passes:
what a kernel computes beyond it (the wrap-around columns, the input gradient's zero border) shows as a lower rate.

    python benchmarks/conv_bounds.py [--images 64]
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("KAGGLE_DIGITS_THREADS", "1")  # one core, as one chunk of a batch runs

import numpy as np

from kaggle_digits.nn.conv import Conv2D
from kaggle_digits.nn.parallel import hold_blas_to_one_thread

LAYERS = [(32, 32, 26), (32, 64, 12), (64, 64, 10)]  # (C, F, input side): the cnn preset's wide layers


def timed(call, repeats: int = 10) -> float:
    """Seconds per call, after one warm-up call."""
    call()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - started) / repeats


def gemm_rate(m: int, k: int, n: int, batch: int) -> float:
    """GFLOP/s of `batch` products (m, k) @ (k, n) in one np.matmul call."""
    rng = np.random.default_rng(0)
    A = rng.standard_normal((m, k), dtype=np.float32)  # (m, k)
    B = rng.standard_normal((batch, k, n), dtype=np.float32)  # (batch, k, n)
    out = np.empty((batch, m, n), np.float32)
    return 2 * m * k * n * batch / timed(lambda: np.matmul(A, B, out=out)) / 1e9


def copy_bandwidth() -> float:
    """GB/s moved (read + write) by one core copying 64 MiB."""
    src = np.ones(16 << 20, np.float32)
    dst = np.empty_like(src)
    return 2 * src.nbytes / timed(lambda: np.copyto(dst, src)) / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64)
    args = parser.parse_args()
    hold_blas_to_one_thread()
    n, rng = args.images, np.random.default_rng(0)
    square, bandwidth = gemm_rate(1024, 1024, 1024, 1), copy_bandwidth()
    print(f"one core; {n} images; a 1024^3 sgemm runs at {square:.0f} GFLOP/s, a 64 MiB copy at {bandwidth:.1f} GB/s")
    print(f"{'layer':<16}{'pass':<10}{'method':<10}{'GFLOP':>7}{'ms':>7}{'GFLOP/s':>9}"
          f"{'its GEMM':>10}{'ms at it':>10}{'ms at sq.':>10}{'min MB':>8}{'ms at bw':>10}")  # fmt: skip
    for C, F, side in LAYERS:
        layer = Conv2D(C, F, 3, bias=False, rng=rng)
        X = rng.standard_normal((n, C, side, side), dtype=np.float32)  # (n, C, H, W)
        layer.forward(X, training=True)
        ho = side - 2
        dY = rng.standard_normal((n, F, ho, ho), dtype=np.float32)  # (n, F, Ho, Wo)
        forward = timed(lambda: layer.forward(X, training=True))  # noqa: B023
        weight = timed(lambda: layer.backward(dY, need_dX=False))  # noqa: B023
        both = timed(lambda: layer.backward(dY))  # noqa: B023
        io = 4 * n * (C * side * side + F * ho * ho) / 1e6  # MB: every pass reads one of X, dY and writes the other
        passes = [  # (name, seconds, useful flops — each input, output and tap met once —, its GEMM: m, k, n, batch)
            ("forward", forward, 2 * n * F * C * 9 * ho * ho, (F, C, ho * side, n)),
            ("input", both - weight, 2 * n * F * C * 9 * ho * ho, (C, F, side * (side + 2), n)),
            ("weight", weight, 2 * F * C * 9 * n * ho * ho, (F, ho * side, C, n)),
        ]
        for name, seconds, flops, shape in passes:
            method = "shifted" if name == "input" and layer.method == "winograd" else layer.method  # dX stays shifted
            if method == "winograd":
                shape = (F, C, n * ((ho + 3) // 4) ** 2, 36)  # the 36 GEMMs of the transformed tiles
                flops /= 4  # 4x fewer multiplications (the transforms are not counted)
            rate = gemm_rate(*shape)
            print(f"{f'{C}→{F} {side}x{side}':<16}{name:<10}{method:<10}{flops / 1e9:>7.3f}"
                  f"{seconds * 1e3:>7.1f}{flops / seconds / 1e9:>9.0f}{rate:>10.0f}{flops / rate / 1e6:>10.1f}"
                  f"{flops / square / 1e6:>10.1f}{io:>8.1f}{io / bandwidth:>10.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
