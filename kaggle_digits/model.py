"""A sequential network built from a JSON architecture, and its pickle-free .npz save/load."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from .conv import BatchNorm, Conv2D, MaxPool2D
from .data import IMAGE_SIDE, N_CLASSES, N_PIXELS
from .errors import KaggleDigitsError
from .files import atomic_path
from .layers import Dense, Dropout, Flatten, Layer, ReLU
from .losses import softmax
from .presets import TrainConfig

FORMAT_VERSION = 1
LAYER_TYPES: dict[str, type[Layer]] = {
    cls.kind: cls for cls in (Dense, ReLU, Dropout, Flatten, Conv2D, MaxPool2D, BatchNorm)
}


class Network:
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

    def parameter_pairs(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """(param, grad) for every parameter, the order fixed by the architecture."""
        return [(layer.params[k], layer.grads[k]) for layer in self.layers for k in layer.params]

    def _arrays(self):
        """(key, array) for every parameter and buffer, keyed `layer<i>.<name>`."""
        for i, layer in enumerate(self.layers):
            for k, v in (layer.params | layer.buffers).items():
                yield f"layer{i}.{k}", v

    def state(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer."""
        return {key: v.copy() for key, v in self._arrays()}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        """Copy parameters and buffers in place (optimiser references stay valid)."""
        for key, v in self._arrays():
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


def architecture(config: TrainConfig) -> dict[str, Any]:
    """The layer list a config describes.

    mlp: Dense → ReLU (→ Dropout) per hidden size, then Dense to 10 classes.
    cnn: blocks of two 3x3 valid convolutions (→ BatchNorm) → ReLU, each block closed by a 2x2 max-pool, then the
    mlp head on the flattened features.
    """
    layers: list[dict[str, Any]] = []
    n_in = N_PIXELS
    input_shape = [N_PIXELS]
    if config.architecture == "cnn":
        channels, side = 1, IMAGE_SIDE
        input_shape = [1, IMAGE_SIDE, IMAGE_SIDE]
        for position, out_channels in enumerate(config.conv_channels):
            layers.append(
                {
                    "type": "conv2d",
                    "in_channels": channels,
                    "out_channels": out_channels,
                    "kernel_size": 3,
                    "padding": 0,
                    "init": "he",
                    "bias": not config.batchnorm,
                }
            )
            if config.batchnorm:
                layers.append({"type": "batchnorm", "channels": out_channels, "momentum": 0.9, "eps": 1e-5})
            layers.append({"type": "relu"})
            channels, side = out_channels, side - 2
            if position % 2 == 1:
                layers.append({"type": "maxpool2d", "size": 2})
                side //= 2
        layers.append({"type": "flatten"})
        n_in = channels * side * side
    for n_out in config.hidden_sizes:
        layers += [{"type": "dense", "n_in": n_in, "n_out": n_out, "init": config.init}, {"type": "relu"}]
        if config.dropout:
            layers.append({"type": "dropout", "rate": config.dropout})
        n_in = n_out
    init = config.init if config.init == "uniform" else "glorot"
    layers.append({"type": "dense", "n_in": n_in, "n_out": N_CLASSES, "init": init})
    return {"input_shape": input_shape, "layers": layers}


def build_network(spec: dict[str, Any], rng: np.random.Generator, dtype=np.float32) -> Network:
    """Instantiate a network from its JSON spec; weights drawn from `rng`."""
    layers = []
    for entry in spec["layers"]:
        kwargs = {k: v for k, v in entry.items() if k != "type"}
        cls = LAYER_TYPES[entry["type"]]
        if cls.needs_rng:
            kwargs.update(rng=rng, dtype=dtype)
        layers.append(cls(**kwargs))
    return Network(layers, tuple(spec["input_shape"]))


class Ensemble:
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


def save_model(path: str | os.PathLike[str], model: Model, config: TrainConfig, meta: dict[str, Any]) -> None:
    """Weights plus architecture(s), config and metadata as JSON strings, in one .npz (no pickle), atomically."""
    networks = model.networks if isinstance(model, Ensemble) else [model]
    header = {
        "format_version": FORMAT_VERSION,
        "members": [net.spec() for net in networks],
        "config": config.to_dict(),
        "meta": meta,
    }
    arrays = {f"member{m}.{key}": value for m, net in enumerate(networks) for key, value in net.state().items()}
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, header=np.array(json.dumps(header)), **arrays)


def load_model(path: str | os.PathLike[str]) -> tuple[Model, TrainConfig, dict[str, Any]]:
    """Rebuild a saved network or ensemble; a missing, truncated or foreign file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise KaggleDigitsError(f"{path}: model file not found")
    try:
        with np.load(path, allow_pickle=False) as stored:
            header = json.loads(str(stored["header"]))
            if header.get("format_version") != FORMAT_VERSION:
                raise KaggleDigitsError(f"{path}: unsupported model format {header.get('format_version')!r}")
            networks = []
            for m, spec in enumerate(header["members"]):
                network = build_network(spec, np.random.default_rng(0))
                prefix = f"member{m}."
                network.load_state({k[len(prefix) :]: stored[k] for k in stored.files if k.startswith(prefix)})
                networks.append(network)
            config = TrainConfig.from_dict(header["config"])
    except KaggleDigitsError:
        raise
    except (OSError, ValueError, KeyError, TypeError, EOFError, zipfile.BadZipFile) as exc:
        raise KaggleDigitsError(f"{path}: not a readable kaggle-digits model ({type(exc).__name__})") from None
    model = networks[0] if len(networks) == 1 else Ensemble(networks)
    return model, config, header.get("meta", {})
