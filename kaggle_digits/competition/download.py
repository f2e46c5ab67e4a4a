"""Download the competition files through the Kaggle client: check the zip, extract atomically into data/."""

from __future__ import annotations

import contextlib
import os
import shutil
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..data import TEST_HEADER, TRAIN_HEADER
from ..errors import KaggleDigitsError
from ..files import temp_folder
from .kaggle_api import KaggleClient

EXPECTED_FILES = ("train.csv", "test.csv", "sample_submission.csv")
HEADERS = {
    "train.csv": ",".join(TRAIN_HEADER),
    "test.csv": ",".join(TEST_HEADER),
    "sample_submission.csv": "ImageId,Label",
}


@dataclass(frozen=True)
class DownloadOutcome:
    """What `download` did: fetched and extracted, or found valid files already there."""

    data_dir: Path
    downloaded: bool
    rows: dict[str, int]


def count_rows(lines) -> tuple[str, int]:
    """The header and the number of non-empty data lines of a CSV given as an iterator of byte lines."""
    header = next(lines, b"").decode("utf-8", "replace").strip()
    return header, sum(1 for line in lines if line.strip())


def check_files(rows_and_headers: dict[str, tuple[str, int]], where: str) -> dict[str, int]:
    """Headers as Kaggle's, and test rows = sample_submission rows; returns the row counts."""
    for name in EXPECTED_FILES:
        if name not in rows_and_headers:
            raise KaggleDigitsError(f"{where}: {name} is missing")
        header, n = rows_and_headers[name]
        if header != HEADERS[name]:
            raise KaggleDigitsError(f"{where}: {name} does not have Kaggle's header ({header[:40]!r}…)")
        if n == 0:
            raise KaggleDigitsError(f"{where}: {name} has no data rows")
    rows = {name: rows_and_headers[name][1] for name in EXPECTED_FILES}
    if rows["test.csv"] != rows["sample_submission.csv"]:
        n_test, n_sample = rows["test.csv"], rows["sample_submission.csv"]
        raise KaggleDigitsError(f"{where}: test.csv has {n_test:,} rows but sample_submission.csv has {n_sample:,}")
    return rows


def check_zip(path: Path, shown: str | None = None) -> dict[str, int]:
    """A real, intact zip holding Kaggle's three files with consistent headers and row counts (errors name it as
    `shown`, by default its file name)."""
    shown = shown or path.name
    try:
        with zipfile.ZipFile(path) as bundle:
            found = {}  # reading each member to its end also verifies its CRC (BadZipFile otherwise)
            for name in EXPECTED_FILES:
                if name in bundle.namelist():
                    with bundle.open(name) as handle:
                        found[name] = count_rows(iter(handle))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise KaggleDigitsError(f"{shown}: not a valid zip archive ({exc}); nothing was extracted") from None
    return check_files(found, shown)


def check_folder(data_dir: Path) -> dict[str, int] | None:
    """Row counts when `data_dir` already holds a consistent set of the three files, else None."""
    found = {}
    for name in EXPECTED_FILES:
        path = data_dir / name
        if not path.is_file():
            return None
        with path.open("rb") as handle:
            found[name] = count_rows(iter(handle))
    try:
        return check_files(found, str(data_dir))
    except KaggleDigitsError:
        return None


def download_data(client: KaggleClient, data_dir: Path, force: bool = False) -> DownloadOutcome:
    """Fetch, verify and extract the competition files; `data_dir` never holds a partial file."""
    if not force and (rows := check_folder(data_dir)) is not None:
        return DownloadOutcome(data_dir, False, rows)
    with staging_beside(data_dir) as staging:
        return install(client.download(staging / "zip"), data_dir, staging)


def data_from(source: Path, data_dir: Path, force: bool = False) -> DownloadOutcome:
    """The competition files from where a user has them, with every check a download makes: the zip as Kaggle's
    website saves it, or a folder holding the CSVs (a Kaggle notebook's read-only /kaggle/input/…)."""
    if not source.exists():
        raise KaggleDigitsError(f"{source}: not found; give the zip Kaggle's website saved, or the folder of its CSVs")
    if source.is_dir() and source.resolve() == data_dir.resolve():
        if (rows := check_folder(data_dir)) is None:
            raise KaggleDigitsError(f"{source}: {incomplete_folder(source)}")
        return DownloadOutcome(data_dir, False, rows)
    if not force and (rows := check_folder(data_dir)) is not None:
        return DownloadOutcome(data_dir, False, rows)
    with staging_beside(data_dir) as staging:
        if source.is_dir():
            if check_folder(source) is None:
                raise KaggleDigitsError(f"{source}: {incomplete_folder(source)}")
            archive = staging / f"{source.name or 'data'}.zip"
            with zipfile.ZipFile(archive, "w") as bundle:  # one path for both: the zip's checks and extraction
                for name in EXPECTED_FILES:
                    bundle.write(source / name, name)
            return install(archive, data_dir, staging)
        if not source.is_file():
            raise KaggleDigitsError(f"{source}: not a regular file or folder")
        return install(source, data_dir, staging, keep_archive=True)


def incomplete_folder(folder: Path) -> str:
    """Why a folder does not hold the competition's files."""
    missing = [name for name in EXPECTED_FILES if not (folder / name).is_file()]
    if missing:
        return f"{', '.join(missing)} missing; the folder must hold {', '.join(EXPECTED_FILES)}"
    found = {}
    for name in EXPECTED_FILES:
        with (folder / name).open("rb") as handle:
            found[name] = count_rows(iter(handle))
    try:
        check_files(found, str(folder))
    except KaggleDigitsError as exc:
        return str(exc).removeprefix(f"{folder}: ")
    return "not the competition's files"


@contextlib.contextmanager
def staging_beside(data_dir: Path) -> Iterator[Path]:
    """A temp folder beside `data_dir` (same file system, so the final moves are renames), removed afterwards."""
    parent = data_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = temp_folder(parent, f".{data_dir.name}-download-")
    except OSError as exc:
        raise KaggleDigitsError(f"{data_dir}: cannot write here ({exc.strerror or exc})") from None
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def install(archive: Path, data_dir: Path, staging: Path, keep_archive: bool = False) -> DownloadOutcome:
    """Check a competition zip, extract its three files (by their names only: no path from the zip is used) and
    move them into `data_dir`; the zip is removed unless `keep_archive` (the user's own)."""
    try:
        rows = check_zip(archive, str(archive) if keep_archive else None)
        extracted = staging / "files"
        with zipfile.ZipFile(archive) as bundle:
            for name in EXPECTED_FILES:
                bundle.extract(name, extracted)
        if not keep_archive:
            archive.unlink()
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in EXPECTED_FILES:
            os.replace(extracted / name, data_dir / name)
    except OSError as exc:
        raise KaggleDigitsError(f"{data_dir}: cannot write the competition files ({exc.strerror or exc})") from None
    return DownloadOutcome(data_dir, True, rows)
