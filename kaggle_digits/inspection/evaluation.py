"""What a saved run gets wrong on its held-out rows: predictions, confusion matrix, per-class scores, mistakes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..constants import N_CLASSES
from ..errors import ConfigError, KaggleDigitsError
from ..files import atomic_write_text
from ..pipeline.curves import held_out_name, run_curves
from ..pipeline.plan import dev_split
from ..plots import confusion_figure, misclassified_figure, save_figure
from ..runfolder.folder import (
    CONFUSION_FILE,
    EVALUATION_FILE,
    HeldOut,
    TrainedRun,
    load_held_out,
    mistakes_picture_file,
    run_train_data,
)


@dataclass(frozen=True)
class DevPredictions:
    """A run's model applied to its own dev split."""

    images: np.ndarray  # (M, 784) uint8
    labels: np.ndarray  # (M,)
    proba: np.ndarray  # (M, 10)
    row_ids: np.ndarray  # (M,) 1-based data rows of train.csv

    @property
    def predicted(self) -> np.ndarray:
        return self.proba.argmax(axis=1)

    @property
    def accuracy(self) -> float:
        return float((self.predicted == self.labels).mean())


@dataclass(frozen=True)
class ClassReport:
    """Precision, recall and F1 per digit, with the number of dev images of that digit."""

    precision: np.ndarray  # (10,)
    recall: np.ndarray  # (10,)
    f1: np.ndarray  # (10,)
    support: np.ndarray  # (10,)


def dev_predictions(run: TrainedRun) -> DevPredictions:
    """The run's held-out rows (dev split or out-of-fold) with the probabilities its estimate counted."""
    train = run_train_data(run.record, run.path.name, "its held-out rows cannot be rebuilt")
    scored = load_held_out(run.path, len(train))
    if scored is None:  # a run from before held-out predictions were kept: rebuild its dev split and predict it
        _, dev_idx = dev_split(train, run.record.config)
        scored = HeldOut(dev_idx, run.model.predict_proba(train.features(dev_idx)))  # (M, 10)
    if len(scored.rows) == 0:
        raise KaggleDigitsError(f"{run.path}: trained on every row (dev_size 0); it has no held-out rows to examine")
    rows = scored.rows
    return DevPredictions(train.images[rows], train.labels[rows], scored.proba, rows + 1)


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """counts[t, p]: dev images of digit t predicted as p."""
    counts = np.zeros((N_CLASSES, N_CLASSES), dtype=np.int64)
    np.add.at(counts, (labels, predicted), 1)
    return counts


def class_report(counts: np.ndarray) -> ClassReport:
    """Per-class precision, recall and F1 from a confusion matrix (0 where a class is never predicted)."""
    hits = np.diag(counts).astype(np.float64)  # (10,)
    predicted, support = counts.sum(axis=0), counts.sum(axis=1)  # (10,), (10,)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
    total = precision + recall
    f1 = np.divide(2 * precision * recall, total, out=np.zeros_like(hits), where=total > 0)
    return ClassReport(precision, recall, f1, support)


def top_confusions(counts: np.ndarray, k: int = 10) -> list[tuple[int, int, int]]:
    """The k most frequent (true, predicted, count) mistakes, most frequent first."""
    off = counts.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(-off, axis=None, kind="stable")[:k]
    pairs = [(int(t), int(p), int(off[t, p])) for t, p in zip(*np.unravel_index(order, off.shape), strict=True)]
    return [pair for pair in pairs if pair[2] > 0]


def mistakes(preds: DevPredictions, true_digit: int | None = None, predicted_digit: int | None = None) -> np.ndarray:
    """Indices of misclassified dev images, most confident mistakes first, optionally of one true/predicted digit."""
    predicted = preds.predicted
    wrong = predicted != preds.labels
    if true_digit is not None:
        wrong &= preds.labels == true_digit
    if predicted_digit is not None:
        wrong &= predicted == predicted_digit
    index = np.flatnonzero(wrong)
    confidence = preds.proba[index, predicted[index]]  # (W,)
    return index[np.argsort(-confidence, kind="stable")]


@dataclass(frozen=True)
class Mistakes:
    """A run's most confident held-out mistakes, ready to draw, and the counts behind them."""

    images: np.ndarray  # (S, 784) uint8, the mistakes shown
    labels: np.ndarray  # (S,) their true digits
    predicted: np.ndarray  # (S,) what the model said
    train_rows: np.ndarray  # (S,) their 0-based rows in train.csv
    titles: list[str]  # `true → predicted (confidence)` and the row in train.csv, one per image
    heading: str
    matching: int  # mistakes passing the true/predicted filters
    total_wrong: int
    rows: int  # held-out rows looked at
    confusions: list[tuple[int, int, int]]

    def figure(self) -> Figure:
        return misclassified_figure(self.images, self.titles, self.heading)


def find_mistakes(
    run: TrainedRun, limit: int = 64, true_digit: int | None = None, predicted_digit: int | None = None
) -> Mistakes:
    """The most confident held-out mistakes (optionally of one true or predicted digit), at most `limit`."""
    for name, digit in (("true_digit", true_digit), ("predicted_digit", predicted_digit)):
        if digit is not None and not 0 <= digit <= 9:
            raise ConfigError({name: digit}, "a digit is 0–9")
    if limit < 1:
        raise ConfigError({"limit": limit}, "show at least 1 image")
    preds = dev_predictions(run)
    counts = confusion_matrix(preds.labels, preds.predicted)
    matching = mistakes(preds, true_digit, predicted_digit)
    shown = matching[:limit]
    predicted = preds.predicted
    titles = [
        f"{preds.labels[i]} → {predicted[i]} ({preds.proba[i, predicted[i]]:.0%})\nrow {preds.row_ids[i]}"
        for i in shown
    ]
    what = "" if true_digit is None and predicted_digit is None else " matching the filter"
    total_wrong = int((predicted != preds.labels).sum())
    heading = (
        f"{run.path.name}: {len(shown):,} of {len(matching):,} misclassified {held_out_name(run.record)} images{what} "
        f"({total_wrong:,} wrong of {len(preds.labels):,}), most confident first"
    )
    return Mistakes(
        preds.images[shown],
        preds.labels[shown],
        predicted[shown],
        preds.row_ids[shown] - 1,
        titles,
        heading,
        len(matching),
        total_wrong,
        len(preds.labels),
        top_confusions(counts),
    )


@dataclass(frozen=True)
class MisclassifiedOutcome:
    """The picture of a run's mistakes and the numbers behind it."""

    path: Path
    shown: int
    matching: int  # mistakes passing the --true/--pred filters
    total_wrong: int
    dev_size: int
    confusions: list[tuple[int, int, int]]


def misclassified_picture(
    run: TrainedRun,
    limit: int = 64,
    true_digit: int | None = None,
    predicted_digit: int | None = None,
    out: Path | None = None,
) -> MisclassifiedOutcome:
    """Save a grid of the most confident held-out mistakes (see `find_mistakes`) as a PNG."""
    found = find_mistakes(run, limit, true_digit, predicted_digit)
    suffix = "".join(f"-{n}{d}" for n, d in (("true", true_digit), ("pred", predicted_digit)) if d is not None)
    path = out or mistakes_picture_file(run.path, suffix)
    if len(found.images):
        save_figure(found.figure(), path)
    return MisclassifiedOutcome(
        path, len(found.images), found.matching, found.total_wrong, found.rows, found.confusions
    )


def confusion_picture(run: TrainedRun, preds: DevPredictions | None = None) -> Figure:
    """The run's confusion matrix on its held-out rows, as a figure."""
    preds = preds or dev_predictions(run)
    rows = held_out_name(run.record)
    heading = f"{run.path.name}: {rows} accuracy {preds.accuracy:.4f}"
    return confusion_figure(confusion_matrix(preds.labels, preds.predicted), heading, rows)


@dataclass(frozen=True)
class EvaluationOutcome:
    """Dev accuracy, confusion matrix and per-class scores, and where the pictures went."""

    accuracy: float
    counts: np.ndarray
    report: ClassReport
    confusion_path: Path
    curves_path: Path | None
    json_path: Path


def evaluate_run(run: TrainedRun) -> EvaluationOutcome:
    """Score a run on its dev split; write confusion.png, curves.png and evaluation.json beside its model."""
    preds = dev_predictions(run)
    counts = confusion_matrix(preds.labels, preds.predicted)
    report = class_report(counts)
    rows = held_out_name(run.record)
    confusion_path = save_figure(confusion_picture(run, preds), run.path / CONFUSION_FILE)
    curves_path = run_curves(run.path, run.record)
    summary = {
        "held_out": rows,
        "accuracy": preds.accuracy,
        "dev_accuracy": preds.accuracy,  # the name before out-of-fold runs; kept for scripts that read it
        "confusion_matrix": counts.tolist(),
        "per_class": {
            str(d): {
                "precision": report.precision[d],
                "recall": report.recall[d],
                "f1": report.f1[d],
                "support": int(report.support[d]),
            }
            for d in range(N_CLASSES)
        },
    }
    json_path = run.path / EVALUATION_FILE
    atomic_write_text(json_path, json.dumps(summary, indent=2) + "\n")
    return EvaluationOutcome(preds.accuracy, counts, report, confusion_path, curves_path, json_path)
