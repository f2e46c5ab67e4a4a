"""A run's held-out predictions and the honest estimate made from them.

Dev-split runs are scored on their dev rows; k-fold runs on every row, each by the networks that never saw its fold
(out-of-fold). The probabilities are kept beside the model (`heldout.npz`), so `evaluate` and `misclassified` look
at exactly what the estimate counted.
"""

from __future__ import annotations

import numpy as np

from ..runfolder.folder import HeldOut
from ..runfolder.record import Estimate, RunRecord
from .plan import Part


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
