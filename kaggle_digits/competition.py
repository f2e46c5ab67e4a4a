"""Kaggle jobs: download-check-extract the competition files atomically, submit with checks, list with local runs."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .data import TEST_HEADER, TRAIN_HEADER, load_test
from .errors import KaggleDigitsError
from .kaggle_api import KaggleClient, RemoteSubmission, SubmissionLimits
from .runs import METRICS_FILE
from .submission import read_submission

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
        raise KaggleDigitsError(f"{where}: test.csv has {n_test} rows but sample_submission.csv has {n_sample}")
    return rows


def check_zip(path: Path) -> dict[str, int]:
    """A real, intact zip holding Kaggle's three files with consistent headers and row counts."""
    try:
        with zipfile.ZipFile(path) as bundle:
            found = {}  # reading each member to its end also verifies its CRC (BadZipFile otherwise)
            for name in EXPECTED_FILES:
                if name in bundle.namelist():
                    with bundle.open(name) as handle:
                        found[name] = count_rows(iter(handle))
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise KaggleDigitsError(f"{path.name}: not a valid zip archive ({exc}); the download was refused") from None
    return check_files(found, path.name)


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
    parent = data_dir.resolve().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{data_dir.name}-download-", dir=parent))
    except OSError as exc:
        raise KaggleDigitsError(f"{data_dir}: cannot write here ({exc.strerror or exc})") from None
    try:
        archive = client.download(staging / "zip")
        rows = check_zip(archive)
        extracted = staging / "files"
        with zipfile.ZipFile(archive) as bundle:
            for name in EXPECTED_FILES:
                bundle.extract(name, extracted)
        archive.unlink()
        data_dir.mkdir(parents=True, exist_ok=True)
        for name in EXPECTED_FILES:
            os.replace(extracted / name, data_dir / name)
    except OSError as exc:
        raise KaggleDigitsError(f"{data_dir}: cannot write the competition files ({exc.strerror or exc})") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return DownloadOutcome(data_dir, True, rows)


def newest_submission(folder: Path) -> Path:
    """The most recently written CSV in `folder`."""
    csvs = sorted(folder.glob("*.csv"), key=lambda p: p.stat().st_mtime)
    if not csvs:
        raise KaggleDigitsError(f"{folder}: no submission CSVs; run `kaggle-digits train` first or name a FILE")
    return csvs[-1]


def validate_for_upload(path: Path, data_dir: Path) -> int:
    """Check a submission against the local test.csv when there is one; returns its row count."""
    n_test = len(load_test(data_dir)) if (data_dir / "test.csv").is_file() else None
    return len(read_submission(path, n_test))


def wait_for_score(
    client: KaggleClient,
    ref: int,
    timeout: float,
    poll: float,
    sleep: Callable[[float], None] = time.sleep,
) -> RemoteSubmission:
    """Poll the submission list until `ref` is scored; bounded by `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        match = next((s for s in client.submissions(limit=50) if s.ref == ref), None)
        if match is not None and match.status == "COMPLETE":
            return match
        if match is not None and match.status == "ERROR":
            raise KaggleDigitsError(f"submission {ref} failed on Kaggle: {match.error or 'no reason given'}")
        if time.monotonic() + poll > deadline:
            raise KaggleDigitsError(
                f"submission {ref} not scored after {timeout:g} s; check later with `kaggle-digits submissions`"
            )
        sleep(poll)


def local_runs_by_submission(runs_root: Path) -> dict[str, dict[str, Any]]:
    """Map a submission file name to the metrics of the run that wrote it."""
    index = {}
    for metrics_path in sorted(runs_root.glob(f"*/{METRICS_FILE}")):
        try:
            metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if metrics.get("submission"):
            index[Path(metrics["submission"]).name] = metrics
    return index


@dataclass(frozen=True)
class SubmissionRow:
    """A remote submission with the local run that produced its file, when known."""

    remote: RemoteSubmission
    preset: str | None
    dev_accuracy: float | None


def submissions_with_runs(client: KaggleClient, runs_root: Path, limit: int) -> list[SubmissionRow]:
    index = local_runs_by_submission(runs_root)
    rows = []
    for remote in client.submissions(limit):
        metrics = index.get(remote.file_name, {})
        rows.append(SubmissionRow(remote, metrics.get("preset"), metrics.get("dev_accuracy")))
    return rows


def limits_or_none(client: KaggleClient) -> SubmissionLimits | None:
    """Kaggle's daily limits, or None when the server does not say (the submission itself already succeeded)."""
    try:
        return client.limits()
    except KaggleDigitsError:
        return None
