"""Kaggle: download the competition files, submit a run's CSV (or rehearse it), list submissions with their runs."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..competition.download import DownloadOutcome, data_from, download_data
from ..competition.kaggle_api import COMPETITION, KaggleClient, RemoteSubmission, SubmissionLimits, credentials_source
from ..competition.submit import (
    SubmissionRow,
    SubmitPlan,
    check_daily_limit,
    limits_or_none,
    plan_submission,
    submissions_with_runs,
    wait_for_score,
)
from ..errors import KaggleDigitsError
from ..inspection.listing import remember_scores
from ..places import DATA_DIR, RUNS_DIR

PathLike = str | os.PathLike[str]


def client(competition: str = COMPETITION) -> tuple[KaggleClient, str]:
    """The Kaggle adapter, once credentials are known to exist, and where they come from (never their values)."""
    source = credentials_source()
    return KaggleClient(competition), source


def download(
    data_dir: PathLike = DATA_DIR,
    competition: str = COMPETITION,
    force: bool = False,
    source: PathLike | None = None,
    kaggle: KaggleClient | None = None,
) -> DownloadOutcome:
    """The competition files into `data_dir`: from Kaggle through its client, or from a zip or folder already here."""
    if source is not None:
        return data_from(Path(source), Path(data_dir), force=force)
    return download_data(kaggle or client(competition)[0], Path(data_dir), force=force)


def submission_plan(
    target: PathLike | None,
    data_dir: PathLike = DATA_DIR,
    runs_dir: PathLike = RUNS_DIR,
    force: bool = False,
    dry_run: bool = False,
) -> SubmitPlan:
    """The file a submit would send, checked against test.csv's ids and vouched for by the run that wrote it; a dry
    run reports the refusal a real one would raise."""
    target = Path(target) if target is not None else None
    return plan_submission(target, data_dir=Path(data_dir), runs_root=Path(runs_dir), force=force, rehearse=dry_run)


@dataclass(frozen=True)
class Sent:
    """A submission Kaggle took: its reference, Kaggle's reply, and today's limits after it."""

    ref: int
    reply: str
    limits: SubmissionLimits | None


def send(plan: SubmitPlan, kaggle: KaggleClient, message: str = "") -> Sent:
    """Upload the planned file, after checking that Kaggle takes another submission today."""
    if plan.refused:
        raise KaggleDigitsError(plan.refused)
    check_daily_limit(kaggle)
    ref, reply = kaggle.submit(plan.path, message or default_message(plan))
    return Sent(ref, reply, limits_or_none(kaggle))


def score(kaggle: KaggleClient, ref: int, timeout: float = 600.0, poll: float = 5.0) -> RemoteSubmission:
    """Wait until Kaggle has scored submission `ref`."""
    return wait_for_score(kaggle, ref, timeout=timeout, poll=poll)


def default_message(plan: SubmitPlan) -> str:
    return f"kaggle-digits {plan.path.name}"


def submissions(
    limit: int = 20, competition: str = COMPETITION, runs_dir: PathLike = RUNS_DIR, kaggle: KaggleClient | None = None
) -> list[SubmissionRow]:
    """Recent submissions with the local run that wrote each; their public scores are kept for `runs`."""
    rows = submissions_with_runs(kaggle or client(competition)[0], Path(runs_dir), limit)
    remember_scores(Path(runs_dir), [row.remote for row in rows])
    return rows
