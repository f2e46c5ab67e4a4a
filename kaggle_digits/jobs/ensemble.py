"""Combine saved runs into one ensemble run: average their softmax on the shared dev split and on test.csv."""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from ..data import load_test
from ..errors import KaggleDigitsError
from ..nn.network import Ensemble, with_views
from ..training.config import check_field
from .finish import TrainOutcome, save_finished
from .folders import TrainedRun, new_run_dir, run_train_data, timestamp, writable_folder
from .plan import dev_split
from .record import DataSource, RunRecord, write_record
from .scoring import HeldOut, estimates, save_held_out


def check_combinable(runs: list[TrainedRun]) -> None:
    """Distinct runs of one preset, trained on the same data and dev split; anything else is refused."""
    if len(runs) < 2:
        raise KaggleDigitsError("ensemble: name at least two run folders to combine")
    seen = set()
    for run in runs:
        key = run.path.resolve()
        if key in seen:
            raise KaggleDigitsError(f"{run.path}: named twice; each run counts once in an ensemble")
        seen.add(key)
    presets = sorted({run.record.preset for run in runs})
    if len(presets) > 1:
        raise KaggleDigitsError(f"ensemble: the runs mix presets ({', '.join(presets)}); combine runs of one preset")
    first = runs[0]
    for run in runs[1:]:
        if run.record.data.train_fingerprint != first.record.data.train_fingerprint:
            raise KaggleDigitsError(f"{run.path}: trained on other data than {first.path}; cannot combine")


def combine_runs(
    runs: list[TrainedRun],
    runs_root: str | os.PathLike[str] = "runs",
    submissions_dir: str | os.PathLike[str] = "submissions",
    views: int = 1,
) -> TrainOutcome:
    """An ensemble of runs trained on the same data and dev split; refuses runs whose splits differ."""
    check_combinable(runs)
    check_field("tta", views)
    submissions_dir = writable_folder(submissions_dir, "submissions", "submissions_dir")
    train = run_train_data(runs[0].record, runs[0].path.name, "its dev split cannot be rebuilt")
    _, dev_idx = dev_split(train, runs[0].record.config)
    for run in runs[1:]:
        if not np.array_equal(dev_split(train, run.record.config)[1], dev_idx):
            raise KaggleDigitsError(
                f"{run.path}: its dev split differs from {runs[0].path}'s (another seed or --dev-size); "
                "train members with `train --ensemble K`, or give each the same --split-seed and --dev-size"
            )
    networks = [net for run in runs for net in getattr(run.model, "networks", [run.model])]
    model = Ensemble(networks)
    test = load_test(runs[0].record.data.folder)
    test_labels = with_views(model, views).predict(test.features())  # (T,)
    first = runs[0].record
    run_dir = new_run_dir(runs_root, f"{timestamp()}-ensemble-{first.preset}-x{len(networks)}")
    record = RunRecord(
        name=run_dir.name,
        config=first.config.replace(tta=views),
        data=DataSource(**(first.data.__dict__ | {"test_fingerprint": test.fingerprint, "test_rows": len(test)})),
        members=len(networks),
        parameters=model.n_parameters,
        combined_from=[str(run.path) for run in runs],
        submissions_dir=str(submissions_dir),
    )
    if len(dev_idx):
        scored = HeldOut(dev_idx, with_views(model, views).predict_proba(train.features(dev_idx)))
        record.estimate, record.selected = estimates(record, scored, train.labels)
        save_held_out(run_dir, scored)
    write_record(run_dir, record)
    outcome = save_finished(run_dir, record, model, test_labels)
    return dataclasses.replace(outcome, warnings=twins(runs))


def twins(runs: list[TrainedRun]) -> tuple[str, ...]:
    """Runs trained alike (configuration with seed, data, members, folds): bit for bit the same weights on the same
    thread count, and on another only rounding apart, so averaging them adds next to nothing."""
    seen: dict[tuple, TrainedRun] = {}
    found = []
    for run in runs:
        r = run.record
        key = (r.config, r.data.train_fingerprint, r.members, r.folds, tuple(r.combined_from))
        if key in seen:
            found.append(
                f"{run.path.name} and {seen[key].path.name} were trained alike (same configuration and seed): the "
                "same weights on the same thread count, rounding apart on another, so they count as one network; "
                "give members different --seed values"
            )
        seen.setdefault(key, run)
    return tuple(found)
