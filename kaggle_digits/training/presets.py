"""The named presets people start from: each a TrainConfig, and how many networks it trains."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .config import TrainConfig

PRESETS: dict[str, TrainConfig] = {
    "tutorial": TrainConfig(
        preset="tutorial",
        hidden_sizes=(10,),
        init="uniform",
        optimizer="gd",
        learning_rate=0.1,
        schedule="constant",
        keep="best",
        epochs=500,
        batch_size=0,
        eval_every=10,
        notes="Samson Zhang's seed net: 784-10-10, full-batch gradient descent, uniform [-0.5, 0.5) init.",
    ),
    "mlp": TrainConfig(
        preset="mlp",
        hidden_sizes=(512, 256),
        dropout=0.1,
        augment=True,
        optimizer="adam",
        learning_rate=1e-3,
        schedule="cosine",
        warmup_epochs=0.5,
        epochs=20,
        batch_size=128,
        weight_decay=1e-4,
        notes="Mini-batch Adam, warm-up then cosine decay, He init, dropout, random affine augmentation.",
    ),
    "cnn": TrainConfig(
        preset="cnn",
        architecture="cnn",
        conv_channels=(32, 32, 64, 64),
        batchnorm=True,
        hidden_sizes=(256,),
        dropout=0.4,
        optimizer="adam",
        learning_rate=3e-3,
        schedule="cosine",
        warmup_epochs=1.0,
        epochs=27,
        batch_size=128,
        weight_decay=1e-2,
        augment=True,
        notes="conv32-conv32-pool-conv64-conv64-pool-fc256, BatchNorm, Adam, warm-up then cosine decay, augmentation.",
    ),
}
PRESETS["fast"] = PRESETS["cnn"].replace(
    preset="fast",
    conv_channels=(16, 16, 32, 32),
    hidden_sizes=(128,),
    dropout=0.25,
    learning_rate=4e-3,
    warmup_epochs=0.5,
    epochs=13,
    tta=5,
    notes="The quick first submission: a half-width cnn, short warm-up then cosine decay, 5 test-time views; "
    "about 3 minutes.",
)
PRESETS["best"] = PRESETS["cnn"].replace(
    preset="best",
    epochs=30,
    average=0.999,
    notes="The final submission: three cnn networks with averaged weights, their softmax averaged; about 40 minutes.",
)

PRESETS["strided"] = PRESETS["cnn"].replace(
    preset="strided",
    architecture="strided",
    conv_channels=(32, 32, 32, 64, 64, 64),
    hidden_sizes=(128,),
    dropout=0.4,
    epochs=15,
    notes="Chris Deotte's Kaggle CNN: 32C3-32C3-32C5S2-64C3-64C3-64C5S2-128, strided 5x5 convolutions in place of "
    "max-pooling, BatchNorm, dropout 0.4 after each block; the cnn preset's schedule, 15 epochs to fit 15 minutes "
    "on 2 cores. A trial preset.",
)

PRESETS["lean"] = PRESETS["cnn"].replace(
    preset="lean",
    conv_channels=(24, 32),
    first_kernel=5,
    pool_every=1,
    batchnorm=False,
    hidden_sizes=(256,),
    dropout=0.0,
    learning_rate=1e-2,
    adam_betas=(0.7, 0.9),
    schedule="one-cycle",
    warmup_epochs=0.0,
    weight_decay=0.0,
    batch_size=256,
    epochs=30,
    tta=5,
    notes="tuomaso's fast-MNIST network and recipe: conv5x5(24)-pool-conv3x3(32)-pool-fc256, no BatchNorm or "
    "dropout, Adam at 0.01 with betas (0.7, 0.9), one-cycle, batch 256; with the cnn's augmentation and 5 test-time "
    "views, 30 epochs to cost what fast's 13 cost. A trial preset: level with fast (docs/results.md).",
)

ENSEMBLE_SIZES = {"best": 3}  # networks a preset trains by default (others: 1); --ensemble overrides


def preset_members(name: str) -> int:
    """How many networks `train --preset name` trains when --ensemble is not given."""
    return ENSEMBLE_SIZES.get(name, 1)


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with command-line overrides applied (None means keep the preset's value); another schedule
    than cosine drops the preset's warm-up, which belongs to cosine (one-cycle rises by itself, constant never)."""
    if name not in PRESETS:
        raise ConfigError({"preset": name}, f"unknown preset; choose one of {', '.join(PRESETS)}")
    if overrides.get("schedule") not in (None, "cosine"):
        overrides.setdefault("warmup_epochs", 0.0)
    return PRESETS[name].replace(**overrides)
