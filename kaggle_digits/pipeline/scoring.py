"""A run's held-out predictions and the honest estimate made from them.

Dev-split runs are scored on their dev rows; k-fold runs on every row, each by the networks that never saw its fold
(out-of-fold). The probabilities are kept beside the model (`heldout.npz`), so `evaluate` and `misclassified` look
at exactly what the estimate counted.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KaggleDigitsError
from ..files import atomic_path
from ..runfolder.record import Estimate, RunRecord
from .plan import Part

HELDOUT_FILE = "heldout.npz"
TEST_SOFTMAX_FILE = "test_softmax.npz"


@dataclass(frozen=True)
class HeldOut:
    """Softmax of held-out rows of train.csv, by the networks that did not train on them."""

    rows: np.ndarray  # (M,) 0-based rows of train.csv
    proba: np.ndarray  # (M, 10)

    def hits(self, labels: np.ndarray) -> np.ndarray:
        """Whether each held-out row is predicted right."""
        return self.proba.argmax(axis=1) == labels[self.rows]  # (M,)

    def correct(self, labels: np.ndarray) -> int:
        return int(self.hits(labels).sum())


def estimates(
    record: RunRecord, scored: HeldOut, labels: np.ndarray, parts: list[Part] | None = None
) -> tuple[Estimate | None, Estimate | None]:
    """(estimate, selected). Kept last epochs: the held-out accuracy is the estimate. Kept best epochs: that
    accuracy was selected on the same rows, so it is `selected`, and the estimate is the last epochs' instead,
    counted from each network's last evaluation on its own held-out rows (one network per split, no test-time views).
    """
    n = len(scored.rows)
    if n == 0:
        return None, None
    views = f", {record.tta} test-time views" if record.tta > 1 else ""
    where = f"out-of-fold, {record.folds} folds" if record.folds else "dev split"
    correct = scored.correct(labels)
    if record.config.keep == "last":
        return Estimate.from_counts(correct, n, f"{where}, last epoch{views}"), None
    selected = Estimate.from_counts(correct, n, f"{where}, best epoch{views} (selected on these rows)")
    one_per_split = parts is not None and record.members == 1 and record.tta == 1
    if one_per_split and all(p.last_accuracy is not None for p in record.parts):
        last = sum(round(r.last_accuracy * len(p.held_out_idx)) for r, p in zip(record.parts, parts, strict=True))
        return Estimate.from_counts(last, n, f"{where}, last epoch"), selected
    return None, selected


def save_held_out(run_dir: Path, scored: HeldOut) -> None:
    with atomic_path(run_dir / HELDOUT_FILE) as tmp, tmp.open("wb") as handle:
        np.savez(handle, rows=scored.rows, proba=scored.proba)


def save_test_softmax(run_dir: Path, proba: np.ndarray, test_fingerprint: str) -> None:
    """Keep the run's softmax on test.csv (what its CSV is the argmax of), so blends need not predict again."""
    with atomic_path(run_dir / TEST_SOFTMAX_FILE) as tmp, tmp.open("wb") as handle:
        np.savez(handle, proba=proba.astype(np.float32), test_fingerprint=np.array(test_fingerprint))


def load_held_out(run_dir: Path, train_rows: int) -> HeldOut | None:
    """The held-out predictions a run kept (rows of a train.csv of `train_rows` rows), or None for runs written
    before they were kept; a damaged or edited file is a one-line error naming it."""
    path = run_dir / HELDOUT_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            scored = HeldOut(stored["rows"], stored["proba"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        why = "empty" if isinstance(exc, EOFError) else f"truncated or not an .npz file ({type(exc).__name__})"
        raise KaggleDigitsError(
            f"{path}: {why}; the run's held-out predictions are lost — train the run again to see them"
        ) from None
    if scored.rows.ndim != 1 or scored.proba.shape != (len(scored.rows), 10):
        raise KaggleDigitsError(f"{path}: arrays of the wrong shape; train the run again to see its held-out rows")
    rows, proba = scored.rows, scored.proba
    problem = (
        "row numbers that are not whole numbers" if not np.issubdtype(rows.dtype, np.integer)
        else f"row numbers outside 0–{train_rows - 1:,} (train.csv has {train_rows:,} rows)"
        if len(rows) and (rows.min() < 0 or rows.max() >= train_rows)
        else "a row named twice" if len(np.unique(rows)) != len(rows)
        else "probabilities that are not finite numbers" if not (
            np.issubdtype(proba.dtype, np.floating) and np.isfinite(proba).all()
        )
        else None
    )  # fmt: skip
    if problem:
        raise KaggleDigitsError(f"{path}: holds {problem}; train the run again to see its held-out rows")
    return scored
