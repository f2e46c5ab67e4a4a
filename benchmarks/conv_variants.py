"""Other ways to run a 3x3 convolution in NumPy, timed against the one `nn/conv.py` uses, on one core.

Each variant is checked against `shifted_conv` before it is timed, so a fast wrong answer cannot win:

- shifted: what Conv2D runs — 9 GEMMs `(F, C) @ (C, Ho*W)` on shifted views of row-flattened images, summed.
- stacked taps: one GEMM `(9F, C) @ (C, H*W)` per image, then the 9 shifted (F, Ho*W) slices of it summed.
- Winograd F(2x2, 3x3): 16 GEMMs `(F, C) @ (C, tiles)` instead of 36 multiplications per 2x2 output tile, with the
  input and output transforms as strided NumPy adds (Lavin & Gray 2015).
- columns per image: the 9 shifted slices of one image copied into a (9C, Ho*W) block that stays in cache, then one
  GEMM `(F, 9C) @ (9C, Ho*W)` with a 9x longer inner dimension.
- Winograd F(4x4, 3x3) with every transform a GEMM (`nn/winograd.py`: the tiles copied once, then Kronecker
  matrices), in sub-batches of 8 and 16 images and on the whole chunk at once.

And three ways to the weight gradient from the same flat input and the output gradient (zero in the wrap-around
columns): per-image GEMMs for each tap (what Conv2D runs), the 9 taps stacked into one (9C, Ho*W) column block per
image, the batch collapsed so that each tap is one (F, n*Ho*W) @ (n*Ho*W, C) product, the batch laid out
channels-last once so that each tap is one (F, n*H*W) @ (n*H*W, C) product over every pixel of the chunk, and
Winograd F(4x4)'s, given the input transform its forward kept, and with that transform computed as well (where the
forward is another method). Then the input gradient: the shifted convolution of the zero-bordered output gradient
with the flipped kernels (what Conv2D runs) against the same convolution through Winograd F(4x4).

    python benchmarks/conv_variants.py [--images 64 --preset cnn]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from kaggle_digits.nn import winograd as wg
from kaggle_digits.nn.conv import SUB_BATCH, shifted_conv
from kaggle_digits.nn.parallel import _blas_local_threads

LAYERS = {  # (C, F, input side) of each preset's wide 3x3 layers
    "cnn": [(32, 32, 26), (32, 64, 12), (64, 64, 10)],
    "fast": [(16, 16, 26), (16, 32, 12), (32, 32, 10)],
}
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


def columns_per_image(flat: np.ndarray, W: np.ndarray, side: int, Y: np.ndarray) -> None:
    """Per image, the 9 shifted (C, Ho*W) slices copied into one (9C, Ho*W) block, then one GEMM with K = 9C."""
    n, C, _ = flat.shape
    F, ho = W.shape[0], side - 2
    length = ho * side
    W2 = W.transpose(0, 2, 3, 1).reshape(F, 9 * C)  # (F, 9C): taps outer, channels inner
    cols = np.empty((9 * C, length), np.float32)  # (9C, Ho*W): 0.7 MB for the 26x26 layer
    out = np.empty((F, length), np.float32)  # (F, Ho*W)
    for image in range(n):
        for tap in range(9):
            offset = (tap // 3) * side + tap % 3
            cols[tap * C : (tap + 1) * C] = flat[image, :, offset : offset + length]
        np.matmul(W2, cols, out=out)
        Y[image] = out.reshape(F, ho, side)[:, :, :ho]


def weight_grad_channels_last(X: np.ndarray, dY: np.ndarray) -> np.ndarray:
    """dW with the chunk laid out channels-last once: each tap one (F, n*H*W) @ (n*H*W, C) GEMM over every pixel
    (outputs beyond the valid ones carry a zero gradient)."""
    n, C, h, w = X.shape
    F, ho, wo = dY.shape[1:]
    pixels = np.zeros((n * h * w + 2 * w + 2, C), np.float32)  # (n*H*W + spare, C)
    pixels[: n * h * w].reshape(n, h, w, C)[...] = X.transpose(0, 2, 3, 1)
    grads = np.zeros((F, n, h, w), np.float32)  # (F, n, H, W), zero beyond (Ho, Wo)
    grads[:, :, :ho, :wo] = dY.transpose(1, 0, 2, 3)
    dW = np.empty((F, C, 3, 3), np.float32)
    for tap in range(9):
        offset = (tap // 3) * w + tap % 3
        dW[:, :, tap // 3, tap % 3] = grads.reshape(F, -1) @ pixels[offset : offset + n * h * w]  # (F, C)
    return dW


def winograd4(X: np.ndarray, U: np.ndarray, Y: np.ndarray, batch: int) -> None:
    """Y = X ⋆ W through F(4x4, 3x3) with GEMM transforms, `batch` images per pass; U = kernel_transform(W)."""
    for s in range(0, len(X), batch):
        wg.convolve(X[s : s + batch], U, Y[s : s + batch])


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
    parser.add_argument("--preset", choices=list(LAYERS), default="cnn", help="whose layers")
    args = parser.parse_args()
    setter = _blas_local_threads()
    if setter is not None:
        setter(1)
    rng = np.random.default_rng(0)
    print(f"forward of one {args.images}-image chunk on one core, ms (relative error against shifted)")
    columns = ["stacked taps", "columns per image", "Winograd 2x2", "Winograd 4x4 /8", "Winograd 4x4 /16",
               "Winograd 4x4 all"]  # fmt: skip
    print(f"{'layer':<22}{'shifted':>9}" + "".join(f"{c:>22}" for c in columns))
    weight_grads = []
    for C, F, side in LAYERS[args.preset]:
        X = rng.standard_normal((args.images, C, side, side), dtype=np.float32)  # (n, C, H, W)
        W = rng.standard_normal((F, C, 3, 3), dtype=np.float32)  # (F, C, 3, 3)
        flat = np.zeros((args.images, C, side * side + 2), np.float32)  # (n, C, H*W + 2)
        flat[:, :, : side * side] = X.reshape(args.images, C, -1)
        taps = W.transpose(2, 3, 0, 1).copy()  # (3, 3, F, C)
        U = np.einsum("ai,fcij,bj->abfc", G, W, G).copy()  # (4, 4, F, C)
        reference, Y = (np.empty((args.images, F, side - 2, side - 2), np.float32) for _ in range(2))
        base = timed(lambda: shifted_conv(flat, taps, side, reference))  # noqa: B023
        cells = []
        U4 = wg.kernel_transform(W)  # (36, F, C)
        variants = [lambda: stacked_taps(flat, W, side, Y), lambda: columns_per_image(flat, W, side, Y)]  # noqa: B023
        variants += [lambda: winograd(X, U, Y)]  # noqa: B023
        variants += [lambda b=b: winograd4(X, U4, Y, b) for b in (8, 16, args.images)]  # noqa: B023
        for run in variants:
            ms = timed(run)
            error = np.abs(Y - reference).max() / np.abs(reference).max()
            cells.append(f"{ms:.1f} ({ms / base:.2f}x, {error:.0e})")
        print(f"{C}→{F}, {side}x{side}".ljust(22) + f"{base:>9.1f}" + "".join(f"{c:>22}" for c in cells))
        weight_grads.append((C, F, side, flat, X, W))
    columns = ["stacked taps", "collapsed", "channels-last", "Winograd 4x4 given V", "Winograd 4x4 with V"]
    print("\nweight gradient of the same chunk, ms")
    print(f"{'layer':<22}{'per image':>10}" + "".join(f"{c:>24}" for c in columns))
    input_grads = []
    for C, F, side, flat, X, W in weight_grads:
        dY = rng.standard_normal((args.images, F, (side - 2) * side), dtype=np.float32)  # (n, F, Ho*W)
        dY.reshape(args.images, F, side - 2, side)[..., side - 2 :] = 0  # wrap-around columns carry no gradient
        reference = weight_grad_per_image(flat, dY, side)
        base = timed(lambda: weight_grad_per_image(flat, dY, side))  # noqa: B023
        dY_valid = np.ascontiguousarray(dY.reshape(args.images, F, side - 2, side)[..., : side - 2])  # (n, F, Ho, Wo)
        V = wg.input_transform(X)  # (36, C, n*T)
        methods = [
            lambda: weight_grad_stacked(flat, dY, side),  # noqa: B023
            lambda: weight_grad_collapsed(flat, dY, side),  # noqa: B023
            lambda: weight_grad_channels_last(X, dY_valid),  # noqa: B023
            lambda: wg.weight_grad(V, dY_valid),  # noqa: B023
            lambda: wg.weight_grad(wg.input_transform(X), dY_valid),  # noqa: B023
        ]
        cells = []
        for method in methods:
            ms = timed(method)
            error = np.abs(method() - reference).max() / np.abs(reference).max()
            cells.append(f"{ms:.1f} ({ms / base:.2f}x, {error:.0e})")
        print(f"{C}→{F}, {side}x{side}".ljust(22) + f"{base:>10.1f}" + "".join(f"{c:>24}" for c in cells))
        input_grads.append((C, F, side, W, dY_valid))
    print("\ninput gradient of the same chunk (the zero-bordered output gradient ⋆ the flipped kernels), ms")
    print(f"{'layer':<22}{'shifted':>9}{'Winograd 4x4 /16':>24}")
    for C, F, side, W, dY_valid in input_grads:
        n, padded = args.images, side + 2
        flat = np.zeros((n, F, padded * padded + 2), np.float32)  # (n, F, (H+2)*(W+2) + 2)
        flat[:, :, : padded * padded].reshape(n, F, padded, padded)[:, :, 2:-2, 2:-2] = dY_valid
        dY_pad = np.ascontiguousarray(flat[:, :, : padded * padded].reshape(n, F, padded, padded))
        flipped = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)  # (C, F, 3, 3)
        taps, U = flipped.transpose(2, 3, 0, 1).copy(), wg.kernel_transform(np.ascontiguousarray(flipped))
        reference, dX = (np.empty((n, C, side, side), np.float32) for _ in range(2))
        base = timed(lambda: shifted_conv(flat, taps, padded, reference))  # noqa: B023
        ms = timed(lambda: winograd4(dY_pad, U, dX, 16))  # noqa: B023
        error = np.abs(dX - reference).max() / np.abs(reference).max()
        print(
            f"{C}→{F}, {side}x{side}".ljust(22)
            + f"{base:>9.1f}"
            + f"{ms:.1f} ({ms / base:.2f}x, {error:.0e})".rjust(24)
        )


if __name__ == "__main__":
    main()
