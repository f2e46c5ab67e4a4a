"""Other ways to run a 3x3 convolution in NumPy, timed against the one `nn/conv.py` uses, on one core.

Each variant is checked against `shifted_conv` before it is timed, so a fast wrong answer cannot win:

- shifted: what Conv2D runs — 9 GEMMs `(F, C) @ (C, Ho*W)` on shifted views of row-flattened images, summed.
- stacked taps: one GEMM `(9F, C) @ (C, H*W)` per image, then the 9 shifted (F, Ho*W) slices of it summed.
- Winograd F(2x2, 3x3): 16 GEMMs `(F, C) @ (C, tiles)` instead of 36 multiplications per 2x2 output tile, with the
  input and output transforms as strided NumPy adds (Lavin & Gray 2015).

    python benchmarks/conv_variants.py [--images 64]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kaggle_digits.nn.conv import SUB_BATCH, shifted_conv
from kaggle_digits.nn.parallel import _blas_local_threads

LAYERS = [(32, 32, 26), (32, 64, 12), (64, 64, 10)]  # (C, F, input side) of the cnn preset's shifted layers
G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)  # Winograd kernel transform


def stacked_taps(flat: np.ndarray, W: np.ndarray, side: int, Y: np.ndarray, batch: int = 4) -> None:
    """One (9F, C) @ (C, H*W + 2) GEMM per image, then sum the 9 shifted (F, Ho*W) slices of its result."""
    F, C, k, _ = W.shape
    n, _, ho, wo = Y.shape
    length, width = ho * side, flat.shape[2]
    Ws = W.transpose(2, 3, 0, 1).reshape(k * k * F, C)  # (9F, C)
    Z = np.empty((batch, k * k, F, width), np.float32)  # (b, 9, F, H*W + 2)
    acc = np.empty((batch, F, length), np.float32)  # (b, F, Ho*W)
    for s in range(0, n, batch):
        b = min(batch, n - s)
        np.matmul(Ws, flat[s : s + b], out=Z[:b].reshape(b, k * k * F, width))
        np.copyto(acc[:b], Z[:b, 0, :, :length])
        for tap in range(1, k * k):
            offset = (tap // k) * side + tap % k
            acc[:b] += Z[:b, tap, :, offset : offset + length]
        Y[s : s + b] = acc[:b].reshape(b, F, ho, side)[..., :wo]


def winograd(X: np.ndarray, U: np.ndarray, Y: np.ndarray, batch: int = SUB_BATCH) -> None:
    """Y = X ⋆ W through F(2x2, 3x3): U = G W Gᵀ (4, 4, F, C) precomputed; input side - 2 must be even."""
    n, C, side, _ = X.shape
    F, t = U.shape[2], (side - 2) // 2  # tiles per row
    V = np.empty((4, 4, C, batch, t, t), np.float32)  # Bᵀ d B for every 4x4 input tile
    rows = np.empty((4, batch, C, t, side), np.float32)  # Bᵀ applied along the rows
    for s in range(0, n, batch):
        b = min(batch, n - s)
        x = X[s : s + b]
        r = [x[:, :, i : i + 2 * t : 2] for i in range(4)]  # (b, C, t, side) each: rows 2y+i
        np.subtract(r[0], r[2], out=rows[0, :b])
        np.add(r[1], r[2], out=rows[1, :b])
        np.subtract(r[2], r[1], out=rows[2, :b])
        np.subtract(r[1], r[3], out=rows[3, :b])
        for a in range(4):
            c = [rows[a, :b, ..., j : j + 2 * t : 2] for j in range(4)]  # (b, C, t, t) each: columns 2x+j
            Va = V[a, :, :, :b].transpose(0, 2, 1, 3, 4)  # (4, b, C, t, t) views
            np.subtract(c[0], c[2], out=Va[0])
            np.add(c[1], c[2], out=Va[1])
            np.subtract(c[2], c[1], out=Va[2])
            np.subtract(c[1], c[3], out=Va[3])
        M = np.matmul(U, V[:, :, :, :b].reshape(4, 4, C, b * t * t))  # (4, 4, F, b*t*t): 16 GEMMs
        for o, half in enumerate((M[0] + M[1] + M[2], M[1] - M[2] - M[3])):  # Aᵀ along rows: (4, F, b*t*t)
            out = Y[s : s + b].reshape(b, F, t, 2, t, 2)[:, :, :, o]  # (b, F, t, t, 2) view
            for p, values in enumerate((half[0] + half[1] + half[2], half[1] - half[2] - half[3])):
                out[..., p] = values.reshape(F, b, t, t).transpose(1, 0, 2, 3)


def timed(call, repeats: int = 10) -> float:
    call()
    started = time.perf_counter()
    for _ in range(repeats):
        call()
    return (time.perf_counter() - started) / repeats * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=64, help="images per call (one core's chunk of a batch)")
    args = parser.parse_args()
    setter = _blas_local_threads()
    if setter is not None:
        setter(1)
    rng = np.random.default_rng(0)
    print(f"forward of one {args.images}-image chunk on one core, ms (relative error against shifted)")
    print(f"{'layer':<22}{'shifted':>9}{'stacked taps':>22}{'Winograd':>22}")
    for C, F, side in LAYERS:
        X = rng.standard_normal((args.images, C, side, side), dtype=np.float32)  # (n, C, H, W)
        W = rng.standard_normal((F, C, 3, 3), dtype=np.float32)  # (F, C, 3, 3)
        flat = np.zeros((args.images, C, side * side + 2), np.float32)  # (n, C, H*W + 2)
        flat[:, :, : side * side] = X.reshape(args.images, C, -1)
        taps = W.transpose(2, 3, 0, 1).copy()  # (3, 3, F, C)
        U = np.einsum("ai,fcij,bj->abfc", G, W, G).copy()  # (4, 4, F, C)
        reference, Y = (np.empty((args.images, F, side - 2, side - 2), np.float32) for _ in range(2))
        base = timed(lambda: shifted_conv(flat, taps, side, reference))  # noqa: B023
        cells = []
        for run in (lambda: stacked_taps(flat, W, side, Y), lambda: winograd(X, U, Y)):  # noqa: B023
            ms = timed(run)
            error = np.abs(Y - reference).max() / np.abs(reference).max()
            cells.append(f"{ms:.1f} ({ms / base:.2f}x, {error:.0e})")
        print(f"{C}→{F}, {side}x{side}".ljust(22) + f"{base:>9.1f}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
