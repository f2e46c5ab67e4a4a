"""Look at runs: the runs table, a finished run found by name, its evaluation, its mistakes and why they were misread,
one digit, its predictions for another test.csv, and photos of handwritten digits read by it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..inspection.evaluation import (
    EvaluationOutcome,
    MisclassifiedOutcome,
    confusion_picture,
    evaluate_run,
    find_mistakes,
    misclassified_picture,
)
from ..inspection.explain import WHY_LIMIT, Explained, explain_mistakes, why_digit, why_picture
from ..inspection.listing import RunRow, list_runs
from ..inspection.own_digits import ReadDigit, read_digits
from ..inspection.show import ShownDigit, digit_with_prediction
from ..pipeline.curves import run_curves_figure
from ..pipeline.finish import predict_run
from ..places import RUNS_DIR, SUBMISSIONS_DIR
from ..runfolder.folder import MODEL_FILE, TrainedRun, load_run, resolve_run, why_picture_file
from ..runfolder.record import DataSource

PathLike = str | os.PathLike[str]
MISTAKES_LIMIT = 64  # digits in a grid of mistakes (WHY_LIMIT with their maps)


def finished_run(run: PathLike | None = None, runs_dir: PathLike = RUNS_DIR, model: bool = True) -> TrainedRun:
    """A finished run by its folder or its name under `runs_dir`; the newest finished one when none is named.
    Without `model`, a blend too: what looks only at held-out rows (evaluate, mistakes) needs no model."""
    return load_run(resolve_run(run, runs_dir), model=model)


def runs(runs_dir: PathLike = RUNS_DIR, sort: str = "newest") -> list[RunRow]:
    """Every run under `runs_dir` (unreadable ones with the reason), newest first or by estimate."""
    return list_runs(Path(runs_dir), sort)


def evaluate(run: TrainedRun) -> EvaluationOutcome:
    """Per-class scores on the held-out rows; confusion matrix, curves and evaluation.json in the run folder."""
    return evaluate_run(run)


def mistakes(
    run: TrainedRun,
    limit: int | None = None,
    true_digit: int | None = None,
    predicted_digit: int | None = None,
    out: Path | None = None,
    why: bool = False,
) -> tuple[MisclassifiedOutcome, Explained | None]:
    """The most confident held-out mistakes drawn as a grid; with `why`, beside the maps of why each was misread."""
    which = {"true_digit": true_digit, "predicted_digit": predicted_digit, "out": out}
    if why:
        return why_picture(run, limit=limit or WHY_LIMIT, **which)
    return misclassified_picture(run, limit=limit or MISTAKES_LIMIT, **which), None


def curves_figure(run: TrainedRun) -> Figure | None:
    """The run's learning curves (None for a combination of runs)."""
    return run_curves_figure(run.path, run.record)


def confusion_figure(run: TrainedRun) -> Figure:
    """The confusion matrix on the run's held-out rows."""
    return confusion_picture(run)


def mistakes_figure(
    run: TrainedRun, limit: int, true_digit: int | None, predicted_digit: int | None, why: bool = False
) -> Figure:
    """The most confident held-out mistakes as a figure; with `why`, beside the maps of why each was misread."""
    if why:
        return explain_mistakes(run, limit, true_digit, predicted_digit).figure()
    return find_mistakes(run, limit, true_digit, predicted_digit).figure()


def digit(
    image_id: int, from_train: bool, source: DataSource | None, run: PathLike | None, runs_dir: PathLike = RUNS_DIR
) -> ShownDigit:
    """One digit of test.csv (or train.csv) with the run's probabilities, when a finished run exists."""
    return digit_with_prediction(image_id, from_train=from_train, source=source, run=run, runs_root=runs_dir)


def explain_digit(found: ShownDigit, from_train: bool, image_id: int) -> tuple[Path, Explained]:
    """The maps of the pixels behind one digit's reading, written in its run's folder."""
    out = why_picture_file(found.run.path, f"{'train' if from_train else 'test'}-{image_id}")
    return out, why_digit(found.run, found.image, found.caption, out, found.label)


def predict(
    run: TrainedRun,
    source: DataSource | None = None,
    out: PathLike | None = None,
    views: int | None = None,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
) -> tuple[Path, np.ndarray]:
    """A submission CSV for test.csv of `source` (default: the run's own data) from the run's saved model."""
    folder = source.folder if source is not None else run.record.data.folder
    tag = f"-tta{views}" if views is not None else ""
    target = Path(out) if out is not None else Path(submissions_dir) / f"{run.path.name}-predict{tag}.csv"
    return predict_run(run.path / MODEL_FILE, folder, target, views=views)


def read_pictures(run: TrainedRun, files: list[Path], why: bool = False) -> tuple[list[ReadDigit], list[str]]:
    """Photos or scans of handwritten digits, each prepared as MNIST and read by the run; and the files that could
    not be read, one line each."""
    return read_digits(run, files, why=why)
