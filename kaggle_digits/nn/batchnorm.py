"""BatchNorm over the batch (and space, for conv features), folded into one scale and shift per channel."""

from __future__ import annotations

import numpy as np

from .layers import Layer
from .parallel import map_batch


class BatchNorm(Layer):
    """Normalise each channel (axis 1) over the batch and space; running statistics for inference."""

    kind = "batchnorm"
    takes_rng = True

    def __init__(self, channels: int, momentum: float = 0.9, eps: float = 1e-5, *, rng=None, dtype=np.float32):
        super().__init__()
        self.channels, self.momentum, self.eps = channels, momentum, eps
        self._add_param("gamma", np.ones(channels, dtype))  # (C,)
        self._add_param("beta", np.zeros(channels, dtype))  # (C,)
        self.buffers = {"mean": np.zeros(channels, dtype), "var": np.ones(channels, dtype)}

    def _rows(self, X: np.ndarray) -> np.ndarray:
        """X as (N, C, S): every axis after the channel flattened, so one code path serves dense and conv inputs."""
        return X.reshape(len(X), self.channels, -1)

    def _per_channel(self, kernel, n: int, work: int) -> list[np.ndarray]:
        """Per-channel sums from batch chunks: each chunk returns a tuple of (C,) vectors, summed here."""
        return [np.sum(parts, axis=0) for parts in zip(*map_batch(kernel, n, work), strict=True)]

    def forward(self, X, training=False):
        X3 = self._rows(X)  # (N, C, S)
        m = X3.shape[0] * X3.shape[2]  # values per channel
        if training and not self.inference_maths:
            total, squares = self._per_channel(
                lambda r: (X3[r].sum(axis=(0, 2)), np.einsum("ncs,ncs->c", X3[r], X3[r])), len(X), X.size
            )
            mean = total / m  # (C,)
            var = np.maximum(squares / m - mean * mean, 0)  # (C,) E[x²] - E[x]², one pass over X
            momentum = self.momentum
            self.buffers["mean"][...] = momentum * self.buffers["mean"] + (1 - momentum) * mean
            self.buffers["var"][...] = momentum * self.buffers["var"] + (1 - momentum) * var
            self.X, self.mean = X3, mean
        else:
            mean, var = self.buffers["mean"], self.buffers["var"]
            if training:  # inference maths: the running statistics, and what backward needs
                self.X, self.mean = X3, mean
        self.inv_std = inv_std = (1 / np.sqrt(var + self.eps)).astype(X.dtype)  # (C,)
        scale = (self.params["gamma"] * inv_std)[:, None]  # (C, 1) y = x * scale + shift, the normalisation folded
        shift = (self.params["beta"] - mean * scale[:, 0])[:, None]  # (C, 1)
        Y = np.empty_like(X3)  # (N, C, S)

        def normalise(rows: slice) -> None:
            np.multiply(X3[rows], scale, out=Y[rows])
            Y[rows] += shift

        map_batch(normalise, len(X), X.size)
        return Y.reshape(X.shape)

    def backward(self, dY, need_dX=True):
        dY3, X3 = self._rows(dY), self.X  # (N, C, S)
        m = X3.shape[0] * X3.shape[2]
        dbeta, dY_X = self._per_channel(
            lambda r: (dY3[r].sum(axis=(0, 2)), np.einsum("ncs,ncs->c", dY3[r], X3[r])), len(dY), dY.size
        )
        inv_std, gamma = self.inv_std, self.params["gamma"]
        dgamma = (dY_X - self.mean * dbeta) * inv_std  # (C,) = sum(dY * X_hat)
        self.grads["gamma"][...] = dgamma
        self.grads["beta"][...] = dbeta
        if self.inference_maths:  # fixed statistics: y = x * a + const per channel, so dX = a * dY
            a = (gamma * inv_std).astype(dY.dtype)[:, None]  # (C, 1)
            return (dY3 * a).reshape(dY.shape)
        # dX = gamma/std * (dY - mean(dY) - X_hat * mean(dY * X_hat)) = a*dY + b*X + c, per channel
        a = gamma * inv_std  # (C,)
        b = -a * inv_std * dgamma / m
        c = -a * dbeta / m - b * self.mean
        a, b, c = (v.astype(dY.dtype)[:, None] for v in (a, b, c))  # (C, 1) each
        dX = np.empty_like(dY3)  # (N, C, S)

        def normalise_backward(rows: slice) -> None:
            np.multiply(dY3[rows], a, out=dX[rows])
            dX[rows] += X3[rows] * b
            dX[rows] += c

        map_batch(normalise_backward, len(dY), dY.size)
        return dX.reshape(dY.shape)

    def spec(self):
        return {"type": self.kind, "channels": self.channels, "momentum": self.momentum, "eps": self.eps}
