"""Each network's softmax on its held-out rows and on test.csv, computed where it trained and kept beside it.

A worker that trained a network predicts with it straight away, on its own share of the cores, so a run's
prediction runs side by side like its training instead of in one process at the end. The run then averages these
per-network probabilities: held-out rows over the networks of their split or fold (the estimate), test.csv over
every network (the submission) — the same sums, in the same order, as `with_views(model).predict_proba`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..constants import N_CLASSES
from ..data import Digits
from ..nn.network import Network, with_views
from ..runfolder.folder import HeldOut, PartPredictions, predictions_file, read_part_predictions, save_part_predictions
from .plan import Part


def part_predictions(
    run_dir: Path, part: Part, network: Network, train: Digits, test: Digits, views: int
) -> PartPredictions:
    """The part's kept predictions when they match these files, else computed now and kept."""
    path = predictions_file(run_dir, part.index)
    kept = read_part_predictions(path, len(part.held_out_idx), len(test), test.fingerprint)
    if kept is not None:
        return kept
    model = with_views(network, views)
    rows = part.held_out_idx
    held = model.predict_proba(train.features(rows)) if len(rows) else np.zeros((0, N_CLASSES), np.float32)  # (M, 10)
    plain = network.predict_proba(train.features(rows)) if views > 1 and len(rows) else held  # (M, 10)
    predicted = PartPredictions(
        held.astype(np.float32), model.predict_proba(test.features()).astype(np.float32), plain.astype(np.float32)
    )
    save_part_predictions(path, predicted, test.fingerprint)
    return predicted


def combined_held_out(parts: list[Part], predictions: list[PartPredictions], one_view: bool = False) -> HeldOut:
    """Each held-out row's softmax averaged over the networks of its dev split or fold, rows in train.csv order
    (with `one_view`, each network's softmax of the image alone)."""
    if one_view:
        predictions = [PartPredictions(p.held_out_one_view, p.test) for p in predictions]
    groups: dict[int, list[PartPredictions]] = {}
    for part, predicted in zip(parts, predictions, strict=True):
        groups.setdefault(part.fold, []).append(predicted)
    rows, probas = [], []
    for fold, members in sorted(groups.items()):
        held_out_idx = next(p.held_out_idx for p in parts if p.fold == fold)
        if len(held_out_idx):
            rows.append(held_out_idx)
            probas.append(np.mean([m.held_out for m in members], axis=0))  # (M_k, 10)
    if not rows:
        return HeldOut(np.zeros(0, np.int64), np.zeros((0, N_CLASSES), np.float32))
    rows_all = np.concatenate(rows)
    order = np.argsort(rows_all, kind="stable")
    return HeldOut(rows_all[order], np.concatenate(probas)[order].astype(np.float32))


def combined_test(predictions: list[PartPredictions]) -> np.ndarray:
    """test.csv's softmax averaged over every network of the run."""
    return np.mean([p.test for p in predictions], axis=0)  # (T, 10)
