"""Conv2D in NCHW float32: im2col for thin inputs, shifted GEMMs for wide ones and Winograd F(4x4, 3x3) for small
wide ones (`winograd.py`), forward and backward side by side.

The input gradient is itself a convolution (of the zero-padded output gradient with the flipped kernels), so
it reuses the forward's machinery instead of scattering columns back with col2im. The batch is split into one chunk
per core (`parallel.map_batch`); chunks write disjoint rows of preallocated outputs, and the weight gradient is summed
from per-chunk partials.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import winograd
from .layers import Layer, init_weights
from .parallel import map_batch

SHIFTED_MIN_DEPTH = 64  # C*k*k from which Conv2D uses shifted GEMMs rather than im2col
METHODS = ("im2col", "shifted", "winograd")
WINOGRAD_MAX_SIDE = 12  # input sides up to which a 3x3 layer with many channels runs Winograd F(4x4, 3x3)
WINOGRAD_MIN_CHANNELS = 64
WINOGRAD_SUB_BATCH = 16  # images per Winograd pass
SUB_BATCH = 16  # images per shifted-GEMM pass


def im2col(X: np.ndarray, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """Every k x k patch of every image as a column: (N, C, H, W) → (N, C*k*k, Ho*Wo), stride 1, into `out`."""
    n, c, h, w = X.shape
    windows = sliding_window_view(X, (k, k), axis=(2, 3)).transpose(0, 1, 4, 5, 2, 3)  # (N, C, k, k, Ho, Wo) view
    if out is None:
        out = np.empty((n, c * k * k, (h - k + 1) * (w - k + 1)), dtype=X.dtype)
    np.copyto(out.reshape(windows.shape), windows)
    return out  # (N, C*k*k, L)


class Workspace:
    """Named arrays kept from batch to batch while their shape repeats, so a layer does not re-allocate them."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype, zeros: bool = False) -> np.ndarray:
        array = self.arrays.get(name)
        if array is None or array.shape != shape or array.dtype != dtype:
            array = self.arrays[name] = np.zeros(shape, dtype) if zeros else np.empty(shape, dtype)
        return array

    def __getitem__(self, name: str) -> np.ndarray:
        return self.arrays[name]


def shifted_conv(src: np.ndarray, taps: np.ndarray, row_width: int, dst: np.ndarray) -> None:
    """Valid cross-correlation as k*k GEMMs over shifted slices of flat images, with no im2col copy.

    src (n, C, rows*row_width + k-1) holds images flattened row by row; taps (k, k, F, C); dst (n, F, Ho, Wo).
    Output pixel (y, x) lives at flat position y*row_width + x and tap (i, j) reads position + i*row_width + j, so
    each tap is one batched GEMM on a contiguous slice. The last k-1 positions of each output row wrap into the
    next image row: they are computed and dropped. Images go SUB_BATCH at a time so the sums stay in cache.
    """
    k = taps.shape[0]
    n, F, ho, wo = dst.shape
    length = ho * row_width
    acc = np.empty((min(n, SUB_BATCH), F, length), dst.dtype)  # (b, F, Ho*row_width)
    term = np.empty_like(acc)
    for s in range(0, n, SUB_BATCH):
        b = min(SUB_BATCH, n - s)
        for i in range(k):
            for j in range(k):
                offset = i * row_width + j
                part = src[s : s + b, :, offset : offset + length]  # (b, C, Ho*row_width) view
                np.matmul(taps[i, j], part, out=acc[:b] if i == j == 0 else term[:b])
                if i or j:
                    acc[:b] += term[:b]
        dst[s : s + b] = acc[:b].reshape(b, F, ho, row_width)[:, :, :, :wo]


def sub_batches(rows: slice) -> list[slice]:
    """rows in consecutive slices of at most WINOGRAD_SUB_BATCH."""
    size = WINOGRAD_SUB_BATCH
    return [slice(s, min(s + size, rows.stop)) for s in range(rows.start, rows.stop, size)]


def pick_method(C: int, F: int, k: int, h: int, w: int) -> str:
    """The method for a wide layer's (padded) input: Winograd for 3x3 kernels with at least WINOGRAD_MIN_CHANNELS
    in and out on inputs up to WINOGRAD_MAX_SIDE, else shifted GEMMs (docs/benchmarks.md has the figures)."""
    small = max(h, w) <= WINOGRAD_MAX_SIDE and min(C, F) >= WINOGRAD_MIN_CHANNELS
    return "winograd" if k == 3 and small else "shifted"


class Conv2D(Layer):
    """Cross-correlation with F filters of C x k x k, stride 1, optional zero padding.

    `bias=False` where BatchNorm follows: its mean subtraction would cancel a bias, so it would only cost time.
    Three methods: im2col + one GEMM per image where C*k*k is small (the input layer, C = 1); for wide inputs, k*k
    shifted GEMMs (`shifted_conv`), where the im2col copy would cost as much as the arithmetic, or — for 3x3 kernels on
    small images with many channels, where it measured faster — Winograd F(4x4, 3x3) for the forward pass and the
    weight gradient (`winograd`), with the input gradient still a shifted convolution. Without `method`, the layer
    picks by its input's size when it first sees one (`pick_method`).
    """

    kind = "conv2d"
    takes_rng = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        padding: int = 0,
        init: str = "he",
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype=np.float32,
        method: str | None = None,
    ):
        super().__init__()
        self.workspace = Workspace()  # buffers reused while the batch shape repeats
        self.in_channels, self.out_channels, self.k, self.padding = in_channels, out_channels, kernel_size, padding
        self.init, self.bias = init, bias
        self.method = method or ("im2col" if in_channels * kernel_size**2 < SHIFTED_MIN_DEPTH else None)
        if method is not None and (method not in METHODS or (method == "winograd" and kernel_size != 3)):
            raise ValueError(f"conv method {self.method!r}: choose one of {METHODS} (winograd: 3x3 kernels only)")
        fan_in, fan_out = in_channels * kernel_size**2, out_channels * kernel_size**2
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self._add_param("W", init_weights(shape, fan_in, fan_out, init, rng, dtype))  # (F, C, k, k)
        if bias:
            self._add_param("b", np.zeros(out_channels, dtype))  # (F,)

    def forward(self, X, training=False):
        if self.padding:
            p = self.padding
            X = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))  # (N, C, H+2p, W+2p)
        n, C, h, w = self.padded_shape = X.shape
        F, k = self.out_channels, self.k
        self.method = self.method or pick_method(C, F, k, h, w)
        Y = np.empty((n, F, h - k + 1, w - k + 1), X.dtype)  # (N, F, Ho, Wo)
        b = self.params["b"][:, None, None] if self.bias else None  # (F, 1, 1)
        if self.method == "im2col":
            cols = self.workspace.get("cols", (n, C * k * k, Y[0, 0].size), X.dtype) if training else None
            W2 = self.params["W"].reshape(F, -1)  # (F, C*k*k)

            def convolve(rows: slice) -> None:
                src = im2col(X[rows], k, None if cols is None else cols[rows])  # (n, C*k*k, L)
                np.matmul(W2, src, out=Y[rows].reshape(len(src), F, -1))  # (n, F, L)

        elif self.method == "winograd":
            U = winograd.kernel_transform(self.params["W"])  # (36, F, C)
            tiles = np.prod(winograd.tile_counts(h, w))

            def convolve(rows: slice) -> None:
                for part in sub_batches(rows):
                    m = part.stop - part.start
                    kept = self.workspace.get(f"V{part.start}", (36, C, m * tiles), X.dtype) if training else None
                    winograd.convolve(X[part], U, Y[part], kept)  # dW reads kept: the input transform

        else:
            shape = (n, C, h * w + k - 1)  # images flattened row by row, k-1 spare zeros at the end
            flat = self.workspace.get("flat", shape, X.dtype) if training else np.empty(shape, X.dtype)  # dW reads it
            taps = self.params["W"].transpose(2, 3, 0, 1).copy()  # (k, k, F, C)

            def convolve(rows: slice) -> None:
                flat[rows, :, : h * w] = X[rows].reshape(-1, C, h * w)
                flat[rows, :, h * w :] = 0  # read only by the dropped wrap-around columns
                shifted_conv(flat[rows], taps, w, Y[rows])

        def convolve_and_add_bias(rows: slice) -> None:
            convolve(rows)
            if b is not None:
                Y[rows] += b

        map_batch(convolve_and_add_bias, n, Y.size * C * k * k)
        return Y

    def backward(self, dY, need_dX=True):
        n = len(dY)
        dX = np.empty(self.padded_shape, dY.dtype) if need_dX else None  # (N, C, H+2p, W+2p)
        work = 2 * dY.size * self.in_channels * self.k**2
        if self.method == "im2col":
            weight_grad, input_grad_into = self._im2col_backward(dY, need_dX)
        elif self.method == "winograd":

            def weight_grad(rows: slice) -> np.ndarray:
                return sum(
                    winograd.weight_grad(self.workspace[f"V{part.start}"], dY[part]) for part in sub_batches(rows)
                )

            input_grad_into = self._shifted_input_grad(dY) if need_dX else None
            work //= 2  # the forward's estimate: the same chunks, so each finds its own kept V
        else:
            weight_grad, input_grad_into = self._shifted_backward(dY, need_dX)

        def gradients_of(rows: slice) -> tuple[np.ndarray, np.ndarray | None]:
            """These rows' dW and db (summed over the batch afterwards); their dX written in place."""
            db = dY[rows].sum(axis=(0, 2, 3)) if self.bias else None  # (F,)
            if need_dX:
                input_grad_into(rows, dX[rows])
            return weight_grad(rows), db

        partials = map_batch(gradients_of, n, work)
        self.grads["W"][...] = sum(dW for dW, _ in partials)
        if self.bias:
            self.grads["b"][...] = sum(db for _, db in partials)
        if not need_dX:
            return None
        if self.padding:
            p = self.padding
            dX = dX[:, :, p:-p, p:-p]  # (N, C, H, W)
        return dX

    def _im2col_backward(self, dY, need_dX):
        """dW from the forward's columns; dX as im2col of the zero-padded dY times the flipped kernels."""
        n, F, ho, wo = dY.shape
        k, C = self.k, self.in_channels
        _, _, h, w = self.padded_shape
        dY2 = dY.reshape(n, F, -1)  # (N, F, L)
        cols = self.workspace["cols"]  # (N, C*k*k, L)
        if need_dX:
            dY_full = self.workspace.get("dY_full", (n, F, h + k - 1, w + k - 1), dY.dtype, zeros=True)  # border 0
            dcols = self.workspace.get("dcols", (n, F * k * k, h * w), dY.dtype)
        W_flip = self.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(C, -1)  # (C, F*k*k)

        def weight_grad(rows: slice) -> np.ndarray:
            dW = np.matmul(dY2[rows], cols[rows].transpose(0, 2, 1)).sum(axis=0)  # (F, C*k*k)
            return dW.reshape(F, C, k, k)

        def input_grad_into(rows: slice, dX: np.ndarray) -> None:
            dY_full[rows, :, k - 1 : k - 1 + ho, k - 1 : k - 1 + wo] = dY[rows]
            src = im2col(dY_full[rows], k, dcols[rows])  # (n, F*k*k, H*W)
            np.matmul(W_flip, src, out=dX.reshape(len(src), C, -1))  # (n, C, H*W)

        return weight_grad, input_grad_into

    def _shifted_backward(self, dY, need_dX):
        """dW tap by tap from the forward's flat input; dX as a shifted convolution of the padded dY, flipped."""
        n, F, ho, wo = dY.shape
        k, C = self.k, self.in_channels
        w = self.padded_shape[3]
        flat = self.workspace["flat"]  # (N, C, H*W + k-1)
        dY_wide = self.workspace.get("dY_wide", (n, F, ho, w), dY.dtype, zeros=True)  # wrap-around columns stay 0

        def weight_grad(rows: slice) -> np.ndarray:
            m = rows.stop - rows.start
            dY_wide[rows, :, :, :wo] = dY[rows]
            dY_rows = dY_wide[rows].reshape(m, F, ho * w)  # (m, F, Ho*W)
            dW = np.empty((F, C, k, k), dY.dtype)
            for i in range(k):
                for j in range(k):
                    part = flat[rows, :, i * w + j : i * w + j + ho * w]  # (m, C, Ho*W) view
                    dW[:, :, i, j] = np.matmul(dY_rows, part.transpose(0, 2, 1)).sum(axis=0)  # (F, C)
            return dW

        return weight_grad, self._shifted_input_grad(dY) if need_dX else None

    def _shifted_input_grad(self, dY):
        """dX as a shifted convolution of the zero-bordered dY with the flipped kernels."""
        n, F, ho, wo = dY.shape
        k = self.k
        _, _, h, w = self.padded_shape
        hp, wp = h + k - 1, w + k - 1
        dY_pad = self.workspace.get("dY_pad", (n, F, hp * wp + k - 1), dY.dtype, zeros=True)  # border stays 0
        flipped = self.params["W"][:, :, ::-1, ::-1].transpose(2, 3, 1, 0).copy()  # (k, k, C, F)

        def input_grad_into(rows: slice, dX: np.ndarray) -> None:
            interior = dY_pad[rows, :, : hp * wp].reshape(-1, F, hp, wp)[:, :, k - 1 : k - 1 + ho, k - 1 : k - 1 + wo]
            interior[...] = dY[rows]
            shifted_conv(dY_pad[rows], flipped, wp, dX)

        return input_grad_into

    def spec(self):
        return {
            "type": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.k,
            "padding": self.padding,
            "init": self.init,
            "bias": self.bias,
        }
