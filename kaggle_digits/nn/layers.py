"""Dense-network layers, each with forward and backward side by side; forward caches what backward needs."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .parallel import map_batch

INITS = ("he", "glorot", "uniform")


class Layer:
    """A differentiable block: `forward(training=True)` caches what `backward` needs; backward returns dX and
    fills `grads` in place. Inference (`training=False`) keeps nothing, so prediction holds no activations."""

    kind: ClassVar[str] = ""
    takes_rng: ClassVar[bool] = False  # its constructor draws from rng= (initial weights, dropout masks) in dtype=
    inference_maths: bool = False  # with training=True: no dropout, running statistics, and still kept for backward
    params: dict[str, np.ndarray]
    grads: dict[str, np.ndarray]
    buffers: dict[str, np.ndarray]  # state that is saved but not trained (BatchNorm's running statistics)

    def __init__(self) -> None:
        self.params = {}
        self.grads = {}
        self.buffers = {}

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        raise NotImplementedError

    def backward(self, dY: np.ndarray, need_dX: bool = True) -> np.ndarray | None:
        """Fill `grads` and return dL/dX; the first layer passes need_dX=False to skip that product."""
        raise NotImplementedError

    def spec(self) -> dict[str, Any]:
        """The JSON-able constructor arguments that rebuild this layer (weights travel separately)."""
        return {"type": self.kind}

    def _add_param(self, name: str, value: np.ndarray) -> None:
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)


def init_weights(
    shape: tuple[int, ...], fan_in: int, fan_out: int, init: str, rng: np.random.Generator, dtype
) -> np.ndarray:
    """He-normal for ReLU stacks, Glorot-uniform, or the seed tutorial's uniform [-0.5, 0.5)."""
    if init == "he":
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(dtype)
    if init == "glorot":
        limit = np.sqrt(6.0 / (fan_in + fan_out))
        return rng.uniform(-limit, limit, shape).astype(dtype)
    if init == "uniform":
        return (rng.random(shape) - 0.5).astype(dtype)
    raise ValueError(f"unknown init {init!r}; choose one of {', '.join(INITS)}")


class Dense(Layer):
    """Affine map Y = X W + b."""

    kind = "dense"
    takes_rng = True

    def __init__(self, n_in: int, n_out: int, init: str = "he", *, rng: np.random.Generator, dtype=np.float32):
        super().__init__()
        self.n_in, self.n_out, self.init = n_in, n_out, init
        self._add_param("W", init_weights((n_in, n_out), n_in, n_out, init, rng, dtype))  # (D, H)
        bias = (rng.random(n_out) - 0.5).astype(dtype) if init == "uniform" else np.zeros(n_out, dtype)
        self._add_param("b", bias)  # (H,)

    def forward(self, X, training=False):
        if training:
            self.X = X  # (N, D)
        return X @ self.params["W"] + self.params["b"]  # (N, H)

    def backward(self, dY, need_dX=True):
        np.matmul(self.X.T, dY, out=self.grads["W"])  # (D, H)
        np.sum(dY, axis=0, out=self.grads["b"])  # (H,)
        return dY @ self.params["W"].T if need_dX else None  # (N, D)

    def spec(self):
        return {"type": self.kind, "n_in": self.n_in, "n_out": self.n_out, "init": self.init}


class ReLU(Layer):
    """max(0, x); the gradient passes where the input was positive."""

    kind = "relu"

    def forward(self, X, training=False):
        Y = np.empty_like(X)  # (N, ...)
        if training:
            self.mask = np.empty(X.shape, bool)  # (N, ...)

        def relu(rows: slice) -> None:
            np.maximum(X[rows], 0, out=Y[rows])
            if training:
                np.greater(X[rows], 0, out=self.mask[rows])

        map_batch(relu, len(X), X.size)
        return Y

    def backward(self, dY, need_dX=True):
        dX = np.empty_like(dY)  # (N, ...)
        map_batch(lambda rows: np.multiply(dY[rows], self.mask[rows], out=dX[rows]), len(dY), dY.size)
        return dX


class Dropout(Layer):
    """Inverted dropout: zero a `rate` fraction in training and rescale, so inference is the identity."""

    kind = "dropout"
    takes_rng = True

    def __init__(self, rate: float, *, rng: np.random.Generator, dtype=np.float32):
        super().__init__()
        if not 0 <= rate < 1:
            raise ValueError(f"dropout rate {rate} must lie in [0, 1)")
        self.rate, self.rng, self.dtype = rate, rng, dtype

    def forward(self, X, training=False):
        if not training or self.rate == 0 or self.inference_maths:
            self.mask = None
            return X
        keep = self.rng.random(X.shape, dtype=np.float32) >= self.rate  # (N, ...)
        self.mask = keep.astype(X.dtype) * X.dtype.type(1 / (1 - self.rate))
        return X * self.mask

    def backward(self, dY, need_dX=True):
        return dY if self.mask is None else dY * self.mask

    def spec(self):
        return {"type": self.kind, "rate": self.rate}


class Flatten(Layer):
    """(N, C, H, W) → (N, C*H*W), so convolutional features can feed Dense layers."""

    kind = "flatten"

    def forward(self, X, training=False):
        self.shape = X.shape
        return X.reshape(len(X), -1)  # (N, C*H*W)

    def backward(self, dY, need_dX=True):
        return dY.reshape(self.shape)  # (N, C, H, W)
