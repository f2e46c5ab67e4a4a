"""Kaggle submission CSVs (`ImageId,Label`): validated on write and on read, written atomically."""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from .errors import KaggleDigitsError
from .files import atomic_path

HEADER = "ImageId,Label"
DIGITS = re.compile(r"[0-9]+")  # str.isdigit also takes "²" and "٣", which int() refuses


def write_submission(
    path: str | os.PathLike[str], labels: np.ndarray, n_test: int | None = None, exclusive: bool = False
) -> Path:
    """Write one row per test image, ImageId from 1; refuses labels that Kaggle would reject. With `exclusive`, an
    existing file is never replaced (FileExistsError)."""
    path = Path(path)
    labels = np.asarray(labels)
    problem = _label_problem(labels, n_test)
    if problem:
        raise KaggleDigitsError(f"{path}: refusing to write submission: {problem}")
    body = np.column_stack([np.arange(1, len(labels) + 1), labels.astype(np.int64)])  # (N, 2)
    with atomic_path(path, exclusive=exclusive) as tmp:
        np.savetxt(tmp, body, fmt="%d", delimiter=",", header=HEADER, comments="")
    return path


def _label_problem(labels: np.ndarray, n_test: int | None) -> str | None:
    if labels.ndim != 1 or len(labels) == 0:
        return "expected a non-empty 1-D array of labels"
    if n_test is not None and len(labels) != n_test:
        return f"{len(labels):,} rows but the test set has {n_test:,} images"
    if not np.issubdtype(labels.dtype, np.integer) or labels.min() < 0 or labels.max() > 9:
        return "labels must be integers 0–9"
    return None


def read_submission(path: str | os.PathLike[str], n_test: int | None = None) -> np.ndarray:
    """Parse and check a submission: exact header, ids 1..N each once in order, labels 0–9, no blank lines."""
    path = Path(path)
    if not path.is_file():
        raise KaggleDigitsError(f"{path}: submission file not found")
    lines = path.read_text(encoding="utf-8-sig", errors="replace").splitlines()  # a BOM and CRLF, as spreadsheets save
    if not lines:
        raise KaggleDigitsError(f"{path}: empty file; expected the header {HEADER}")
    if lines[0].replace('"', "").strip() != HEADER:
        raise KaggleDigitsError(f"{path}: header is {lines[0].strip()!r}, expected {HEADER!r}")
    labels = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.split(",")
        if not line.strip():
            raise KaggleDigitsError(f"{path}: line {number} is blank")
        if len(cells) != 2 or not all(DIGITS.fullmatch(c.strip()) for c in cells):
            raise KaggleDigitsError(f"{path}: line {number}: expected two integers 'ImageId,Label', got {line!r}")
        image_id, label = int(cells[0]), int(cells[1])
        if image_id != number - 1:
            raise KaggleDigitsError(
                f"{path}: line {number}: ImageId {image_id}, expected {number - 1} (ids 1..N in order)"
            )
        if label > 9:
            raise KaggleDigitsError(f"{path}: line {number}: label {label} is not a digit 0–9")
        labels.append(label)
    if not labels:
        raise KaggleDigitsError(f"{path}: no rows after the header")
    if n_test is not None and len(labels) != n_test:
        raise KaggleDigitsError(f"{path}: {len(labels):,} rows, but test.csv has {n_test:,} images (one row each)")
    return np.array(labels, dtype=np.int64)
