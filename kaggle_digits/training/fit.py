"""The training loop: mini-batches, schedule, dev evaluation, best-weights keeping; progress via a callback."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from ..errors import KaggleDigitsError
from ..nn.losses import cross_entropy, log_softmax
from ..nn.network import Network
from ..nn.optim import learning_rate_at, make_optimizer
from .presets import TrainConfig

Augmenter = Callable[[np.ndarray, np.random.Generator], np.ndarray]


@dataclass(frozen=True)
class EpochRecord:
    """One dev evaluation: where training stood and how the model scored."""

    epoch: int
    loss: float
    train_accuracy: float
    dev_loss: float
    dev_accuracy: float
    learning_rate: float
    seconds: float


@dataclass(frozen=True)
class TrainEvent:
    """What a progress display needs; `record` is set after a dev evaluation, None after a plain step."""

    epoch: int
    epochs: int
    step: int
    total_steps: int
    loss: float
    samples_per_s: float
    elapsed: float
    record: EpochRecord | None = None
    best_dev_accuracy: float = float("nan")


@dataclass
class FitResult:
    """The outcome of `fit`; the network already holds the best weights."""

    history: list[EpochRecord] = field(default_factory=list)
    best_dev_accuracy: float = float("nan")
    best_epoch: int = 0
    interrupted: bool = False
    seconds: float = 0.0
    samples_seen: int = 0

    @property
    def samples_per_s(self) -> float:
        return self.samples_seen / self.seconds if self.seconds else 0.0

    def history_dicts(self) -> list[dict]:
        return [asdict(r) for r in self.history]


def evaluate(network: Network, X: np.ndarray, y: np.ndarray, batch_size: int = 500) -> tuple[float, float]:
    """Mean cross-entropy and accuracy in inference mode."""
    total_loss, correct = 0.0, 0
    for i in range(0, len(X), batch_size):
        logits = network.forward(X[i : i + batch_size])  # (B, 10)
        yb = y[i : i + batch_size]
        total_loss += -float(log_softmax(logits)[np.arange(len(yb)), yb].sum())
        correct += int((logits.argmax(axis=1) == yb).sum())
    return total_loss / len(X), correct / len(X)


@np.errstate(over="ignore", invalid="ignore")  # divergence is detected explicitly and reported as an error
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
) -> FitResult:
    """Train `network` in place; keep the weights with the best dev accuracy. Ctrl-C stops early, cleanly."""
    n = len(X_train)
    batch = config.batch_size or n
    steps_per_epoch = math.ceil(n / batch)
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = round(config.warmup_epochs * steps_per_epoch)
    optimizer = make_optimizer(config.optimizer, network.parameter_pairs(), config.momentum, config.weight_decay)
    result = FitResult()
    best_state = network.state()
    start = time.perf_counter()
    step, epoch = 0, 0

    def report(loss: float, record: EpochRecord | None = None) -> None:
        if callback is not None:
            elapsed = time.perf_counter() - start
            speed = result.samples_seen / elapsed
            callback(
                TrainEvent(
                    epoch, config.epochs, step, total_steps, loss, speed, elapsed, record, result.best_dev_accuracy
                )
            )

    def keep_if_best(dev_accuracy: float) -> None:
        nonlocal best_state
        if not dev_accuracy <= result.best_dev_accuracy:  # also true while the best is still NaN
            result.best_dev_accuracy, result.best_epoch = dev_accuracy, epoch
            best_state = network.state()

    try:
        for epoch in range(1, config.epochs + 1):
            epoch_start = time.perf_counter()
            order = rng.permutation(n) if batch < n else None  # full batch: no copy, no shuffle
            loss_sum, correct = 0.0, 0
            for begin in range(0, n, batch):
                index = slice(begin, begin + batch) if order is None else order[begin : begin + batch]
                Xb, yb = X_train[index], y_train[index]  # (B, 784), (B,)
                if augment is not None:
                    Xb = augment(Xb, rng)
                logits = network.forward(Xb, training=True)  # (B, 10)
                loss, dlogits = cross_entropy(logits, yb)
                network.backward(dlogits)
                lr = learning_rate_at(config.schedule, config.learning_rate, step, total_steps, warmup_steps)
                optimizer.step(lr)
                step += 1
                result.samples_seen += len(yb)
                loss_sum += loss * len(yb)
                correct += int((logits.argmax(axis=1) == yb).sum())
                report(loss)
            if epoch % config.eval_every and epoch != config.epochs:
                continue
            if not network.all_finite():
                raise KaggleDigitsError(
                    f"training diverged at epoch {epoch}: weights became NaN or infinite; lower --lr "
                    f"(now {config.learning_rate:g})"
                )
            dev_loss, dev_accuracy = evaluate(network, X_dev, y_dev)
            seconds = time.perf_counter() - epoch_start
            record = EpochRecord(epoch, loss_sum / n, correct / n, dev_loss, dev_accuracy, lr, seconds)
            result.history.append(record)
            keep_if_best(dev_accuracy)
            report(record.loss, record)
    except KeyboardInterrupt:
        result.interrupted = True
    result.seconds = time.perf_counter() - start
    if result.interrupted and network.all_finite():
        keep_if_best(evaluate(network, X_dev, y_dev)[1])
    network.load_state(best_state)
    if math.isnan(result.best_dev_accuracy):
        result.best_dev_accuracy = evaluate(network, X_dev, y_dev)[1]
    return result
