"""The end of a run: combine its networks, score them, predict test.csv, and write the submission it owns, its model,
its curves and its finished record; and predictions from a saved model."""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import Digits, load_test
from ..errors import ConfigError
from ..files import sha256_file
from ..nn.network import Ensemble, Model, Network, with_views
from ..nn.serialize import load_model, save_model
from ..runfolder.critical import critical_section
from ..runfolder.folder import MODEL_FILE, HeldOut, remove_leftovers, save_held_out, save_test_softmax, write_record
from ..runfolder.record import RunRecord
from ..submission import write_submission
from ..training.config import check_field
from .curves import run_curves
from .plan import Part
from .predictions import combined_held_out, combined_test, part_predictions
from .scoring import estimates

Stage = Callable[[str], None]


@dataclass(frozen=True)
class TrainOutcome:
    """A finished run: its folder, its record, and where its model and submission went."""

    run_dir: Path
    record: RunRecord
    warnings: tuple[str, ...] = ()

    @property
    def model_path(self) -> Path:
        return self.run_dir / MODEL_FILE

    @property
    def submission_path(self) -> Path:
        return Path(self.record.submission or "")


@dataclass
class Clock:
    """Wall-clock marks of a run's phases."""

    started: float = field(default_factory=time.perf_counter)
    marks: dict[str, float] = field(default_factory=dict)
    earlier_s: float = 0.0  # wall time of the run's earlier sessions (stopped, then resumed)
    sessions: int = 1

    def so_far(self) -> dict[str, float]:
        """What a stopped session leaves in the record: every session's wall time so far."""
        return {"earlier_s": round(self.earlier_s + time.perf_counter() - self.started, 3), "sessions": self.sessions}

    def mark(self, phase: str) -> None:
        self.marks[phase] = time.perf_counter()

    def timings(self, samples_per_s: float, train_s: float) -> dict[str, float]:
        """Phase times of this process; `train_s` (the networks' own training time) and `total_s` (the whole
        command's) count every session of a stopped and resumed run."""
        m = self.marks
        return {
            "load_s": round(m["loaded"] - self.started, 3),
            "train_s": round(train_s, 3),
            "train_wall_s": round(m["trained"] - m["loaded"], 3),
            "predict_s": round(m["predicted"] - m["trained"], 3),
            "samples_per_s": round(samples_per_s, 1),
            "total_s": round(self.earlier_s + time.perf_counter() - self.started, 3),
            "sessions": self.sessions,
        }


def submissions_folder(record: RunRecord) -> Path:
    """Where the run's CSV goes (records before 0.2 named the file from the start)."""
    return Path(record.submissions_dir or Path(record.submission or "submissions/x").parent)


def finish(
    run_dir: Path,
    record: RunRecord,
    networks: list[Network],
    train: Digits,
    test: Digits,
    parts: list[Part],
    clock: Clock,
    stage: Stage,
) -> TrainOutcome:
    """Combine the parts, score them, predict test.csv, and write submission, model, curves and record.

    Networks trained in worker processes have predicted there already (`predictions<i>.npz`); the rest predict here.
    """
    model: Model = networks[0] if len(networks) == 1 else Ensemble(networks)
    stage("Predicting test.csv")
    predicted = [
        part_predictions(run_dir, part, network, train, test, record.tta)
        for part, network in zip(parts, networks, strict=True)
    ]
    scored = combined_held_out(parts, predicted)
    if record.tta > 1 and len(scored.rows) and all(p.held_out_one_view is not None for p in predicted):
        plain = combined_held_out(parts, predicted, one_view=True)
        record.views_gain = {
            "views": record.tta,
            "rows": len(scored.rows),
            "correct": scored.correct(train.labels),
            "correct_one_view": plain.correct(train.labels),
        }
    record.estimate, record.selected = estimates(record, scored, train.labels, parts)
    record.estimate = record.estimate or record.borrowed_estimate
    if record.folds:
        record.fold_accuracies = fold_accuracies(scored, parts, train.labels)
    save_held_out(run_dir, scored)
    test_proba = combined_test(predicted)  # (T, 10)
    save_test_softmax(run_dir, test_proba, test.fingerprint)
    test_labels = test_proba.argmax(axis=1)  # (T,)
    clock.mark("predicted")
    record.data = dataclasses.replace(record.data, test_fingerprint=test.fingerprint, test_rows=len(test))
    record.parameters = model.n_parameters
    speeds = [p.samples_per_s for p in record.parts]
    record.timings = clock.timings(float(np.mean(speeds)) if speeds else 0.0, sum(p.seconds for p in record.parts))
    return save_finished(run_dir, record, model, test_labels)


def fold_accuracies(scored: HeldOut, parts: list[Part], labels: np.ndarray) -> list[float]:
    """Each fold's accuracy on its own held-out rows."""
    fold_of = np.full(len(labels), -1)
    for part in parts:
        fold_of[part.held_out_idx] = part.fold
    hits = scored.hits(labels)  # (N,)
    folds = fold_of[scored.rows]
    return [round(float(hits[folds == k].mean()), 6) for k in range(max(folds) + 1)]


def claim_submission(record: RunRecord, test_labels: np.ndarray) -> None:
    """Write the run's CSV under a name no other file has (never replacing another run's), and record its hash."""
    folder = submissions_folder(record)
    for n in range(1, 1000):
        path = folder / (f"{record.name}.csv" if n == 1 else f"{record.name}-{n}.csv")
        try:
            write_submission(path, test_labels, record.data.test_rows, exclusive=True)
        except FileExistsError:
            continue
        record.submission, record.submission_sha256 = str(path), sha256_file(path)
        return
    raise ConfigError({"name": record.name}, f"{folder} holds too many submissions of that name; choose another")


def save_finished(run_dir: Path, record: RunRecord, model: Model, test_labels: np.ndarray) -> TrainOutcome:
    """Write submission, model.npz and curves.png, then mark the record finished and drop the part files; a stop
    signal meanwhile waits, so a CSV never exists without the finished record that owns it."""
    with critical_section():
        claim_submission(record, test_labels)
        meta = {
            "run": run_dir.name,
            "tta": record.tta,
            "estimate": record.estimate.accuracy if record.estimate else None,
        }
        save_model(run_dir / MODEL_FILE, model, {"config": record.config.to_dict(), "meta": meta})
        run_curves(run_dir, record)
        record.status = "finished"
        record.finished_at = time.time()
        write_record(run_dir, record)
        remove_leftovers(run_dir)
    return TrainOutcome(run_dir, record)


def predict_run(
    model_path: str | os.PathLike[str],
    data_dir: str | os.PathLike[str],
    out: str | os.PathLike[str],
    views: int | None = None,
) -> tuple[Path, np.ndarray]:
    """Write a submission for `data_dir`/test.csv from a saved model (with its run's test-time views unless
    `views` is given); returns the path and the labels."""
    if views is not None:
        check_field("tta", views)
    model, info = load_model(model_path)
    views = views or info.get("meta", {}).get("tta", 1)
    test = load_test(data_dir)
    labels = with_views(model, views).predict(test.features())  # (T,)
    return write_submission(out, labels, len(test)), labels
