"""Submit jobs: choose and check the file to upload, wait for its score, list submissions beside local runs."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..competition.kaggle_api import KaggleClient, RemoteSubmission, SubmissionLimits
from ..data import load_test
from ..errors import KaggleDigitsError
from ..submission import read_submission
from .runs import METRICS_FILE


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
