"""Submit jobs: choose only what was meant, check it against the competition's test ids, wait for its score, and
list Kaggle's submissions beside the local runs that wrote them.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..data import load_test
from ..errors import KaggleDigitsError
from ..files import sha256_file
from ..places import RUNS_DIR
from ..runfolder.folder import METRICS_FILE, Run, local_runs, read_record, resolve_run, run_status
from ..submission import read_submission
from .kaggle_api import KaggleClient, RemoteSubmission, SubmissionLimits


def refusal(run: Run) -> str | None:
    """Why a run's submission should not be sent by default, or None when it should."""
    if run.record.data.source == "sample":
        return (
            f"it comes from {run.path.name}, a --sample run (the bundled sample's test images, not Kaggle's): "
            "Kaggle would not score it"
        )
    status = run_status(run.path, run.record)
    if status != "finished":
        return f"it comes from {run.path.name}, a run that is {status}, not finished"
    return None


@dataclass(frozen=True)
class SubmitPlan:
    """The file to upload, checked, with the run that wrote it when known."""

    path: Path
    rows: int
    run: Run | None
    refused: str = ""  # a rehearsal's finding: why a real submit would refuse this file ("" when it would send it)
    checked_against: str = ""  # the test.csv whose ids it was checked against

    def line(self) -> str:
        """file · run · preset · estimate, the one line printed before anything is sent."""
        if self.run is None:
            return f"{self.path} ({self.rows:,} rows) · no local run wrote this file · no estimate"
        record = self.run.record
        if record.estimate is not None:
            figure = record.estimate.text()
        elif record.selected is not None:
            figure = f"none; selected figure {record.selected.text()}"
        else:
            figure = "none (no held-out rows)"
        return (
            f"{self.path} ({self.rows:,} rows) · run {self.run.path.name} · preset {record.preset} · estimate {figure}"
        )


def near(path: Path) -> Path:
    """A path as the user would type it from here: relative to the working folder when inside it."""
    absolute, here = Path(os.path.abspath(path)), Path.cwd()
    return absolute.relative_to(here) if absolute.is_relative_to(here) else path


def owner_of(path: Path, runs: list[Run]) -> Run | None:
    """The run whose recorded submission is `path` (whatever the path's spelling: relative, absolute, a link)."""
    target = path.resolve()
    return next((r for r in runs if r.record.submission and Path(r.record.submission).resolve() == target), None)


def writer_of(digest: str, runs: list[Run]) -> Run | None:
    """The run that recorded a CSV with this SHA-256, preferring one whose CSV may be sent by default."""
    writers = [r for r in runs if r.record.submission_sha256 == digest]
    return min(writers, key=lambda r: refusal(r) is not None, default=None)


def choose_file(target: Path | None, runs: list[Run], runs_root: Path = RUNS_DIR) -> tuple[Path, Run | None]:
    """The file meant: named, a run folder's submission, or the newest of a finished run on the full data."""
    if target is None:
        eligible = [r for r in runs if refusal(r) is None and Path(r.record.submission or "").is_file()]
        if eligible:
            chosen = max(eligible, key=lambda r: (r.record.finished_at, r.path.name))
            return near(Path(chosen.record.submission)), chosen
        newest = max(runs, key=lambda r: (r.record.finished_at, r.path.name), default=None)
        why = f"; the newest run is not one: {refusal(newest)}" if newest and refusal(newest) else ""
        raise KaggleDigitsError(
            f"no submission of a finished run on the full competition data{why}; train one on data/, "
            "or name a FILE or RUN (with --force for a sample or unfinished run)"
        )
    if target.is_file() and target.name != METRICS_FILE:
        return target, None
    if target.exists() or (runs_root / target).is_dir():
        folder = resolve_run(target, runs_root)
        run = next((r for r in runs if r.path.resolve() == folder.resolve()), None) or Run(folder, read_record(folder))
        if not run.record.submission or not Path(run.record.submission).is_file():
            status = run_status(run.path, run.record)
            raise KaggleDigitsError(f"{folder}: this run has no submission file (it is {status})")
        return near(Path(run.record.submission)), run
    raise KaggleDigitsError(f"{target}: no such submission file or run folder")


def vouch(path: Path, named: Run | None, runs: list[Run], runs_root: Path, force: bool) -> Run | None:
    """The run that wrote exactly these bytes, found by their SHA-256 whatever the path; without `force`, a file no
    finished full-data run wrote is refused, naming what differs. The one place that decides what may be uploaded."""
    digest = sha256_file(path)
    writer = named if named is not None and named.record.submission_sha256 == digest else writer_of(digest, runs)
    if writer is not None:
        if (why := refusal(writer)) and not force:
            raise KaggleDigitsError(f"{path}: not sent, {why}; add --force to send it anyway")
        return writer
    if force:
        return None
    claimed = named or owner_of(path, runs)
    if claimed is not None and claimed.record.submission_sha256:
        raise KaggleDigitsError(
            f"{path}: not the file run {claimed.path.name} wrote (its content changed after the run finished); not "
            f"sent — write the run's predictions again with `kaggle-digits predict {claimed.path}`, or add --force"
        )
    if claimed is not None:
        raise KaggleDigitsError(
            f"{path}: run {claimed.path.name} recorded no SHA-256 of its file (a run made before 0.2), so its "
            "content cannot be checked; not sent — add --force to send it anyway"
        )
    raise KaggleDigitsError(
        f"{path}: no finished run under {runs_root} wrote this file (its SHA-256 is in no run's record); not sent — "
        "pass --runs-dir where its run is, or add --force to send a file no run wrote"
    )


def plan_submission(
    target: Path | None, data_dir: Path, runs_root: Path, force: bool = False, rehearse: bool = False
) -> SubmitPlan:
    """Choose the file and check it against data/test.csv's ids; nothing is contacted. A rehearsal (`--dry-run`)
    walks the same checks but reports the first refusal instead of raising it, takes the newest finished run when
    none may be sent, and checks a sample run's file against the sample's own test ids when data/ has none."""
    if not rehearse:
        need_test_csv(data_dir)
    runs = local_runs(runs_root)
    refused = ""
    try:
        path, named = choose_file(target, runs, runs_root)
    except KaggleDigitsError as exc:
        fallback = newest_with_file(runs) if rehearse and target is None else None
        if fallback is None:
            raise
        path, named, refused = near(Path(fallback.record.submission)), fallback, refusal(fallback) or str(exc)
    writer = named or writer_of(sha256_file(path), runs)
    test_dir = data_dir
    if writer is not None and writer.record.data.source == "sample":
        test_dir = writer.record.data.folder  # a sample run's file: the sample's own test ids, so the refusal says why
    elif not (data_dir / "test.csv").is_file():
        need_test_csv(data_dir)
    test = load_test(test_dir)
    rows = len(read_submission(path, len(test)))
    try:
        run = vouch(path, named, runs, runs_root, force)
        if run is not None and run.record.data.test_fingerprint not in ("", test.fingerprint) and not force:
            raise KaggleDigitsError(
                f"{path}: predicted for another test.csv than {test.path}; add --force to send it anyway"
            )
    except KaggleDigitsError as exc:
        if not rehearse:
            raise
        run, refused = named or writer_of(sha256_file(path), runs), refused or str(exc)
    where = "the bundled sample's test.csv" if test_dir != data_dir else str(test.path)
    return SubmitPlan(path, rows, run, refused, where)


def need_test_csv(data_dir: Path) -> None:
    """Every file is checked against the competition's test ids: refuse before anything when they are missing."""
    if not (data_dir / "test.csv").is_file():
        raise KaggleDigitsError(
            f"{data_dir / 'test.csv'}: not found; submit checks every file against the competition's test ids — "
            "run `make download` (or `kaggle-digits download`) first"
        )


def newest_with_file(runs: list[Run]) -> Run | None:
    """The newest finished run whose CSV is still there, whatever its data."""
    finished = [r for r in runs if r.record.status == "finished" and Path(r.record.submission or "").is_file()]
    return max(finished, key=lambda r: (r.record.finished_at, r.path.name), default=None)


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


@dataclass(frozen=True)
class SubmissionRow:
    """A remote submission with the local run that produced its file, when known."""

    remote: RemoteSubmission
    run: Run | None


def submissions_with_runs(client: KaggleClient, runs_root: Path, limit: int) -> list[SubmissionRow]:
    runs = {Path(r.record.submission).name: r for r in local_runs(runs_root) if r.record.submission}
    return [SubmissionRow(remote, runs.get(remote.file_name)) for remote in client.submissions(limit)]


def check_daily_limit(client: KaggleClient) -> SubmissionLimits | None:
    """Refuse before uploading when Kaggle says no submission is left today; None when it does not say."""
    limits = limits_or_none(client)
    if limits is not None and limits.allowed_now <= 0:
        raise KaggleDigitsError(
            f"Kaggle's daily submission limit is reached ({limits.used_today} today); nothing was sent — "
            "try again after 00:00 UTC"
        )
    return limits


def limits_or_none(client: KaggleClient) -> SubmissionLimits | None:
    """Kaggle's daily limits, or None when the server does not say."""
    try:
        return client.limits()
    except KaggleDigitsError:
        return None
