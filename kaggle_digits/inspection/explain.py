"""Why a run reads a digit as it does: saliency and occlusion maps of its mistakes, or of any digit, as a picture."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from ..nn.attribution import occlusion, saliency
from ..nn.network import Classifier, Ensemble
from ..pipeline.plan import fold_ids
from ..plots import attribution_figure, save_figure
from ..runfolder.folder import TrainedRun, mistakes_picture_file, run_train_data
from .evaluation import MisclassifiedOutcome, Mistakes, find_mistakes

WHY_LIMIT = 16  # mistakes explained when no --limit is given: three panels each
KEY = "red: pixels pushing towards the predicted digit · blue: towards the other"


@dataclass(frozen=True)
class Explained:
    """Digits with the margin they were judged on and its two maps."""

    images: np.ndarray  # (N, 784) uint8
    titles: list[str]
    heading: str
    saliency: np.ndarray  # (N, 784)
    occlusion: np.ndarray  # (N, 784)
    seconds: float

    def figure(self) -> Figure:
        maps = [("gradient\n(SmoothGrad)", self.saliency), ("occlusion\n4x4 patch", self.occlusion)]
        return attribution_figure(self.images, maps, self.titles, self.heading)


def explain(
    model: Classifier | list[Classifier],
    images: np.ndarray,
    towards: np.ndarray,
    away: np.ndarray,
    titles: list[str],
    heading: str,
) -> Explained:
    """Both maps of the margin logit[towards] − logit[away] for each image (N, 784) uint8; `model` may be one per
    image (a folds run explains each row by the networks that never trained on it)."""
    started = time.perf_counter()
    X = images.astype(np.float32) * np.float32(1 / 255)  # (N, 784)
    models = model if isinstance(model, list) else [model] * len(images)
    grads, drops = np.zeros(X.shape, np.float32), np.zeros(X.shape, np.float32)  # (N, 784) each
    for each in {id(m): m for m in models}.values():
        rows = np.array([i for i, m in enumerate(models) if m is each])
        grads[rows] = saliency(each, X[rows], towards[rows], away[rows])
        drops[rows] = occlusion(each, X[rows], towards[rows], away[rows])
    return Explained(images, titles, heading, grads, drops, time.perf_counter() - started)


def held_out_models(run: TrainedRun, train_rows: np.ndarray) -> list[Classifier]:
    """For each held-out row, the model that never trained on it: the run's own for a dev split, its fold's
    networks for a folds run (the fold networks are the model's members, fold by fold)."""
    if not run.record.folds:
        return [run.model] * len(train_rows)
    train = run_train_data(run.record, run.path.name, "its folds cannot be rebuilt")
    fold_of = fold_ids(train, run.record.config, run.record.folds)  # (42000,)
    networks = run.model.networks if isinstance(run.model, Ensemble) else [run.model]
    per_fold = len(networks) // run.record.folds
    by_fold = [networks[k * per_fold : (k + 1) * per_fold] for k in range(run.record.folds)]
    models = [group[0] if len(group) == 1 else Ensemble(group) for group in by_fold]
    return [models[fold_of[row]] for row in train_rows]


def explain_mistakes(
    run: TrainedRun, limit: int = WHY_LIMIT, true_digit: int | None = None, predicted_digit: int | None = None
) -> Explained:
    """The run's most confident held-out mistakes, each with what pushed it from the true digit to the one it said."""
    return explain_found(run, find_mistakes(run, limit, true_digit, predicted_digit))


def explain_found(run: TrainedRun, found: Mistakes) -> Explained:
    """Maps of mistakes already found, each by the networks that never trained on its row."""
    models = held_out_models(run, found.train_rows)
    return explain(models, found.images, found.predicted, found.labels, found.titles, f"{found.heading} — {KEY}")


def why_picture(
    run: TrainedRun,
    limit: int = WHY_LIMIT,
    true_digit: int | None = None,
    predicted_digit: int | None = None,
    out: Path | None = None,
) -> tuple[MisclassifiedOutcome, Explained]:
    """`misclassified --why`: the mistakes with their maps, saved as `misclassified-why[-true…][-pred…].png`."""
    found = find_mistakes(run, limit, true_digit, predicted_digit)
    explained = explain_found(run, found)
    suffix = "".join(f"-{n}{d}" for n, d in (("true", true_digit), ("pred", predicted_digit)) if d is not None)
    path = out or mistakes_picture_file(run.path, suffix, why=True)
    if len(found.images):
        save_figure(explained.figure(), path)
    outcome = MisclassifiedOutcome(
        path, len(found.images), found.matching, found.total_wrong, found.rows, found.confusions
    )
    return outcome, explained


def runner_up(proba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(most likely, second most likely) class of each row of probabilities (N, 10)."""
    order = np.argsort(-proba, axis=1, kind="stable")  # (N, 10)
    return order[:, 0], order[:, 1]


def explain_digits(
    model: Classifier, images: np.ndarray, names: list[str], heading: str, labels: np.ndarray | None = None
) -> Explained:
    """Any digits (N, 784) uint8: the predicted digit against the true one when it is known and differs, else
    against the runner-up."""
    proba = model.predict_proba(images.astype(np.float32) * np.float32(1 / 255))  # (N, 10)
    best, second = runner_up(proba)
    away = second if labels is None else np.where(labels != best, labels, second)
    titles = [
        f"{name}\n{best[i]} ({proba[i, best[i]]:.0%}) vs {away[i]} ({proba[i, away[i]]:.0%})"
        for i, name in enumerate(names)
    ]
    return explain(model, images, best, away, titles, f"{heading} — {KEY}")


def why_digit(run: TrainedRun, image: np.ndarray, name: str, out: Path, label: int | None = None) -> Explained:
    """One digit (784,) uint8 with its maps, saved to `out`: what `show --why` and `predict-image --why` draw."""
    labels = None if label is None else np.array([label])
    explained = explain_digits(run.model, image[None], [name], f"{run.path.name}", labels)
    save_figure(explained.figure(), out)
    return explained
