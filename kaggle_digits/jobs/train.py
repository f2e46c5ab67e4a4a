"""The jobs behind the CLI: load → split → train → save run → predict → submission, and predict from a model."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data import Digits, load_test, load_train, split_dev
from ..errors import KaggleDigitsError
from ..nn.augment import AffineAugment
from ..nn.network import Ensemble, Model, build_network
from ..nn.serialize import load_model, save_model
from ..plots import plot_curves
from ..submission import write_submission
from ..training.architecture import architecture
from ..training.fit import FitResult, TrainEvent, fit
from ..training.presets import TrainConfig
from .runs import MODEL_FILE, new_run_dir, timestamp, write_metrics

Stage = Callable[[str], None]


@dataclass(frozen=True)
class TrainOutcome:
    """Where a training run's files went and how it scored."""

    run_dir: Path
    model_path: Path
    submission_path: Path
    fit: FitResult | None  # None for an ensemble combined from saved runs
    metrics: dict[str, Any]


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent streams for the dev split, weight init and training (shuffles, dropout, augmentation)."""
    split, init, train = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(split), np.random.default_rng(init), np.random.default_rng(train)


def curve_unit(config: TrainConfig) -> str:
    """What one point of the history is: an epoch, or an iteration of full-batch gradient descent."""
    return "iteration" if config.batch_size == 0 else "epoch"


def dev_split(train: Digits, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The run's (train, dev) row indices: a pure function of labels, dev size and seed, so reloads agree."""
    split_seed = config.seed if config.split_seed is None else config.split_seed
    return split_dev(train.labels, config.dev_size, generators(split_seed)[0])


def train_run(
    config: TrainConfig,
    data_dir: str | os.PathLike[str],
    runs_root: str | os.PathLike[str] = "runs",
    submissions_dir: str | os.PathLike[str] = "submissions",
    callback: Callable[[TrainEvent], None] | None = None,
    stage: Stage | None = None,
    data_label: str | None = None,
    members: int = 1,
) -> TrainOutcome:
    """Train on the dev split of `data_dir`/train.csv, save the run and write a submission for test.csv.

    With members > 1, trains that many networks with seeds seed, seed+1, … on the same split and keeps their
    ensemble (mean softmax) as the run's model.
    """
    if members < 1:
        raise KaggleDigitsError(f"--ensemble {members}: train at least 1 model")
    stage = stage or (lambda _: None)
    started = time.perf_counter()
    stage("Loading data")
    train, test = load_train(data_dir), load_test(data_dir)
    train_idx, dev_idx = dev_split(train, config)
    X_train, y_train = train.features(train_idx), train.labels[train_idx]  # (N, 784), (N,)
    X_dev, y_dev = train.features(dev_idx), train.labels[dev_idx]
    loaded = time.perf_counter()
    networks, results = [], []
    for m in range(members):
        member = config if members == 1 else config.replace(seed=config.seed + m, split_seed=config.seed)
        if members > 1:
            stage(f"Ensemble member {m + 1}/{members} (seed {member.seed})")
        _, init_rng, train_rng = generators(member.seed)
        network = build_network(architecture(member), init_rng)
        augment = AffineAugment() if member.augment else None
        results.append(fit(network, X_train, y_train, X_dev, y_dev, member, train_rng, callback, augment))
        networks.append(network)
        if results[-1].interrupted:
            break
    model: Model = networks[0] if len(networks) == 1 else Ensemble(networks)
    dev_accuracy = float((model.predict_proba(X_dev).argmax(axis=1) == y_dev).mean())
    trained = time.perf_counter()
    stage("Predicting test.csv")
    test_labels = model.predict_proba(test.features()).argmax(axis=1)  # (T,)
    predicted = time.perf_counter()
    first = results[0]
    metrics = {
        "preset": config.preset,
        "config": config.to_dict(),
        "seed": config.seed,
        "data": {
            "dir": str(Path(data_dir).resolve()),
            "label": data_label or str(data_dir),
            "train_fingerprint": train.fingerprint,
            "test_fingerprint": test.fingerprint,
            "train_rows": len(train_idx),
            "dev_rows": len(dev_idx),
            "test_rows": len(test),
        },
        "parameters": model.n_parameters,
        "dev_accuracy": dev_accuracy,
        "best_epoch": first.best_epoch,
        "interrupted": any(r.interrupted for r in results),
        "history": first.history_dicts(),
        "timings": {
            "load_s": round(loaded - started, 3),
            "train_s": round(trained - loaded, 3),
            "predict_s": round(predicted - trained, 3),
            "samples_per_s": round(sum(r.samples_seen for r in results) / sum(r.seconds for r in results), 1),
            "total_s": round(time.perf_counter() - started, 3),
        },
    }
    if members > 1:
        metrics["members"] = [
            {
                "seed": config.seed + m,
                "dev_accuracy": r.best_dev_accuracy,
                "best_epoch": r.best_epoch,
                "history": r.history_dicts(),
            }
            for m, r in enumerate(results)
        ]
    name = f"{timestamp()}-{config.preset}" + (f"-x{len(networks)}" if members > 1 else "")
    return save_run(name, model, config, test_labels, metrics, runs_root, submissions_dir, first)


def save_run(
    name: str,
    model: Model,
    config: TrainConfig,
    test_labels: np.ndarray,
    metrics: dict[str, Any],
    runs_root: str | os.PathLike[str],
    submissions_dir: str | os.PathLike[str],
    fit_result: FitResult | None = None,
) -> TrainOutcome:
    """Create the run folder and write its submission, model.npz, curves.png (given a history) and metrics.json."""
    run_dir = new_run_dir(runs_root, name)
    submission_path = Path(submissions_dir) / f"{run_dir.name}.csv"
    write_submission(submission_path, test_labels, metrics["data"]["test_rows"])
    metrics["submission"] = str(submission_path)
    model_path = run_dir / MODEL_FILE
    save_model(
        model_path,
        model,
        {"config": config.to_dict(), "meta": {"dev_accuracy": metrics["dev_accuracy"], "run": run_dir.name}},
    )
    if metrics["history"]:
        heading = f"{run_dir.name}: dev accuracy {metrics['dev_accuracy']:.4f}"
        plot_curves(metrics["history"], heading, run_dir / "curves.png", curve_unit(config))
    write_metrics(run_dir, metrics)
    return TrainOutcome(run_dir, model_path, submission_path, fit_result, metrics)


def predict_run(
    model_path: str | os.PathLike[str], data_dir: str | os.PathLike[str], out: str | os.PathLike[str]
) -> tuple[Path, np.ndarray]:
    """Write a submission for `data_dir`/test.csv from a saved model; returns the path and the labels."""
    network, _ = load_model(model_path)
    test = load_test(data_dir)
    labels = network.predict_proba(test.features()).argmax(axis=1)  # (T,)
    return write_submission(out, labels, len(test)), labels
