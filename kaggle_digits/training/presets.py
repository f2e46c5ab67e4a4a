"""Training configuration as a typed frozen dataclass, and the named presets people start from."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..errors import KaggleDigitsError
from ..nn.layers import INITS
from ..nn.network import MAX_VIEWS
from ..nn.optim import OPTIMIZERS, SCHEDULES

ARCHITECTURES = ("mlp", "cnn")
KEEP = ("last", "best")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; two runs with equal configs and data give equal weights."""

    preset: str
    architecture: str = "mlp"
    conv_channels: tuple[int, ...] = ()  # cnn only: 3x3 convolutions, a 2x2 max-pool after every second one
    batchnorm: bool = False
    hidden_sizes: tuple[int, ...] = (256, 128)
    init: str = "he"
    dropout: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    epochs: int = 10
    batch_size: int = 128  # 0 means full batch
    eval_every: int = 1  # epochs between dev evaluations (and progress lines)
    dev_size: float = 0.1  # a fraction in (0, 1), a whole row count, or 0 for a final fit on every row
    label_smoothing: float = 0.0  # share of the target spread evenly over the classes
    average: float = 0.0  # decay of a moving average of the weights that is scored and kept instead (0: off)
    tta: int = 1  # test-time views averaged for the estimate and the submission (1: the image alone)
    keep: str = "last"  # the weights a run ends with: the last epoch's, or the best on the dev rows (selected there)
    seed: int = 0
    split_seed: int | None = None  # seed of the dev split when it differs from `seed` (ensemble members)
    augment: bool = False
    elastic: float = 0.0  # with augment: strength (alpha, pixels) of an elastic distortion added to the warp (0: off)
    notes: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        checks = [
            (
                self.architecture in ARCHITECTURES,
                f"architecture {self.architecture!r}: choose {ARCHITECTURES}",
            ),
            (all(h >= 1 for h in self.hidden_sizes), f"--hidden {self.hidden_sizes}: sizes must be ≥ 1"),
            (
                self.architecture == "mlp" or (len(self.conv_channels) in (2, 4) and min(self.conv_channels) >= 1),
                f"--channels {self.conv_channels}: a cnn takes 2 or 4 positive channel counts, e.g. 32,32,64,64",
            ),
            (
                self.architecture == "cnn" or not self.conv_channels,
                f"--channels {self.conv_channels}: only cnn presets have convolutions (try --preset cnn)",
            ),
            (self.init in INITS, f"init {self.init!r}: choose one of {', '.join(INITS)}"),
            (0 <= self.dropout < 1, f"--dropout {self.dropout}: use a rate in [0, 1), e.g. 0.2"),
            (
                self.optimizer in OPTIMIZERS,
                f"--optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}",
            ),
            (self.learning_rate > 0, f"--lr {self.learning_rate}: the learning rate must be > 0, e.g. 0.001"),
            (0 <= self.momentum < 1, f"momentum {self.momentum}: use a value in [0, 1)"),
            (self.weight_decay >= 0, f"weight decay {self.weight_decay}: must be ≥ 0"),
            (
                self.schedule in SCHEDULES,
                f"--schedule {self.schedule!r}: choose one of {', '.join(SCHEDULES)}",
            ),
            (self.warmup_epochs >= 0, f"warmup {self.warmup_epochs}: must be ≥ 0 epochs"),
            (self.epochs >= 1, f"--epochs {self.epochs}: train for at least 1 epoch"),
            (
                self.batch_size >= 0,
                f"--batch-size {self.batch_size}: use a positive size, or 0 for full batch",
            ),
            (self.eval_every >= 1, f"eval every {self.eval_every}: must be ≥ 1 epoch"),
            (
                self.dev_size == 0
                or 0 < self.dev_size < 1
                or (self.dev_size >= 1 and self.dev_size == int(self.dev_size)),
                f"--dev-size {self.dev_size:g}: use a fraction strictly between 0 and 1 (e.g. 0.1), a whole row count "
                "(e.g. 4200), or 0 to train on every row",
            ),
            (self.keep in KEEP, f"--keep {self.keep!r}: choose one of {', '.join(KEEP)}"),
            (0 <= self.label_smoothing < 1, f"label smoothing {self.label_smoothing}: use a share in [0, 1)"),
            (
                0 <= self.average < 1,
                f"--average {self.average}: use a decay in [0, 1) such as 0.999, or 0 for the last weights",
            ),
            (
                self.elastic >= 0 and (self.augment or not self.elastic),
                f"--elastic {self.elastic:g}: use a strength ≥ 0 (e.g. 24) together with --augment, or 0 for none",
            ),
            (1 <= self.tta <= MAX_VIEWS, f"--tta {self.tta}: use 1 (off) to {MAX_VIEWS} views"),
        ]
        for ok, message in checks:
            if not ok:
                raise KaggleDigitsError(message)

    @property
    def unit(self) -> str:
        """What one point of the history is: an epoch, or an iteration of full-batch gradient descent."""
        return "iteration" if self.batch_size == 0 else "epoch"

    def replace(self, **overrides: Any) -> TrainConfig:
        """A copy with the given fields changed; `None` values leave a field as it is."""
        return dataclasses.replace(self, **{k: v for k, v in overrides.items() if v is not None})

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        cleaned = {k: v for k, v in values.items() if k in known}
        for name in ("hidden_sizes", "conv_channels"):
            if name in cleaned:
                cleaned[name] = tuple(cleaned[name])
        return cls(**cleaned)


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
    notes="The final submission: three cnn networks with averaged weights, their softmax averaged; about 50 minutes.",
)

ENSEMBLE_SIZES = {"best": 3}  # networks a preset trains by default (others: 1); --ensemble overrides


def preset_members(name: str) -> int:
    """How many networks `train --preset name` trains when --ensemble is not given."""
    return ENSEMBLE_SIZES.get(name, 1)


def preset_config(name: str, **overrides: Any) -> TrainConfig:
    """The named preset with command-line overrides applied (None means keep the preset's value)."""
    if name not in PRESETS:
        raise KaggleDigitsError(f"--preset {name!r}: unknown preset; choose one of {', '.join(PRESETS)}")
    return PRESETS[name].replace(**overrides)
