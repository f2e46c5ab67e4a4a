"""Combine saved runs into one ensemble run: average their softmax on the shared dev split and on test.csv."""

from __future__ import annotations

import os

import numpy as np

from ..data import load_test
from ..errors import KaggleDigitsError
from ..nn.network import Ensemble
from .evaluation import run_data_dir, run_train_data
from .runs import Run, timestamp
from .train import TrainOutcome, dev_split, save_run


def combine_runs(
    runs: list[Run],
    runs_root: str | os.PathLike[str] = "runs",
    submissions_dir: str | os.PathLike[str] = "submissions",
) -> TrainOutcome:
    """An ensemble of runs trained on the same data and dev split; refuses runs whose splits differ."""
    if len(runs) < 2:
        raise KaggleDigitsError("ensemble: name at least two run folders to combine")
    train = run_train_data(runs[0])
    _, dev_idx = dev_split(train, runs[0].config)
    for run in runs[1:]:
        if run.metrics.get("data", {}).get("train_fingerprint") != train.fingerprint:
            raise KaggleDigitsError(f"{run.path}: trained on other data than {runs[0].path}; cannot combine")
        if not np.array_equal(dev_split(train, run.config)[1], dev_idx):
            raise KaggleDigitsError(
                f"{run.path}: its dev split differs from {runs[0].path}'s (another seed or --dev-size); "
                "train members with `train --ensemble K`, or give each the same --split-seed and --dev-size"
            )
    networks = [net for run in runs for net in getattr(run.network, "networks", [run.network])]
    model = Ensemble(networks)
    dev_accuracy = float((model.predict_proba(train.features(dev_idx)).argmax(axis=1) == train.labels[dev_idx]).mean())
    test = load_test(run_data_dir(runs[0]))
    test_labels = model.predict_proba(test.features()).argmax(axis=1)  # (T,)
    config = runs[0].config
    metrics = {
        "preset": f"ensemble of {', '.join(sorted({r.config.preset for r in runs}))}",
        "config": config.to_dict(),
        "seed": config.seed,
        "data": runs[0].metrics["data"] | {"test_rows": len(test)},
        "parameters": model.n_parameters,
        "dev_accuracy": dev_accuracy,
        "best_epoch": 0,
        "interrupted": False,
        "history": [],
        "members": [{"run": str(r.path), "dev_accuracy": r.metrics.get("dev_accuracy")} for r in runs],
        "timings": {"load_s": 0.0, "train_s": 0.0, "predict_s": 0.0, "samples_per_s": 0.0},
    }
    name = f"{timestamp()}-ensemble-x{len(networks)}"
    return save_run(name, model, config, test_labels, metrics, runs_root, submissions_dir)
