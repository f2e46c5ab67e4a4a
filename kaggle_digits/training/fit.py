"""The training loop: mini-batches, schedule, an evaluation per epoch, a state that checkpoints can save and restore.

`Trainer` never prints and never catches an interrupt: it reports through `on_event` and calls `on_epoch` after every
finished epoch (where the job writes a checkpoint), so a stop at any moment leaves the last finished epoch on disk.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import ConfigError
from ..nn.average import WeightAverage
from ..nn.losses import cross_entropy, log_softmax
from ..nn.network import Network
from ..nn.optim import learning_rate_at, make_optimizer
from .config import TrainConfig

Augmenter = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class EpochRecord:
    """One evaluation: where training stood and how the model scored on the held-out rows (NaN without any)."""

    epoch: int
    loss: float
    train_accuracy: float
    dev_loss: float
    dev_accuracy: float
    learning_rate: float
    seconds: float


@dataclass(frozen=True)
class TrainEvent:
    """What a progress display needs; `record` is set after an evaluation, None after a plain step."""

    part: str  # "", "member 2/3" or "fold 2/5"
    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float
    samples_per_s: float
    elapsed: float
    record: EpochRecord | None = None


@dataclass(frozen=True)
class Split:
    """Rows to train on and held-out rows to evaluate on (none for a final fit on all data)."""

    X_train: np.ndarray  # (N, 784) float32
    y_train: np.ndarray  # (N,)
    X_dev: np.ndarray  # (M, 784) float32, M may be 0
    y_dev: np.ndarray  # (M,)


@dataclass
class FitState:
    """Where a fit stands after its last finished epoch; with weights, optimiser and generators, a checkpoint."""

    epoch: int = 0
    step: int = 0
    samples_seen: int = 0
    seconds: float = 0.0
    history: list[EpochRecord] = field(default_factory=list)
    best_accuracy: float = float("nan")
    best_epoch: int = 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> FitState:
        return cls(**(values | {"history": [EpochRecord(**r) for r in values["history"]]}))

    @property
    def samples_per_s(self) -> float:
        return self.samples_seen / self.seconds if self.seconds else 0.0

    @property
    def last_accuracy(self) -> float:
        return self.history[-1].dev_accuracy if self.history else float("nan")


def evaluate(network: Network, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in inference mode (NaN for no rows)."""
    if len(X) == 0:
        return float("nan"), float("nan")
    total_loss, correct = 0.0, 0
    for i in range(0, len(X), batch_size):
        logits = network.forward(X[i : i + batch_size])  # (B, 10)
        yb = y[i : i + batch_size]
        total_loss += -float(log_softmax(logits)[np.arange(len(yb)), yb].sum())
        correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / len(X), correct / len(X)


class TrainingDiverged(ConfigError):  # noqa: N818 (named for what happened)
    """The weights became NaN or infinite: the rate (or the recipe) is too aggressive."""


class Trainer:
    """Trains one network in place on a split; `state`, the optimiser and `generators` are all a resume needs."""

    def __init__(
        self,
        network: Network,
        split: Split,
        config: TrainConfig,
        rng: np.random.Generator,
        augment: Augmenter | None = None,
        on_event: Callable[[TrainEvent], None] | None = None,
        on_epoch: Callable[[Trainer], None] | None = None,
        part: str = "",
    ):
        self.network, self.split, self.config, self.rng = network, split, config, rng
        self.augment, self.on_event, self.on_epoch, self.part = augment, on_event, on_epoch, part
        self.optimizer = make_optimizer(
            config.optimizer, network.parameter_pairs(), config.momentum, config.weight_decay, config.adam_betas
        )
        self.batch = config.batch_size or len(split.X_train)
        self.steps_per_epoch = math.ceil(len(split.X_train) / self.batch)
        self.total_steps = self.steps_per_epoch * config.epochs
        self.warmup_steps = round(config.warmup_epochs * self.steps_per_epoch)
        self.state = FitState()
        self.average = WeightAverage(network, config.average) if config.average else None
        self.best_weights: dict[str, np.ndarray] | None = None
        self._epoch_started = time.perf_counter()

    @property
    def generators(self) -> list[np.random.Generator]:
        """Every random stream training draws from: shuffles and augmentation, then each layer's own (dropout)."""
        found = [self.rng]
        for layer in self.network.layers:
            rng = getattr(layer, "rng", None)
            if rng is not None and all(rng is not g for g in found):
                found.append(rng)
        return found

    @np.errstate(over="ignore", invalid="ignore")  # divergence is detected explicitly and reported as an error
    def run(self) -> FitState:
        """Train the remaining epochs; the network ends with the last weights (their moving average with
        `average`), or the best ones scored with `keep="best"`."""
        for epoch in range(self.state.epoch + 1, self.config.epochs + 1):
            self._epoch_started = started = time.perf_counter()
            loss_sum, correct, lr = self._train_epoch(epoch)
            self._check_finite(epoch)
            self.state.epoch = epoch
            if epoch % self.config.eval_every == 0 or epoch == self.config.epochs:
                self._evaluate_epoch(epoch, loss_sum, correct, lr, started)
            else:
                self.state.seconds += time.perf_counter() - started
            if self.on_epoch is not None:
                started = time.perf_counter()
                self.on_epoch(self)
                self.state.seconds += time.perf_counter() - started  # the time reported is all the time spent
        if self.config.keep == "best" and self.best_weights is not None:
            self.network.load_state(self.best_weights)
        elif self.average is not None:
            self.network.load_state(self.average.averaged)
        return self.state

    def _train_epoch(self, epoch: int) -> tuple[float, int, float]:
        """One pass over the shuffled training rows; returns the summed loss, correct count and last lr."""
        X, y, n = self.split.X_train, self.split.y_train, len(self.split.X_train)
        order = self.rng.permutation(n) if self.batch < n else None  # full batch: no copy, no shuffle
        loss_sum, correct, lr = 0.0, 0, 0.0
        for begin in range(0, n, self.batch):
            index = slice(begin, begin + self.batch) if order is None else order[begin : begin + self.batch]
            Xb, yb = X[index], y[index]  # (B, 784), (B,)
            if self.augment is not None:
                Xb = self.augment(Xb, self.rng)
            logits = self.network.forward(Xb, training=True)  # (B, 10)
            loss, dlogits = cross_entropy(logits, yb, self.config.label_smoothing)
            self.network.backward(dlogits)
            lr = learning_rate_at(
                self.config.schedule, self.config.learning_rate, self.state.step, self.total_steps, self.warmup_steps
            )
            self.optimizer.step(lr)
            self.state.step += 1
            if self.average is not None:
                self.average.update(self.state.step)
            self.state.samples_seen += len(yb)
            loss_sum += loss * len(yb)
            correct += int((logits.argmax(axis=1) == yb).sum())
            self._report(epoch, loss)
        return loss_sum, correct, lr

    def _check_finite(self, epoch: int) -> None:
        if not self.network.all_finite():
            raise TrainingDiverged(
                {"learning_rate": self.config.learning_rate},
                f"training diverged at {self.config.unit} {epoch} (the weights became NaN or infinite); "
                "use a lower rate",
            )

    def _evaluate_epoch(self, epoch: int, loss_sum: float, correct: int, lr: float, started: float) -> None:
        """Score the held-out rows, record the epoch, and keep a copy of the weights if they are the best so far."""
        n = len(self.split.X_train)
        with self.average.swapped_in() if self.average is not None else contextlib.nullcontext():
            dev_loss, dev_accuracy = evaluate(self.network, self.split.X_dev, self.split.y_dev)
            if dev_accuracy > self.state.best_accuracy or math.isnan(self.state.best_accuracy):
                self.state.best_accuracy, self.state.best_epoch = dev_accuracy, epoch
                if self.config.keep == "best":
                    self.best_weights = self.network.state()
        seconds = time.perf_counter() - started
        self.state.seconds += seconds
        record = EpochRecord(epoch, loss_sum / n, correct / n, dev_loss, dev_accuracy, lr, seconds)
        self.state.history.append(record)
        self._report(epoch, record.loss, record)

    def _report(self, epoch: int, loss: float, record: EpochRecord | None = None) -> None:
        if self.on_event is None:
            return
        elapsed = (
            self.state.seconds if record is not None else self.state.seconds + time.perf_counter() - self._epoch_started
        )
        self.on_event(
            TrainEvent(
                part=self.part,
                epoch=epoch,
                epochs=self.config.epochs,
                step=self.state.step,
                total_steps=self.total_steps,
                loss=loss,
                samples_per_s=self.state.samples_seen / elapsed if elapsed > 0 else 0.0,
                elapsed=elapsed,
                record=record,
            )
        )


def fit(
    network: Network,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_dev: np.ndarray,
    y_dev: np.ndarray,
    config: TrainConfig,
    rng: np.random.Generator,
    callback: Callable[[TrainEvent], None] | None = None,
    augment: Augmenter | None = None,
) -> FitState:
    """Train `network` in place from scratch, without checkpoints: the plain entry point for library use."""
    return Trainer(network, Split(X_train, y_train, X_dev, y_dev), config, rng, augment, callback).run()
