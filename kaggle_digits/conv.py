"""Convolutional layers in NCHW float32: Conv2D (im2col feeding one batched GEMM), MaxPool2D, BatchNorm.

Conv2D's input gradient is itself a convolution (of the zero-padded output gradient with the flipped kernels), so
it reuses im2col and one batched GEMM instead of scattering columns back with col2im.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .layers import Layer, init_weights


def im2col(X: np.ndarray, k: int, out: np.ndarray | None = None) -> np.ndarray:
    """Every k x k patch of every image as a column: (N, C, H, W) → (N, C*k*k, Ho*Wo), stride 1.

    `out`, when its shape fits, receives the columns, so a layer can reuse one workspace from batch to batch.
    """
    n, c, h, w = X.shape
    ho, wo = h - k + 1, w - k + 1
    windows = sliding_window_view(X, (k, k), axis=(2, 3)).transpose(0, 1, 4, 5, 2, 3)  # (N, C, k, k, Ho, Wo) view
    if out is None or out.shape != (n, c * k * k, ho * wo) or out.dtype != X.dtype:
        out = np.empty((n, c * k * k, ho * wo), dtype=X.dtype)
    np.copyto(out.reshape(windows.shape), windows)
    return out  # (N, C*k*k, L)


class Conv2D(Layer):
    """Cross-correlation with F filters of C x k x k, stride 1, optional zero padding."""

    kind = "conv2d"
    needs_rng = True

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int = 3,
        padding: int = 0,
        init: str = "he",
        *,
        rng: np.random.Generator,
        dtype=np.float32,
    ):
        super().__init__()
        self.workspace: dict[str, np.ndarray] = {}  # im2col buffers reused while the batch shape repeats
        self.in_channels, self.out_channels, self.k, self.padding, self.init = (
            in_channels,
            out_channels,
            kernel_size,
            padding,
            init,
        )
        fan_in, fan_out = in_channels * kernel_size**2, out_channels * kernel_size**2
        shape = (out_channels, in_channels, kernel_size, kernel_size)
        self._add_param("W", init_weights(shape, fan_in, fan_out, init, rng, dtype))  # (F, C, k, k)
        self._add_param("b", np.zeros(out_channels, dtype))  # (F,)

    def forward(self, X, training=False):
        if self.padding:
            p = self.padding
            X = np.pad(X, ((0, 0), (0, 0), (p, p), (p, p)))  # (N, C, H+2p, W+2p)
        n, _, h, w = X.shape
        self.padded_shape = X.shape
        cols = im2col(X, self.k, self.workspace.get("cols") if training else None)  # (N, C*k*k, L)
        if training:
            self.workspace["cols"] = cols  # backward needs it; inference keeps nothing
        W2 = self.params["W"].reshape(self.out_channels, -1)  # (F, C*k*k)
        Y = np.matmul(W2, cols)  # (N, F, L): one GEMM per image, batched
        Y += self.params["b"][:, None]
        return Y.reshape(n, self.out_channels, h - self.k + 1, w - self.k + 1)  # (N, F, Ho, Wo)

    def backward(self, dY, need_dX=True):
        n = len(dY)
        dY2 = dY.reshape(n, self.out_channels, -1)  # (N, F, L)
        dW = np.matmul(dY2, self.workspace["cols"].transpose(0, 2, 1)).sum(axis=0)  # (F, C*k*k)
        self.grads["W"][...] = dW.reshape(self.grads["W"].shape)
        self.grads["b"][...] = dY2.sum(axis=(0, 2))  # (F,)
        if not need_dX:
            return None
        k = self.k
        dY_full = np.pad(dY, ((0, 0), (0, 0), (k - 1, k - 1), (k - 1, k - 1)))  # (N, F, Ho+2k-2, Wo+2k-2)
        W_flip = self.params["W"][:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(self.in_channels, -1)  # (C, F*k*k)
        dcols = self.workspace["dcols"] = im2col(dY_full, k, self.workspace.get("dcols"))  # (N, F*k*k, H*W)
        dX = np.matmul(W_flip, dcols).reshape(self.padded_shape)  # (N, C, H+2p, W+2p)
        if self.padding:
            p = self.padding
            dX = dX[:, :, p:-p, p:-p]  # (N, C, H, W)
        return dX

    def spec(self):
        return {
            "type": self.kind,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "kernel_size": self.k,
            "padding": self.padding,
            "init": self.init,
        }


class MaxPool2D(Layer):
    """Max over non-overlapping s x s windows; the gradient goes to the maximum (shared equally by ties)."""

    kind = "maxpool2d"

    def __init__(self, size: int = 2):
        super().__init__()
        self.size = size

    def _offsets(self, X: np.ndarray):
        """The s*s strided views X[:, :, a::s, b::s], one per position inside the window."""
        s = self.size
        ho, wo = X.shape[2] // s, X.shape[3] // s
        return [X[:, :, a : ho * s : s, b : wo * s : s] for a in range(s) for b in range(s)]  # each (N, C, Ho, Wo)

    def forward(self, X, training=False):
        self.shape = X.shape
        views = self._offsets(X)
        Y = views[0].copy()  # (N, C, Ho, Wo)
        for view in views[1:]:
            np.maximum(Y, view, out=Y)
        if training:
            self.masks = [view == Y for view in views]  # s*s of (N, C, Ho, Wo)
            self.ties = np.add.reduce(self.masks, dtype=X.dtype)  # (N, C, Ho, Wo): 1 unless values tie
        return Y

    def backward(self, dY, need_dX=True):
        share = dY / self.ties  # (N, C, Ho, Wo)
        dX = np.zeros(self.shape, dtype=dY.dtype)  # (N, C, H, W); a ragged edge gets no gradient
        for view, mask in zip(self._offsets(dX), self.masks, strict=True):
            np.multiply(share, mask, out=view)
        return dX

    def spec(self):
        return {"type": self.kind, "size": self.size}


class BatchNorm(Layer):
    """Normalise each channel (axis 1) over the batch and space; running statistics for inference."""

    kind = "batchnorm"
    needs_rng = True

    def __init__(self, channels: int, momentum: float = 0.9, eps: float = 1e-5, *, rng=None, dtype=np.float32):
        super().__init__()
        self.channels, self.momentum, self.eps = channels, momentum, eps
        self._add_param("gamma", np.ones(channels, dtype))  # (C,)
        self._add_param("beta", np.zeros(channels, dtype))  # (C,)
        self.buffers = {"mean": np.zeros(channels, dtype), "var": np.ones(channels, dtype)}

    def _axes_and_shape(self, X):
        axes = (0, *range(2, X.ndim))  # every axis but the channel
        shape = (1, -1) + (1,) * (X.ndim - 2)  # broadcast a (C,) vector against X
        return axes, shape

    def forward(self, X, training=False):
        axes, shape = self._axes_and_shape(X)
        if training:
            mean = X.mean(axis=axes)  # (C,)
            var = np.maximum(np.square(X).mean(axis=axes) - mean * mean, 0)  # (C,) E[x²] - E[x]², one pass fewer
            m = self.momentum
            self.buffers["mean"][...] = m * self.buffers["mean"] + (1 - m) * mean
            self.buffers["var"][...] = m * self.buffers["var"] + (1 - m) * var
            self.X, self.mean = X, mean
        else:
            mean, var = self.buffers["mean"], self.buffers["var"]
        self.inv_std = inv_std = (1 / np.sqrt(var + self.eps)).astype(X.dtype)  # (C,)
        scale = self.params["gamma"] * inv_std  # (C,) y = x * scale + shift, the normalisation folded in
        shift = self.params["beta"] - mean * scale
        Y = X * scale.reshape(shape)  # (N, C, ...)
        Y += shift.reshape(shape)
        return Y

    def backward(self, dY, need_dX=True):
        axes, shape = self._axes_and_shape(dY)
        X_hat = self.X - self.mean.reshape(shape)  # (N, C, ...)
        X_hat *= self.inv_std.reshape(shape)
        dgamma = (dY * X_hat).sum(axis=axes)  # (C,)
        dbeta = dY.sum(axis=axes)  # (C,)
        self.grads["gamma"][...] = dgamma
        self.grads["beta"][...] = dbeta
        m = dY.size // self.channels
        # dX = gamma/std * (dY - mean(dY) - X_hat * mean(dY * X_hat)), computed in place on X_hat
        X_hat *= (-dgamma / m).reshape(shape)
        X_hat += dY
        X_hat -= (dbeta / m).reshape(shape)
        X_hat *= (self.params["gamma"] * self.inv_std).reshape(shape)
        return X_hat

    def spec(self):
        return {"type": self.kind, "channels": self.channels, "momentum": self.momentum, "eps": self.eps}
