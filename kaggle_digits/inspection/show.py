"""One digit and what a run's model makes of it: the data behind `kaggle-digits show`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..data import load_test, load_train
from ..errors import KaggleDigitsError
from ..places import DATA_DIR
from ..runfolder.folder import MODEL_FILE, TrainedRun, load_run, resolve_run
from ..runfolder.record import DataSource


@dataclass(frozen=True)
class ShownDigit:
    """A digit's pixels, a caption naming where it came from, and a model's probabilities when there is one."""

    image: np.ndarray  # (784,) uint8
    caption: str
    proba: np.ndarray | None  # (10,)
    run_name: str
    label: int | None = None  # train.csv's label; None for a test image
    run: TrainedRun | None = None


def digit_with_prediction(
    image_id: int, from_train: bool, source: DataSource | None, run: Path | None, runs_root: Path
) -> ShownDigit:
    """Image `image_id` of test.csv (or row of train.csv) from `source`, or else from the run's own data."""
    has_run = run is not None or any(Path(runs_root).glob(f"*/{MODEL_FILE}"))
    loaded = load_run(resolve_run(run, runs_root)) if has_run else None
    if source is None:
        source = loaded.record.data if loaded else DataSource.full(DATA_DIR)
    digits = load_train(source.folder) if from_train else load_test(source.folder)
    where = f"{source.label} {digits.path.name}"
    if not 1 <= image_id <= len(digits):
        raise KaggleDigitsError(f"ID {image_id}: {where} has images 1..{len(digits):,}")
    image = digits.images[image_id - 1]
    label = None if digits.labels is None else int(digits.labels[image_id - 1])
    caption = f"{where} #{image_id}" + (f", label {label}" if label is not None else "")
    if loaded is None:
        return ShownDigit(image, caption, None, "", label)
    proba = loaded.model.predict_proba(digits.features(np.array([image_id - 1])))[0]  # (10,)
    return ShownDigit(image, caption, proba, loaded.path.name, label, loaded)
