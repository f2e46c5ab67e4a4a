"""Combine saved runs into one ensemble run: average their softmax on the shared dev split and on test.csv."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .data import load_test
from .errors import KaggleDigitsError
from .evaluation import run_data_dir, run_train_data
from .model import Ensemble, save_model
from .runs import MODEL_FILE, Run, new_run_dir, timestamp, write_metrics
from .submission import write_submission
from .workflow import TrainOutcome, dev_split


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
    run_dir = new_run_dir(runs_root, f"{timestamp()}-ensemble-x{len(networks)}")
    submission_path = write_submission(Path(submissions_dir) / f"{run_dir.name}.csv", test_labels, len(test))
    config = runs[0].config
    metrics = {
        "preset": f"ensemble of {', '.join(sorted({r.config.preset for r in runs}))}",
        "config": config.to_dict(),
        "seed": config.seed,
        "data": runs[0].metrics["data"],
        "parameters": model.n_parameters,
        "dev_accuracy": dev_accuracy,
        "best_epoch": 0,
        "interrupted": False,
        "history": [],
        "members": [{"run": str(r.path), "dev_accuracy": r.metrics.get("dev_accuracy")} for r in runs],
        "timings": {"load_s": 0.0, "train_s": 0.0, "predict_s": 0.0, "samples_per_s": 0.0},
        "submission": str(submission_path),
    }
    model_path = run_dir / MODEL_FILE
    save_model(model_path, model, config, {"dev_accuracy": dev_accuracy, "run": run_dir.name})
    write_metrics(run_dir, metrics)
    return TrainOutcome(run_dir, model_path, submission_path, None, metrics)
