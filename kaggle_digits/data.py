"""Kaggle's digit CSVs: strict parsing, an .npz cache keyed by content, the bundled sample, a stratified dev split."""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import zipfile
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from .constants import N_CLASSES, N_PIXELS
from .errors import ConfigError, KaggleDigitsError
from .files import atomic_path, temp_folder

PIXEL_COLUMNS = tuple(f"pixel{i}" for i in range(N_PIXELS))
TRAIN_HEADER = ("label", *PIXEL_COLUMNS)
TEST_HEADER = PIXEL_COLUMNS
CACHE_VERSION = 2  # 2: keyed by the CSV's SHA-256
SAMPLE_ZIP = "digit-recognizer-sample.zip"
HOW_TO_GET_DATA = "run `make download` (or `kaggle-digits download`), or pass --sample to use the bundled sample"


@dataclass(frozen=True)
class Digits:
    """Images as stored (uint8, one flattened 28x28 row each), labels when the file has them."""

    images: np.ndarray  # (N, 784) uint8
    labels: np.ndarray | None  # (N,) int64
    path: Path
    fingerprint: str

    def __len__(self) -> int:
        return len(self.images)

    def features(self, index: np.ndarray | None = None) -> np.ndarray:
        """Pixels scaled to float32 [0, 1], optionally for a subset of rows."""
        images = self.images if index is None else self.images[index]
        return images.astype(np.float32) * np.float32(1 / 255)  # (N, 784)


def thin_digits(train: Digits) -> str | None:
    """A warning naming the digits train.csv has no rows of, or under a tenth of an even share (1 % of its rows)."""
    counts = np.bincount(train.labels, minlength=N_CLASSES)  # (10,)
    missing = [str(d) for d in range(N_CLASSES) if counts[d] == 0]
    few = [f"{d} ({counts[d]:,})" for d in range(N_CLASSES) if 0 < counts[d] < len(train) / (10 * N_CLASSES)]
    if not missing and not few:
        return None
    parts = ([f"no rows of digit {', '.join(missing)}"] if missing else []) + (
        [f"few rows of digit {', '.join(few)}"] if few else []
    )
    return f"warning: {train.path}: {' and '.join(parts)} among {len(train):,}; the model will rarely predict them"


def load_train(data_dir: str | os.PathLike[str]) -> Digits:
    """Load `train.csv` (label + 784 pixels) from `data_dir`."""
    return load_digits(Path(data_dir) / "train.csv", labelled=True)


def load_test(data_dir: str | os.PathLike[str]) -> Digits:
    """Load `test.csv` (784 pixels, no label) from `data_dir`."""
    return load_digits(Path(data_dir) / "test.csv", labelled=False)


def load_digits(path: Path, labelled: bool) -> Digits:
    """Load a digits CSV, from its .npz cache when the cache was made from exactly these bytes."""
    if not path.is_file():
        raise KaggleDigitsError(f"{path}: file not found — {HOW_TO_GET_DATA}")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise KaggleDigitsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    content = hashlib.sha256(raw).hexdigest()
    cache = path.with_name(path.name + ".cache.npz")
    cached = _read_cache(cache, content, labelled)
    if cached is not None:
        images, labels, fingerprint = cached
        return Digits(images, labels, path, fingerprint)
    images, labels = parse_digits_csv(path, labelled, raw)
    fingerprint = _fingerprint(images, labels)
    _write_cache(cache, content, images, labels, fingerprint)
    return Digits(images, labels, path, fingerprint)


def parse_digits_csv(path: Path, labelled: bool, raw: bytes | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Parse and validate a Kaggle digits CSV (a UTF-8 BOM and CRLF line ends, as spreadsheets save, are read);
    every problem is one line naming file, line and column."""
    raw = path.read_bytes() if raw is None else raw
    expected = TRAIN_HEADER if labelled else TEST_HEADER
    _check_text(path, raw)
    _check_header(path, raw, expected)
    try:
        frame = pd.read_csv(io.BytesIO(raw), dtype=np.float32, engine="c", skip_blank_lines=False, encoding="utf-8-sig")
    except pd.errors.ParserError as exc:
        match = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        detail = f"line {match[2]} has {match[3]} columns, expected {match[1]}" if match else str(exc)
        raise KaggleDigitsError(f"{path}: {detail}") from None
    except ValueError:
        raise KaggleDigitsError(f"{path}: {_first_non_numeric(raw)}") from None
    values = frame.to_numpy()  # (N, 785) or (N, 784) float32
    if len(values) == 0:
        raise KaggleDigitsError(f"{path}: no data rows after the header")
    _check_values(path, values, expected)
    pixels = values[:, 1:] if labelled else values
    labels = values[:, 0].astype(np.int64) if labelled else None
    return np.ascontiguousarray(pixels, dtype=np.uint8), labels


def _check_text(path: Path, raw: bytes) -> None:
    """UTF-8 (or ASCII) text; a UTF-16 export or a stray byte is named with its line."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise KaggleDigitsError(f"{path}: saved as UTF-16 text; save it as a CSV in UTF-8 (comma-separated)")
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise KaggleDigitsError(
            f"{path}: line {line}: byte 0x{raw[exc.start]:02x} is not UTF-8 text; save the file as a UTF-8 CSV"
        ) from None


def _check_header(path: Path, raw: bytes, expected: tuple[str, ...]) -> None:
    first = raw[: raw.find(b"\n") if b"\n" in raw else len(raw)].decode("utf-8-sig").strip()
    if not first:
        raise KaggleDigitsError(f"{path}: empty file (expected a header line {expected[0]},{expected[1]},…)")
    if ";" in first and "," not in first:
        raise KaggleDigitsError(f"{path}: columns are separated by ';'; save it as a comma-separated CSV")
    header = [name.strip().strip('"') for name in first.split(",")]
    if len(header) != len(expected):
        raise KaggleDigitsError(
            f"{path}: header has {len(header):,} columns, expected {len(expected):,} "
            f"({expected[0]},{expected[1]},…,{expected[-1]})"
        )
    for position, (got, want) in enumerate(zip(header, expected, strict=True), start=1):
        if got != want:
            raise KaggleDigitsError(f"{path}: header column {position} is {got!r}, expected {want!r}")


def _first_non_numeric(raw: bytes) -> str:
    """Locate the first cell that is not a number (the slow path, taken only when parsing failed)."""
    frame = pd.read_csv(io.BytesIO(raw), dtype=str, keep_default_na=False, skip_blank_lines=False, encoding="utf-8-sig")
    for column in frame.columns:
        cells = frame[column]
        bad = pd.to_numeric(cells, errors="coerce").isna() & (cells.str.strip() != "")
        if bad.any():
            row = int(np.argmax(bad.to_numpy()))
            return f"line {row + 2}, column {column}: {cells.iloc[row]!r} is not a number"
    return "cannot parse the file as numbers"


def _check_values(path: Path, values: np.ndarray, expected: tuple[str, ...]) -> None:
    missing = np.isnan(values)  # (N, C)
    if missing.any():
        row, col = np.argwhere(missing)[0]
        what = "blank line" if missing[row].all() else f"column {expected[col]}: missing value"
        raise KaggleDigitsError(f"{path}: line {row + 2}, {what}")
    labelled = expected[0] == "label"
    pixels = values[:, 1:] if labelled else values
    offset = 1 if labelled else 0
    bad = (pixels < 0) | (pixels > 255) | (pixels != np.round(pixels))  # (N, 784)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise KaggleDigitsError(
            f"{path}: line {row + 2}, column {expected[col + offset]}: pixel value {pixels[row, col]:g} "
            "is not an integer in 0–255"
        )
    if labelled:
        labels = values[:, 0]  # (N,)
        bad_label = (labels < 0) | (labels > 9) | (labels != np.round(labels))
        if bad_label.any():
            row = int(np.argmax(bad_label))
            raise KaggleDigitsError(f"{path}: line {row + 2}, column label: label {labels[row]:g} is not a digit 0–9")


def _fingerprint(images: np.ndarray, labels: np.ndarray | None) -> str:
    digest = hashlib.sha256(images.tobytes())
    if labels is not None:
        digest.update(labels.tobytes())
    return digest.hexdigest()[:16]


def _read_cache(cache: Path, content: str, labelled: bool):
    """The cached arrays when the cache was made from a CSV with this SHA-256, else None."""
    try:
        with np.load(cache, allow_pickle=False) as stored:
            if int(stored["version"]) != CACHE_VERSION or str(stored["content"]) != content:
                return None
            if labelled != ("labels" in stored.files):
                return None
            labels = stored["labels"] if labelled else None
            return stored["images"], labels, str(stored["fingerprint"])
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile):
        return None


def _write_cache(cache: Path, content: str, images, labels, fingerprint: str) -> None:
    """Best effort: a read-only data folder just means no cache."""
    arrays = {
        "version": np.array(CACHE_VERSION),
        "content": np.array(content),
        "images": images,
        "fingerprint": np.array(fingerprint),
    }
    if labels is not None:
        arrays["labels"] = labels
    try:
        with atomic_path(cache) as tmp, tmp.open("wb") as handle:
            np.savez(handle, **arrays)
    except (KaggleDigitsError, OSError):
        pass


def sample_dir() -> Path:
    """The bundled sample (5,000 labelled + 1,000 test rows from Kaggle's train.csv), extracted once."""
    archive = resources.files("kaggle_digits") / "sample" / SAMPLE_ZIP
    payload = archive.read_bytes()
    tag = hashlib.sha256(payload).hexdigest()[:12]
    cache_root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    target = cache_root / "kaggle-digits" / f"sample-{tag}"
    if not (target / "train.csv").is_file() or not (target / "test.csv").is_file():
        extract_zip_atomically(archive, target)
    return target


def extract_zip_atomically(archive, target: Path) -> None:
    """Extract a zip into a temp folder beside `target`, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = temp_folder(target.parent, f".{target.name}.")
    try:
        with archive.open("rb") as raw, zipfile.ZipFile(raw) as bundle:
            bundle.extractall(staging)
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def split_dev(labels: np.ndarray, dev_size: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split: a fraction in (0, 1) or a row count goes to dev, each class in proportion."""
    n = len(labels)
    n_dev = round(n * dev_size) if dev_size < 1 else int(dev_size)
    classes, counts = np.unique(labels, return_counts=True)
    quota = _quota(counts, n_dev) if 1 <= n_dev < n else np.zeros_like(counts)
    if quota.min() < 1 or (counts - quota).min() < 1:
        low, high = dev_row_range(counts)
        raise ConfigError(
            {"dev_size": dev_size},
            f"gives {n_dev:,} dev rows; use a fraction like 0.1 or {low:,} to {high:,} rows (every digit needs at "
            f"least one dev and one train row: here {len(classes)} digits, the rarest with {counts.min():,} rows)",
        )
    dev_parts = []
    for cls, take in zip(classes, quota, strict=True):
        members = np.flatnonzero(labels == cls)
        dev_parts.append(rng.permutation(members)[:take])
    dev = np.sort(np.concatenate(dev_parts))
    train = np.setdiff1d(np.arange(n), dev, assume_unique=True)
    return rng.permutation(train), dev


def _quota(counts: np.ndarray, n_dev: int) -> np.ndarray:
    """Dev rows per class for `n_dev` in all: each class in proportion, the remainder to the largest fractions."""
    exact = counts * n_dev / counts.sum()  # (K,)
    quota = np.floor(exact).astype(np.int64)
    leftover = np.argsort(-(exact - quota), kind="stable")[: n_dev - quota.sum()]
    quota[leftover] += 1
    return quota


def dev_row_range(counts: np.ndarray) -> tuple[int, int]:
    """The fewest and most dev rows that leave every class at least one dev and one train row (the bounds the split
    applies, found by bisection: more dev rows never take a class's quota down by more than one)."""
    n = int(counts.sum())
    lo_a, lo_b = 1, n - 1
    while lo_a < lo_b:  # the smallest count whose every quota is ≥ 1
        mid = (lo_a + lo_b) // 2
        lo_a, lo_b = (lo_a, mid) if _quota(counts, mid).min() >= 1 else (mid + 1, lo_b)
    hi_a, hi_b = lo_a, n - 1
    while hi_a < hi_b:  # the largest count that leaves every class a train row
        mid = (hi_a + hi_b + 1) // 2
        hi_a, hi_b = (mid, hi_b) if (counts - _quota(counts, mid)).min() >= 1 else (hi_a, mid - 1)
    return lo_a, hi_a


def stratified_folds(labels: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """The fold (0..k-1) of every row: each digit's rows shuffled and dealt round-robin, so folds differ by one row."""
    if k < 2:
        raise ValueError(f"stratified_folds needs k >= 2, got {k}")  # the request check refuses it first
    classes, counts = np.unique(labels, return_counts=True)
    if counts.min() < k:
        raise ConfigError({"folds": k}, f"use at most as many folds as the rarest digit has rows ({counts.min()})")
    fold = np.empty(len(labels), np.int64)  # (N,)
    offset = 0
    for cls in classes:
        members = rng.permutation(np.flatnonzero(labels == cls))
        fold[members] = (offset + np.arange(len(members))) % k  # continue the deal where the last digit stopped
        offset += len(members)
    return fold
