"""`predict-image`: photos or scans of handwritten digits, prepared as MNIST and read by a saved run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import KaggleDigitsError
from ..handwriting import load_digit_picture
from ..nn.network import with_views
from ..runfolder.folder import TrainedRun, why_picture_file
from .explain import why_digit


@dataclass(frozen=True)
class ReadDigit:
    """One picture: the 28x28 digit it became, the run's probabilities, and its maps' picture when asked."""

    file: Path
    image: np.ndarray  # (784,) uint8, prepared as MNIST
    proba: np.ndarray  # (10,)
    why: Path | None = None

    @property
    def digit(self) -> int:
        return int(self.proba.argmax())

    def to_json(self) -> dict:
        return {"file": str(self.file), "digit": self.digit, "probabilities": [round(float(p), 6) for p in self.proba]}


def read_digits(
    run: TrainedRun, files: list[str | os.PathLike[str]], why: bool = False
) -> tuple[list[ReadDigit], list[str]]:
    """Every readable file prepared as MNIST and read by the run's model with its test-time views (with `why`,
    `<run>/why-<file name>.png` for each), and a one-line problem for each file that could not be read."""
    images, readable, problems = [], [], []
    for file in files:
        try:
            images.append(load_digit_picture(file))
            readable.append(file)
        except KaggleDigitsError as exc:
            problems.append(str(exc))
    if not readable:
        return [], problems
    files, images = readable, np.stack(images)  # (F, 784) uint8
    proba = with_views(run.model, run.record.tta).predict_proba(images.astype(np.float32) / np.float32(255))
    found = []
    for file, image, p in zip(files, images, proba, strict=True):
        out = None
        if why:
            out = why_picture_file(run.path, Path(file).stem)
            why_digit(run, image, Path(file).name, out)
        found.append(ReadDigit(Path(file), image, p, out))
    return found, problems
