"""The Python face, for notebooks: everything the CLI does, one import away (`import kaggle_digits as kd`).

    run = kd.train("fast", data_dir="/kaggle/input/digit-recognizer", runs_dir="runs", folds=5)
    run.estimate, run.submission_path
    run.curves(); run.confusion(); run.misclassified(limit=16)   # matplotlib Figures, shown inline
    kd.runs()                                                     # every local run as a pandas DataFrame
    kd.ensemble([run_a, run_b], select=True).estimate             # blend finished runs

Settings are TrainConfig's fields by name (epochs=, learning_rate=, hidden_sizes=…); errors name them the same way.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from .competition.download import DownloadOutcome
from .competition.kaggle_api import COMPETITION, RemoteSubmission
from .errors import KaggleDigitsError
from .nn.network import with_views
from .pipeline.finish import TrainOutcome
from .places import DATA_DIR, RUNS_DIR, SUBMISSIONS_DIR
from .runfolder.folder import TrainedRun, read_record, resolve_run
from .runfolder.record import Estimate, RunRecord
from .search.report import StudyReport
from .training.config import TrainConfig
from .usecases import blending, inspecting, kaggle, training, tuning
from .usecases.blending import Blended

PathLike = str | os.PathLike[str]


class Run:
    """A finished run: its folder, record and estimate, its model to predict with, and its pictures."""

    def __init__(self, trained: TrainedRun):
        self._trained = trained

    @property
    def path(self) -> Path:
        return self._trained.path

    @property
    def record(self) -> RunRecord:
        return self._trained.record

    @property
    def estimate(self) -> Estimate | None:
        """The honest estimate of the Kaggle score (rows never trained or selected on), with its 95 % interval."""
        return self.record.estimate

    @property
    def submission_path(self) -> Path | None:
        return Path(self.record.submission) if self.record.submission else None

    def predict_proba(self, images: np.ndarray) -> np.ndarray:
        """Softmax (N, 10) of images given as Kaggle's pixels: (N, 784) or (N, 28, 28), 0–255 (or floats in 0–1)."""
        X = np.asarray(images)
        X = X.reshape(len(X), -1)  # (N, 784)
        if X.shape[1] != 784:
            raise KaggleDigitsError(f"images of {X.shape[1]} pixels; give 28x28 digits, (N, 784) or (N, 28, 28)")
        if X.dtype == np.uint8 or X.max(initial=0) > 1:
            X = X.astype(np.float32) / np.float32(255)
        return with_views(self._trained.model, self.record.tta).predict_proba(X.astype(np.float32))

    def predict(self, images: np.ndarray) -> np.ndarray:
        """The digit (N,) the run's model (and test-time views) gives each image."""
        return self.predict_proba(images).argmax(axis=1)

    def curves(self) -> Figure | None:
        """Loss and accuracy per epoch of every network (None for a combination of runs)."""
        return inspecting.curves_figure(self._trained)

    def confusion(self) -> Figure:
        """The confusion matrix on the run's held-out rows."""
        return inspecting.confusion_figure(self._trained)

    def misclassified(self, limit: int = 64, true_digit: int | None = None, predicted_digit: int | None = None):
        """The most confident held-out mistakes as a grid of digits."""
        return inspecting.mistakes_figure(self._trained, limit, true_digit, predicted_digit)

    def why(self, limit: int = 16, true_digit: int | None = None, predicted_digit: int | None = None) -> Figure:
        """The mistakes beside maps of the pixels that pushed each to the wrong digit (gradient, occlusion)."""
        return inspecting.mistakes_figure(self._trained, limit, true_digit, predicted_digit, why=True)

    def __repr__(self) -> str:
        figure = self.estimate.text() if self.estimate else "no estimate"
        return f"<kaggle_digits.Run {self.path.name}: {self.record.preset}, {figure}>"


def train(
    preset: str = "mlp",
    *,
    data_dir: PathLike | None = None,
    sample: bool = False,
    runs_dir: PathLike = RUNS_DIR,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
    folds: int = 0,
    ensemble: int | None = None,
    estimate_from: PathLike | None = None,
    jobs: int = 0,
    cluster: str | None = None,
    name: str = "",
    note: str = "",
    quiet: bool = False,
    **settings: Any,
) -> Run:
    """Train a preset (with any TrainConfig field changed by name) exactly as `kaggle-digits train` does."""
    request = training.train_request(
        preset,
        training.data_source(sample, data_dir),
        runs_dir=runs_dir,
        submissions_dir=submissions_dir,
        ensemble=ensemble,
        folds=folds,
        estimate_from=estimate_from,
        jobs=jobs,
        cluster=cluster,
        name=name,
        note=note,
        **settings,
    )
    job = functools.partial(training.train, request)
    return _with_progress(job, request.config, request.folds, request.networks, quiet)


def ensemble(
    runs: list[PathLike],
    *,
    select: bool = False,
    dry_run: bool = False,
    name: str | None = None,
    runs_dir: PathLike = RUNS_DIR,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
) -> Blended:
    """Blend finished runs exactly as `kaggle-digits ensemble` does: `.estimate`, `.weights`, `.outcome` (None for a
    dry run)."""
    return blending.ensemble(list(runs), runs_dir, submissions_dir, select=select, dry_run=dry_run, name=name)


def resume(run: PathLike, quiet: bool = False, jobs: int | None = None, cluster: str | None = None) -> Run:
    """Continue an interrupted or killed run with its own settings, to the same weights as a run never stopped."""
    record = training.stopped_run(run)
    job = functools.partial(training.resume, run, jobs, cluster=cluster)
    return _with_progress(job, record.config, record.folds, record.networks, quiet)


def _with_progress(job, config: TrainConfig, folds: int, networks: int, quiet: bool) -> Run:
    """Run a train job with the live display (a terminal's, or a notebook's), or silently."""
    if quiet:
        outcome: TrainOutcome = job(None, None)
    else:
        from .progress import ToolConsole, TrainingProgress  # rendering only; the library stays silent

        with TrainingProgress(ToolConsole(), config, folds, networks) as progress:
            outcome = job(progress, progress.stage)
    return load_run(outcome.run_dir)


def tune(
    preset: str = "fast",
    trials: int = 20,
    *,
    data_dir: PathLike | None = None,
    sample: bool = False,
    study: str | None = None,
    storage: str | None = None,
    params: dict[str, Any] | None = None,
    pruner: str = "median",
    runs_dir: PathLike = RUNS_DIR,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
) -> StudyReport:
    """Search a preset's knobs exactly as `kaggle-digits tune` does (`params` fixes knobs: {"epochs": 2}); returns
    the study's report: `.rows`, `.importances`, `.best` (a selected maximum, not an estimate)."""
    fixed = [f"{name}={value}" for name, value in (params or {}).items()]
    tuned = tuning.tune(preset, training.data_source(sample, data_dir), trials, study=study, storage=storage,
                        params=fixed, pruner=pruner, runs_dir=runs_dir, submissions_dir=submissions_dir)  # fmt: skip
    return tuned.report


def study(name: str, storage: str | None = None, runs_dir: PathLike = RUNS_DIR) -> StudyReport:
    """A study's report as `tune --show` gives it (its two PNGs drawn into `runs_dir`)."""
    return tuning.show(name, None, storage, runs_dir)


def load_record(run: PathLike) -> RunRecord:
    """The record of a run folder, finished or not."""
    return read_record(resolve_run(run))


def load_run(path: PathLike | None = None, runs_dir: PathLike = RUNS_DIR) -> Run:
    """A finished run by its folder (or its name under `runs_dir`); the newest finished one when none is given."""
    return Run(inspecting.finished_run(path, runs_dir))


def runs(runs_dir: PathLike = RUNS_DIR, sort: str = "newest") -> pd.DataFrame:
    """Every local run, one row each: what `kaggle-digits runs` shows, as data."""
    rows = []
    for row in inspecting.runs(runs_dir, sort):
        r = row.record
        estimate = r.estimate if r else None
        rows.append(
            {
                "run": row.path.name,
                "status": row.status,
                "preset": ("blend" if r.is_blend else r.preset) if r else None,
                "data": r.data.source if r else None,
                "folds": r.folds if r else None,
                "members": r.members if r else None,
                "tta": r.tta if r else None,
                "epochs_done": r.epochs_done if r else None,
                "epochs_planned": r.epochs_planned if r else None,
                "estimate": estimate.accuracy if estimate else np.nan,
                "ci95_low": estimate.ci95[0] if estimate else np.nan,
                "ci95_high": estimate.ci95[1] if estimate else np.nan,
                "public_score": float(row.public_score) if _is_number(row.public_score) else np.nan,
                "minutes": r.timings.get("total_s", np.nan) / 60 if r else np.nan,
                "submission": r.submission if r else None,
                "note": r.note if r else row.reason,
                "study": r.study if r else None,
                "trial": r.trial if r else None,
                "path": str(row.path),
            }
        )
    return pd.DataFrame(rows, columns=None if rows else ["run", "status", "preset", "estimate", "path"])


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def download(data_dir: PathLike = DATA_DIR, competition: str = COMPETITION, force: bool = False) -> DownloadOutcome:
    """The competition files through the official Kaggle client, checked and extracted atomically."""
    return kaggle.download(data_dir, competition, force=force)


def submit(
    run_or_file: Run | PathLike | None,
    message: str = "",
    *,
    wait: bool = True,
    timeout: float = 600.0,
    data_dir: PathLike = DATA_DIR,
    runs_dir: PathLike = RUNS_DIR,
    competition: str = COMPETITION,
    force: bool = False,
) -> RemoteSubmission | int:
    """Check a run's CSV (or a file) against test.csv and upload it; with `wait`, the scored submission, else its
    reference number."""
    target = run_or_file.path if isinstance(run_or_file, Run) else run_or_file
    plan = kaggle.submission_plan(target, data_dir, runs_dir, force=force)
    client, _ = kaggle.client(competition)
    sent = kaggle.send(plan, client, message)
    return kaggle.score(client, sent.ref, timeout=timeout) if wait else sent.ref
