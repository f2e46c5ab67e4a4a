"""`kaggle-digits runs`: every local run side by side, with the public score of its submission when Kaggle gave one.

Public scores come from the last `kaggle-digits submissions` call, kept in `<runs>/kaggle-submissions.json`, so the
table works offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..competition.kaggle_api import RemoteSubmission
from ..errors import ConfigError, KaggleDigitsError
from ..files import atomic_write_text, read_json_object
from ..places import RUNS_DIR
from ..runfolder.folder import run_status, scan_runs
from ..runfolder.record import RunRecord

SCORES_FILE = "kaggle-submissions.json"
SORTS = ("newest", "estimate")


@dataclass(frozen=True)
class RunRow:
    """One line of the runs table: a run, or a folder whose record cannot be read and why."""

    path: Path
    record: RunRecord | None
    status: str  # run_status's word, or "unreadable"
    public_score: str = ""
    reason: str = ""


def remember_scores(runs_root: Path, remotes: list[RemoteSubmission]) -> None:
    """Keep the public score of every listed submission, by file name (newest wins), for `runs` to show offline."""
    scores = read_scores(runs_root)
    for remote in reversed(remotes):
        if remote.public_score:
            scores[remote.file_name] = remote.public_score
    if Path(runs_root).is_dir():
        atomic_write_text(Path(runs_root) / SCORES_FILE, json.dumps(scores, indent=2, sort_keys=True) + "\n")


def read_scores(runs_root: Path) -> dict[str, str]:
    """File name → public score; entries of another shape are dropped (the file is a convenience, not a record)."""
    try:
        scores = read_json_object(Path(runs_root) / SCORES_FILE, "table of public scores")
    except KaggleDigitsError:
        return {}
    return {
        name: str(score)
        for name, score in scores.items()
        if isinstance(score, str | int | float) and not isinstance(score, bool)
    }


def list_runs(runs_root: Path, sort: str = "newest") -> list[RunRow]:
    """Every run under `runs_root`, newest first, or by estimate (best first, runs without one last); runs whose
    record cannot be read are listed too, as unreadable with the reason."""
    if sort not in SORTS:
        raise ConfigError({"sort": sort}, f"choose one of {', '.join(SORTS)}")
    if runs_root.exists() and not runs_root.is_dir():
        raise ConfigError({"runs_dir": runs_root}, "not a folder; give {runs_dir} the folder your runs are in")
    if not runs_root.exists() and Path(runs_root) != RUNS_DIR:
        raise ConfigError({"runs_dir": runs_root}, "no such folder; give {runs_dir} the folder your runs are in")
    scores = read_scores(runs_root)
    readable, unreadable = scan_runs(runs_root)
    rows = [
        RunRow(run.path, run.record, run_status(run.path, run.record), scores.get(submission_name(run.record), ""))
        for run in readable
    ]
    rows += [RunRow(bad.path, None, "unreadable", reason=bad.reason) for bad in unreadable]
    rows.sort(key=lambda r: r.path.name, reverse=True)
    if sort == "estimate":
        rows.sort(key=lambda r: -(r.record.estimate.accuracy if r.record and r.record.estimate else -1.0))
    return rows


def submission_name(record: RunRecord) -> str:
    return Path(record.submission).name if record.submission else ""
