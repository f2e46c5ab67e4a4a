"""A sequential network built from a JSON layer list, an ensemble that averages several, and test-time views:
three classifiers behind one interface (`predict_proba`, `predict`, `n_parameters`)."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..constants import N_CLASSES, N_PIXELS
from .augment import TTA_SHIFTS, shift_images
from .batchnorm import BatchNorm
from .conv import Conv2D
from .layers import Dense, Dropout, Flatten, Layer, ReLU
from .losses import softmax
from .pooling import MaxPool2D
from .strided_conv import StridedConv2D

LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Dense, ReLU, Dropout, Flatten, Conv2D, StridedConv2D, MaxPool2D, BatchNorm)
}


class Classifier(ABC):
    """What every model offers (a network, an ensemble, a model under test-time views): softmax out, class out."""

    @abstractmethod
    def predict_proba(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Softmax probabilities (N, 10) of images (N, 784) scaled to [0, 1], in inference mode."""

    @property
    @abstractmethod
    def n_parameters(self) -> int:
        """Trainable numbers in the model."""

    def predict(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """The most likely class of every row."""
        return self.predict_proba(X, batch_size).argmax(axis=1)  # (N,)


class Network(Classifier):
    """Layers applied in order; logits out, gradients back."""

    def __init__(self, layers: list[Layer], input_shape: tuple[int, ...] = (N_PIXELS,)):
        self.layers = layers
        self.input_shape = input_shape

    def forward(self, X: np.ndarray, training: bool = False) -> np.ndarray:
        X = X.reshape(len(X), *self.input_shape)  # (N, *input_shape)
        for layer in self.layers:
            X = layer.forward(X, training)
        return X  # (N, 10) logits

    def backward(self, dlogits: np.ndarray) -> None:
        delta = dlogits  # (N, 10)
        for i in range(len(self.layers) - 1, -1, -1):
            delta = self.layers[i].backward(delta, need_dX=i > 0)

    @contextlib.contextmanager
    def inference_maths(self) -> Iterator[None]:
        """Within: forward(training=True) computes what inference computes (no dropout, BatchNorm on its running
        statistics) but keeps what backward needs, so gradients can be taken of the predicting network."""
        for layer in self.layers:
            layer.inference_maths = True
        try:
            yield
        finally:
            for layer in self.layers:
                layer.inference_maths = False

    def input_gradient(self, X: np.ndarray, direction: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(d(direction · logits)/dX, logits) for each row of X: how each pixel moves a chosen mix of the logits
        (e.g. +1 on the predicted class, -1 on the true one), the network as it predicts. Shapes (N, 784), (N, 10)."""
        with self.inference_maths():
            logits = self.forward(X, training=True)  # (N, 10), caching for backward
            delta = direction.astype(logits.dtype)  # (N, 10)
            for layer in reversed(self.layers):
                delta = layer.backward(delta, need_dX=True)
        return delta.reshape(len(X), -1), logits  # (N, 784), (N, 10)

    def parameter_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(param, grad) for every parameter, the order fixed by the architecture."""
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in layer.params]

    def arrays(self):
        """(key, live array) for every parameter and buffer, keyed `layer<i>.<name>`."""
        for i, layer in enumerate(self.layers):
            for k, v in (layer.params | layer.buffers).items():
                yield f"layer{i}.{k}", v

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer."""
        return {key: v.copy() for key, v in self.arrays()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters and buffers in place (optimiser references stay valid)."""
        for key, v in self.arrays():
            saved = state[key]
            if saved.shape != v.shape:
                raise ValueError(f"{key} has shape {saved.shape}, expected {v.shape}")
            v[...] = saved

    def all_finite(self) -> bool:
        return all(np.isfinite(p).all() for p, _ in self.parameter_pairs())

    def predict_proba(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        """Softmax probabilities in inference mode, in batches to bound memory."""
        parts = [softmax(self.forward(X[i : i + batch_size])) for i in range(0, len(X), batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, N_CLASSES), np.float32)  # (N, 10)

    def spec(self) -> dict[str, Any]:
        return {"input_shape": list(self.input_shape), "layers": [layer.spec() for layer in self.layers]}

    @property
    def n_parameters(self) -> int:
        return sum(p.size for p, _ in self.parameter_pairs())


def build_network(spec: dict[str, Any], rng: np.random.Generator, dtype=np.float32) -> Network:
    """Instantiate a network from its JSON spec; weights drawn from `rng`."""
    layers = []
    for entry in spec["layers"]:
        kwargs = {k: v for k, v in entry.items() if k != "type"}
        cls = LAYER_TYPES[entry["type"]]
        if cls.takes_rng:
            kwargs.update(rng=rng, dtype=dtype)
        layers.append(cls(**kwargs))
    return Network(layers, tuple(spec["input_shape"]))


class Ensemble(Classifier):
    """Several networks trained on the same split; predicts the mean of their softmax outputs."""

    def __init__(self, networks: list[Network]):
        if not networks:
            raise ValueError("an ensemble needs at least one network")
        self.networks = networks

    def predict_proba(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        return np.mean([net.predict_proba(X, batch_size) for net in self.networks], axis=0)  # (N, 10)

    @property
    def n_parameters(self) -> int:
        return sum(net.n_parameters for net in self.networks)


Model = Network | Ensemble


MAX_VIEWS = len(TTA_SHIFTS)


class ViewAveraged(Classifier):
    """A model whose softmax is averaged over each image and its first `views - 1` one-pixel shifts; an ensemble's
    over each network's views first, then over the networks, as a run's networks predict where they trained."""

    def __init__(self, model: Network | Ensemble, views: int):
        if not 1 <= views <= len(TTA_SHIFTS):
            raise ValueError(f"test-time views {views}: use 1 to {len(TTA_SHIFTS)}")
        self.model, self.views = model, views

    def predict_proba(self, X: np.ndarray, batch_size: int = 256) -> np.ndarray:
        if isinstance(self.model, Ensemble):
            members = [ViewAveraged(net, self.views) for net in self.model.networks]
            return np.mean([m.predict_proba(X, batch_size) for m in members], axis=0)  # (N, 10)
        shifts = TTA_SHIFTS[: self.views]
        return np.mean([self.model.predict_proba(shift_images(X, *s), batch_size) for s in shifts], axis=0)  # (N, 10)

    @property
    def n_parameters(self) -> int:
        return self.model.n_parameters


def with_views(model: Model, views: int) -> Classifier:
    """`model` itself for one view, else the model under test-time augmentation."""
    return model if views == 1 else ViewAveraged(model, views)
