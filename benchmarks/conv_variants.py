"""Other ways to run a 3x3 convolution in NumPy, timed against the one `nn/conv.py` uses, on one core.

Each variant is checked against `shifted_conv` before it is timed, so a fast wrong answer cannot win:

- shifted: what Conv2D runs — 9 GEMMs `(F, C) @ (C, Ho*W)` on shifted views of row-flattened images, summed.
- stacked taps: one GEMM `(9F, C) @ (C, H*W)` per image, then the 9 shifted (F, Ho*W) slices of it summed.
- Winograd F(2x2, 3x3): 16 GEMMs `(F, C) @ (C, tiles)` instead of 36 multiplications per 2x2 output tile, with the
  input and output transforms as strided NumPy adds (Lavin & Gray 2015).

And three ways to the weight gradient from the same flat input and the output gradient (zero in the wrap-around
columns): per-image GEMMs for each tap (what Conv2D runs), the 9 taps stacked into one (9C, Ho*W) column block per
image, and the batch collapsed so that each tap is one (F, n*Ho*W) @ (n*Ho*W, C) product.

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


def weight_grad_per_image(flat: np.ndarray, dY: np.ndarray, side: int, k: int = 3) -> np.ndarray:
    """dW tap by tap: per-image (F, Ho*W) @ (Ho*W, C) GEMMs, summed over the images (Conv2D's method)."""
    _, F, length = dY.shape
    dW = np.empty((F, flat.shape[1], k, k), np.float32)  # (F, C, k, k)
    for i in range(k):
        for j in range(k):
            part = flat[:, :, i * side + j : i * side + j + length]  # (n, C, Ho*W) view
            dW[:, :, i, j] = np.matmul(dY, part.transpose(0, 2, 1)).sum(axis=0)  # (F, C)
    return dW


def weight_grad_stacked(flat: np.ndarray, dY: np.ndarray, side: int, k: int = 3) -> np.ndarray:
    """dW from the 9 shifted views copied into one (n, 9C, Ho*W) block: one per-image GEMM with N = 9C."""
    n, F, length = dY.shape
    C = flat.shape[1]
    cols = np.empty((n, k * k, C, length), np.float32)  # (n, 9, C, Ho*W)
    for tap in range(k * k):
        offset = (tap // k) * side + tap % k
        cols[:, tap] = flat[:, :, offset : offset + length]
    dW = np.matmul(dY, cols.reshape(n, k * k * C, length).transpose(0, 2, 1)).sum(axis=0)  # (F, 9C)
    return dW.reshape(F, k, k, C).transpose(0, 3, 1, 2)


def weight_grad_collapsed(flat: np.ndarray, dY: np.ndarray, side: int, k: int = 3) -> np.ndarray:
    """dW with the batch folded into the GEMM's inner dimension: one (F, n*Ho*W) @ (n*Ho*W, C) product per tap."""
    n, F, length = dY.shape
    C = flat.shape[1]
    dY_rows = np.ascontiguousarray(dY.transpose(1, 0, 2)).reshape(F, n * length)  # (F, n*Ho*W)
    part = np.empty((C, n, length), np.float32)  # (C, n, Ho*W)
    dW = np.empty((F, C, k, k), np.float32)
    for tap in range(k * k):
        offset = (tap // k) * side + tap % k
        part[...] = flat[:, :, offset : offset + length].transpose(1, 0, 2)
        dW[:, :, tap // k, tap % k] = dY_rows @ part.reshape(C, -1).T  # (F, C)
    return dW


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
    weight_grads = []
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
        weight_grads.append((C, F, side, flat))
    print(
        f"\nweight gradient of the same chunk, ms\n{'layer':<22}{'per image':>10}{'stacked taps':>22}{'collapsed':>22}"
    )
    for C, F, side, flat in weight_grads:
        dY = rng.standard_normal((args.images, F, (side - 2) * side), dtype=np.float32)  # (n, F, Ho*W)
        dY.reshape(args.images, F, side - 2, side)[..., side - 2 :] = 0  # wrap-around columns carry no gradient
        reference = weight_grad_per_image(flat, dY, side)
        base = timed(lambda: weight_grad_per_image(flat, dY, side))  # noqa: B023
        cells = []
        for method in (weight_grad_stacked, weight_grad_collapsed):
            ms = timed(lambda: method(flat, dY, side))  # noqa: B023
            error = np.abs(method(flat, dY, side) - reference).max() / np.abs(reference).max()
            cells.append(f"{ms:.1f} ({ms / base:.2f}x, {error:.0e})")
        print(f"{C}→{F}, {side}x{side}".ljust(22) + f"{base:>10.1f}" + "".join(f"{c:>22}" for c in cells))


if __name__ == "__main__":
    main()
