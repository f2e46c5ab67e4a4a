"""A strided convolution: a learned downsampling in place of max-pooling (Deotte's 5x5, stride 2, 'same' padding).

im2col of the strided windows and one GEMM per image forward; backward, the weight gradient is one GEMM against
the same columns, and the input gradient scatters the column gradient back tap by tap (each tap's positions are a
strided slice of the input, so k*k strided adds). The batch is split over the cores like the other kernels.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers import Layer, init_weights
from .parallel import map_batch


def strided_windows(X: np.ndarray, k: int, stride: int) -> np.ndarray:
    """Every k x k window at the given stride, as a view: (N, C, H, W) → (N, C, k, k, Ho, Wo)."""
    return sliding_window_view(X, (k, k), axis=(2, 3))[:, :, ::stride, ::stride].transpose(0, 1, 4, 5, 2, 3)


class StridedConv2D(Layer):
    """Cross-correlation with F filters of C x k x k at stride s, zero padding p: Ho = (H + 2p - k) // s + 1."""

    kind = "strided_conv2d"
    takes_rng = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 5,
        stride: int = 2,
        padding: int = 2,
        init: str = "he",
        bias: bool = True,
        *,
        rng: np.random.Generator,
        dtype=np.float32,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.k = in_channels, out_channels, kernel_size
        self.stride, self.padding, self.init, self.bias = stride, padding, init, bias
        fan_in, fan_out = in_channels * kernel_size**2, out_channels * kernel_size**2
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self._add_param("W", init_weights(shape, fan_in, fan_out, init, rng, dtype))  # (F, C, k, k)
        if bias:
            self._add_param("b", np.zeros(out_channels, dtype))  # (F,)

    def forward(self, X, training=False):
        p, k, s, F = self.padding, self.k, self.stride, self.out_channels
        Xp = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p))) if p else X  # (N, C, H+2p, W+2p)
        n, C, h, w = self.padded_shape = Xp.shape
        ho, wo = (h - k) // s + 1, (w - k) // s + 1
        windows = strided_windows(Xp, k, s)  # (N, C, k, k, Ho, Wo) view
        cols = np.empty((n, C * k * k, ho * wo), X.dtype)  # (N, C*k*k, L)
        Y = np.empty((n, F, ho, wo), X.dtype)  # (N, F, Ho, Wo)
        W2 = self.params["W"].reshape(F, -1)  # (F, C*k*k)

        def convolve(rows: slice) -> None:
            np.copyto(cols[rows].reshape(windows[rows].shape), windows[rows])
            np.matmul(W2, cols[rows], out=Y[rows].reshape(-1, F, ho * wo))  # (n, F, L)
            if self.bias:
                Y[rows] += self.params["b"][:, None, None]

        map_batch(convolve, n, Y.size * C * k * k)
        if training:
            self.cols = cols
        return Y

    def backward(self, dY, need_dX=True):
        p, k, s = self.padding, self.k, self.stride
        n, F, ho, wo = dY.shape
        _, C, h, w = self.padded_shape
        dY2 = dY.reshape(n, F, ho * wo)  # (N, F, L)
        W2 = self.params["W"].reshape(F, -1)  # (F, C*k*k)
        dXp = np.zeros(self.padded_shape, dY.dtype) if need_dX else None  # (N, C, H+2p, W+2p)

        def gradients_of(rows: slice) -> tuple[np.ndarray, np.ndarray | None]:
            dW = np.matmul(dY2[rows], self.cols[rows].transpose(0, 2, 1)).sum(axis=0)  # (F, C*k*k)
            db = dY[rows].sum(axis=(0, 2, 3)) if self.bias else None  # (F,)
            if need_dX:
                dcols = np.matmul(W2.T, dY2[rows]).reshape(-1, C, k, k, ho, wo)  # (n, C, k, k, Ho, Wo)
                for i in range(k):
                    for j in range(k):
                        dXp[rows, :, i : i + s * ho : s, j : j + s * wo : s] += dcols[:, :, i, j]
            return dW, db

        partials = map_batch(gradients_of, n, 2 * dY.size * C * k * k)
        self.grads["W"][...] = sum(dW for dW, _ in partials).reshape(self.params["W"].shape)
        if self.bias:
            self.grads["b"][...] = sum(db for _, db in partials)
        if not need_dX:
            return None
        return dXp[:, :, p : h - p, p : w - p] if p else dXp  # (N, C, H, W)

    def spec(self):
        return {
            "type": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.k,
            "stride": self.stride,
            "padding": self.padding,
            "init": self.init,
            "bias": self.bias,
        }
