"""Training configuration: one typed frozen dataclass, each field's limits declared once beside it."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..constants import IMAGE_SIDE
from ..errors import ConfigError
from ..nn.layers import INITS
from ..nn.network import MAX_VIEWS
from ..nn.optim import ADAM_BETAS, OPTIMIZERS, SCHEDULES

ARCHITECTURES = ("mlp", "cnn", "strided")
KEEP = ("last", "best")


def _finite(low: float, high: float = math.inf, high_open: bool = True) -> Callable[[Any], bool]:
    """A real number from `low` (inclusive) to `high` (open unless `high_open` is False)."""

    def check(v: Any) -> bool:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            return False
        return low <= v and (v < high if high_open else v <= high)

    return check


def _whole(low: int, high: int | None = None) -> Callable[[Any], bool]:
    """A whole number from `low` to `high`, inclusive."""
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v and (high is None or v <= high)


def _one_of(choices: tuple[str, ...]) -> Callable[[Any], bool]:
    return lambda v: v in choices


# Sizes are bounded before any memory is spent: far above anything that trains on 2 cores in a day, far below
# what would ask for terabytes (a 784 × 10⁹ layer is 5.7 TiB).
MAX_WIDTH = 16_384  # units of a hidden layer
MAX_CHANNELS = 1_024  # channels of a convolution
MAX_LAYERS = 16  # hidden layers or convolutions
MAX_EPOCHS = 100_000  # epochs, or full-batch iterations
MAX_BATCH = 65_536  # rows of a mini-batch (more than train.csv holds: use 0, the full batch)
MAX_MEMBERS = 100  # networks of an ensemble (--ensemble)
MAX_FOLDS = 100  # folds of a cross-validation
MAX_JOBS = 256  # networks trained side by side


def _sizes(most: int) -> Callable[[Any], bool]:
    """One to MAX_LAYERS whole sizes from 1 to `most` (or none, for the architecture that has no such layers)."""
    return lambda v: isinstance(v, tuple) and len(v) <= MAX_LAYERS and all(_whole(1, most)(h) for h in v)


def _dev_size(v: Any) -> bool:
    """0 (no dev rows), a fraction strictly between 0 and 1, or a whole row count ≥ 1 (an int, not 1.0)."""
    return v == 0 or (isinstance(v, float) and 0 < v < 1) or _whole(1)(v)


def _positive(v: Any) -> bool:
    return _finite(0)(v) and v > 0


def _betas(v: Any) -> bool:
    return isinstance(v, tuple) and len(v) == 2 and all(_finite(0, 1)(b) for b in v)


def cnn_sides(conv_channels: tuple[int, ...], first_kernel: int, pool_every: int) -> list[int]:
    """The feature map's side after each convolution of a cnn (after its max-pool where one follows): valid
    convolutions, the first `first_kernel` wide and the rest 3, a 2x2 pool after every `pool_every`-th."""
    sides, side = [], IMAGE_SIDE
    for position in range(len(conv_channels)):
        side -= (first_kernel if position == 0 else 3) - 1
        if (position + 1) % pool_every == 0:
            side //= 2
        sides.append(side)
    return sides


# Each field's limit, once: (accepts, the fix a message gives). Checks across fields are in TrainConfig.check().
FIELD_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "architecture": (_one_of(ARCHITECTURES), f"choose {' or '.join(ARCHITECTURES)}"),
    "conv_channels": (
        _sizes(MAX_CHANNELS),
        f"give up to {MAX_LAYERS} channel counts from 1 to {MAX_CHANNELS:,}, e.g. 32,32,64,64",
    ),
    "hidden_sizes": (_sizes(MAX_WIDTH), f"give up to {MAX_LAYERS} layer sizes from 1 to {MAX_WIDTH:,}, e.g. 512,256"),
    "init": (_one_of(INITS), f"choose one of {', '.join(INITS)}"),
    "dropout": (_finite(0, 1), "use a rate in [0, 1), e.g. 0.2"),
    "first_kernel": (lambda v: v in (3, 5, 7), "use 3, 5 or 7"),
    "pool_every": (lambda v: v in (1, 2), "use 1 (a max-pool after every convolution) or 2 (after every second)"),
    "optimizer": (_one_of(OPTIMIZERS), f"choose one of {', '.join(OPTIMIZERS)}"),
    "adam_betas": (_betas, "give two decays in [0, 1), e.g. 0.9,0.999"),
    "learning_rate": (_positive, "use a finite rate > 0, e.g. 0.001"),
    "momentum": (_finite(0, 1), "use a value in [0, 1), e.g. 0.9"),
    "weight_decay": (_finite(0), "use a finite value ≥ 0, e.g. 0.0001"),
    "schedule": (_one_of(SCHEDULES), f"choose one of {', '.join(SCHEDULES)}"),
    "warmup_epochs": (_finite(0), "use a finite number of epochs ≥ 0"),
    "epochs": (_whole(1, MAX_EPOCHS), f"train for 1 to {MAX_EPOCHS:,}"),
    "batch_size": (_whole(0, MAX_BATCH), f"use a size from 1 to {MAX_BATCH:,}, or 0 for full batch"),
    "eval_every": (_whole(1), "evaluate at least every 1 epoch"),
    "dev_size": (
        _dev_size,
        "use a fraction strictly between 0 and 1 (e.g. 0.1), a whole row count (e.g. 4200), or 0 to train on every row",
    ),
    "label_smoothing": (_finite(0, 1), "use a share in [0, 1), e.g. 0.1"),
    "average": (_finite(0, 1), "use a decay in [0, 1) such as 0.999, or 0 for the last weights"),
    "tta": (_whole(1, MAX_VIEWS), f"use 1 (off) to {MAX_VIEWS} views"),
    "keep": (_one_of(KEEP), f"choose {' or '.join(KEEP)}"),
    "seed": (_whole(0), "use a whole number ≥ 0"),
    "split_seed": (lambda v: v is None or _whole(0)(v), "use a whole number ≥ 0"),
    "augment": (lambda v: isinstance(v, bool), "true or false"),
    "batchnorm": (lambda v: isinstance(v, bool), "true or false"),
    "elastic": (_finite(0), "use a finite strength ≥ 0, e.g. 24, or 0 for none"),
}


# A run's own settings beside its configuration's: how many networks it trains, and how many at a time.
RUN_RULES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "members": (_whole(1, MAX_MEMBERS), f"train at least 1 network, at most {MAX_MEMBERS}"),
    "folds": (
        lambda v: _whole(0, MAX_FOLDS)(v) and v != 1,
        f"use 2 or more folds (5 is usual, at most {MAX_FOLDS}), or 0 for a dev split",
    ),
    "jobs": (_whole(0, MAX_JOBS), f"train at least 1 network at a time (at most {MAX_JOBS}), or 0 for one per core"),
}


@dataclass(frozen=True)
class Knob:
    """A range `tune` searches for one field: low..high (log-uniform with `log`, whole numbers with `whole`), or one
    of `choices`. `width` scales a preset's layer sizes (hidden_sizes or conv_channels) instead of naming a field."""

    low: float = 0.0
    high: float = 0.0
    log: bool = False
    whole: bool = False
    choices: tuple[Any, ...] = ()

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(str(choice) for choice in self.choices)
        scale = "log-uniform" if self.log else "whole numbers" if self.whole else "uniform"
        return f"{self.low:g} to {self.high:g}, {scale}"


# The knobs `tune` searches, each within what its field's rule above accepts (a test holds them to it).
SEARCH_SPACE: dict[str, Knob] = {
    "learning_rate": Knob(1e-4, 3e-2, log=True),
    "weight_decay": Knob(1e-6, 1e-2, log=True),
    "dropout": Knob(0.0, 0.5),
    "label_smoothing": Knob(0.0, 0.2),
    "elastic": Knob(0.0, 36.0),  # augmentation strength (with the preset's --augment; presets without it skip it)
    "epochs": Knob(2, 30, whole=True),
    "batch_size": Knob(choices=(64, 128, 256)),
    "width": Knob(choices=(0.5, 1.0, 1.5, 2.0)),
}


def widened(sizes: tuple[int, ...], width: float) -> tuple[int, ...]:
    """A preset's layer sizes scaled by `width`, each at least 1."""
    return tuple(max(1, round(size * width)) for size in sizes)


def network_count(members: int, folds: int) -> int:
    """How many networks a run trains: every member once per fold (once when there are no folds)."""
    return members * max(1, folds)


def check_field(name: str, value: Any) -> None:
    """Raise ConfigError unless `value` is one that field `name` (of the configuration or the run) accepts."""
    accepts, fix = FIELD_RULES[name] if name in FIELD_RULES else RUN_RULES[name]
    if not accepts(value):
        raise ConfigError({name: value}, fix)


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides a training run; two runs with equal configs and data give equal weights."""

    preset: str
    architecture: str = "mlp"
    conv_channels: tuple[int, ...] = ()  # cnn only: 3x3 convolutions, a 2x2 max-pool after every second one
    first_kernel: int = 3  # cnn only: the side of the first convolution's kernel
    pool_every: int = 2  # cnn only: a 2x2 max-pool after every second convolution, or (1) after each
    batchnorm: bool = False
    hidden_sizes: tuple[int, ...] = (256, 128)
    init: str = "he"
    dropout: float = 0.0
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    momentum: float = 0.9
    adam_betas: tuple[float, float] = ADAM_BETAS  # decays of Adam's two moment averages
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: float = 0.0
    epochs: int = 10
    batch_size: int = 128  # 0 means full batch
    eval_every: int = 1  # epochs between dev evaluations (and progress lines)
    dev_size: float = 0.1  # a fraction in (0, 1), a whole row count (an int), or 0 for a final fit on every row
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
        self.check()

    def check(self) -> None:
        """Every field within its limits, then the limits across fields; the first problem is a ConfigError."""
        for name in FIELD_RULES:
            check_field(name, getattr(self, name))
        across = [
            (
                self.architecture != "cnn" or len(self.conv_channels) in (2, 4),
                {"conv_channels": self.conv_channels},
                "a cnn takes 2 or 4 channel counts, e.g. 32,32,64,64",
            ),
            (
                self.architecture != "strided" or len(self.conv_channels) in (3, 6),
                {"conv_channels": self.conv_channels},
                "a strided cnn takes 3 or 6 channel counts (blocks of conv3, conv3, conv5 stride 2), e.g. "
                "32,32,32,64,64,64",
            ),
            (
                self.architecture != "cnn"
                or min(cnn_sides(self.conv_channels, self.first_kernel, self.pool_every), default=1) >= 1,
                {"conv_channels": self.conv_channels, "first_kernel": self.first_kernel, "pool_every": self.pool_every},
                "the feature map shrinks below one pixel; use fewer convolutions or pool less often",
            ),
            (
                self.architecture == "cnn" or (self.first_kernel, self.pool_every) == (3, 2),
                {"first_kernel": self.first_kernel, "pool_every": self.pool_every},
                "only the cnn architecture takes these (try the cnn preset)",
            ),
            (
                self.optimizer == "adam" or self.adam_betas == ADAM_BETAS,
                {"adam_betas": self.adam_betas, "optimizer": self.optimizer},
                "only adam has betas; use --optimizer adam",
            ),
            (
                self.schedule != "one-cycle" or not self.warmup_epochs,
                {"schedule": self.schedule, "warmup_epochs": self.warmup_epochs},
                "one-cycle rises over its first 30 % of steps by itself; set warmup_epochs to 0",
            ),
            (
                self.architecture != "mlp" or not self.conv_channels,
                {"conv_channels": self.conv_channels},
                "only cnn presets have convolutions (try the cnn preset)",
            ),
            (self.augment or not self.elastic, {"elastic": self.elastic}, "works with {augment} only; add it"),
            (
                self.keep == "last" or self.dev_size != 0,
                {"keep": self.keep, "dev_size": self.dev_size},
                "best is chosen on held-out rows, and a final fit has none; keep last",
            ),
        ]
        for ok, fields, fix in across:
            if not ok:
                raise ConfigError(fields, fix)

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
        for name in ("hidden_sizes", "conv_channels", "adam_betas"):
            if name in cleaned:
                cleaned[name] = tuple(cleaned[name])
        dev_size = cleaned.get("dev_size")
        if isinstance(dev_size, float) and dev_size >= 1 and dev_size.is_integer():  # row counts before 0.2 were floats
            cleaned["dev_size"] = int(dev_size)
        return cls(**cleaned)
