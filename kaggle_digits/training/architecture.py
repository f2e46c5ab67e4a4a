"""The layer list (JSON-able) that a training configuration describes: an MLP, or a small VGG-style CNN."""

from __future__ import annotations

from typing import Any

from ..constants import IMAGE_SIDE, N_CLASSES, N_PIXELS
from .config import TrainConfig, cnn_sides


def conv_layer(config: TrainConfig, kind: str, c_in: int, c_out: int, k: int, **extra: int) -> list[dict[str, Any]]:
    """A convolution (no bias before BatchNorm), its BatchNorm, its ReLU."""
    layers = [
        {"type": kind, "in_channels": c_in, "out_channels": c_out, "kernel_size": k, "padding": extra.pop("padding", 0),
         "init": "he", "bias": not config.batchnorm, **extra}
    ]  # fmt: skip
    if config.batchnorm:
        layers.append({"type": "batchnorm", "channels": c_out, "momentum": 0.9, "eps": 1e-5})
    return [*layers, {"type": "relu"}]


def strided_blocks(config: TrainConfig) -> tuple[list[dict[str, Any]], int, int]:
    """Deotte's blocks: conv3, conv3, then a 5x5 convolution of stride 2 ('same' padding) in place of a max-pool,
    each with BatchNorm and ReLU, dropout after each block. Returns the layers, the channels and the side at the end.
    """
    layers: list[dict[str, Any]] = []
    channels, side = 1, IMAGE_SIDE
    for block in range(len(config.conv_channels) // 3):
        first, second, down = config.conv_channels[3 * block : 3 * block + 3]
        layers += conv_layer(config, "conv2d", channels, first, 3)
        layers += conv_layer(config, "conv2d", first, second, 3)
        layers += conv_layer(config, "strided_conv2d", second, down, 5, stride=2, padding=2)
        if config.dropout:
            layers.append({"type": "dropout", "rate": config.dropout})
        channels, side = down, (side - 4 + 2 * 2 - 5) // 2 + 1  # two valid 3x3, then 5x5 stride 2 padding 2
    layers.append({"type": "flatten"})
    return layers, channels, side


def architecture(config: TrainConfig) -> dict[str, Any]:
    """The layer list a config describes.

    mlp: Dense → ReLU (→ Dropout) per hidden size, then Dense to 10 classes.
    strided: Deotte's blocks (see `strided_blocks`), then the mlp head.
    cnn: blocks of two 3x3 valid convolutions (→ BatchNorm) → ReLU, each block closed by a 2x2 max-pool, then the
    mlp head on the flattened features; `first_kernel` widens the first convolution and `pool_every=1` pools
    after each one (tuomaso's 5x5-pool-3x3-pool). A pool comes before its ReLU: max and ReLU commute (values and
    gradients alike), and the ReLU then touches a quarter of the values. Parameter layers keep their positions.
    """
    layers: list[dict[str, Any]] = []
    n_in = N_PIXELS
    input_shape = [N_PIXELS]
    if config.architecture == "cnn":
        channels = 1
        input_shape = [1, IMAGE_SIDE, IMAGE_SIDE]
        sides = cnn_sides(config.conv_channels, config.first_kernel, config.pool_every)
        for position, out_channels in enumerate(config.conv_channels):
            layers.append(
                {
                    "type": "conv2d",
                    "in_channels": channels,
                    "out_channels": out_channels,
                    "kernel_size": config.first_kernel if position == 0 else 3,
                    "padding": 0,
                    "init": "he",
                    "bias": not config.batchnorm,
                }
            )
            if config.batchnorm:
                layers.append({"type": "batchnorm", "channels": out_channels, "momentum": 0.9, "eps": 1e-5})
            channels = out_channels
            if (position + 1) % config.pool_every == 0:
                layers.append({"type": "maxpool2d", "size": 2})  # before the ReLU: the same maths on 1/4 the values
            layers.append({"type": "relu"})
        layers.append({"type": "flatten"})
        n_in = channels * sides[-1] ** 2
    if config.architecture == "strided":
        input_shape = [1, IMAGE_SIDE, IMAGE_SIDE]
        layers, channels, side = strided_blocks(config)
        n_in = channels * side * side
    for n_out in config.hidden_sizes:
        layers += [{"type": "dense", "n_in": n_in, "n_out": n_out, "init": config.init}, {"type": "relu"}]
        if config.dropout:
            layers.append({"type": "dropout", "rate": config.dropout})
        n_in = n_out
    init = config.init if config.init == "uniform" else "glorot"
    layers.append({"type": "dense", "n_in": n_in, "n_out": N_CLASSES, "init": init})
    return {"input_shape": input_shape, "layers": layers}
