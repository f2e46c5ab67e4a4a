"""`kaggle-digits runs`: every local run side by side, with the public score of its submission when Kaggle gave one.

Public scores come from the last `kaggle-digits submissions` call, kept in `<runs>/kaggle-submissions.json`, so the
table works offline.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..competition.kaggle_api import RemoteSubmission
from ..errors import KaggleDigitsError
from ..files import atomic_write_text
from .record import RunRecord
from .runs import local_runs

SCORES_FILE = "kaggle-submissions.json"
SORTS = ("newest", "estimate")


@dataclass(frozen=True)
class RunRow:
    """One line of the runs table."""

    path: Path
    record: RunRecord
    status: str  # the record's status, or "stopped" for a "running" run whose process is gone
    public_score: str


def remember_scores(runs_root: Path, remotes: list[RemoteSubmission]) -> None:
    """Keep the public score of every listed submission, by file name (newest wins), for `runs` to show offline."""
    scores = read_scores(runs_root)
    for remote in reversed(remotes):
        if remote.public_score:
            scores[remote.file_name] = remote.public_score
    if Path(runs_root).is_dir():
        atomic_write_text(Path(runs_root) / SCORES_FILE, json.dumps(scores, indent=2, sort_keys=True) + "\n")


def read_scores(runs_root: Path) -> dict[str, str]:
    try:
        scores = json.loads((Path(runs_root) / SCORES_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):  # none yet, or unreadable: scores are a convenience, not a record
        return {}
    return scores if isinstance(scores, dict) else {}


def alive(pid: int) -> bool:
    """Whether process `pid` still runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def list_runs(runs_root: Path, sort: str = "newest") -> list[RunRow]:
    """Every readable run under `runs_root`, newest first, or by estimate (best first, runs without one last)."""
    if sort not in SORTS:
        raise KaggleDigitsError(f"--sort {sort!r}: choose one of {', '.join(SORTS)}")
    scores = read_scores(runs_root)
    rows = []
    for run in local_runs(runs_root):
        record = run.record
        status = record.status
        if status == "running" and not alive(record.pid):
            status = "stopped"
        file_name = Path(record.submission).name if record.submission else ""
        rows.append(RunRow(run.path, record, status, scores.get(file_name, "")))
    rows.reverse()
    if sort == "estimate":
        rows.sort(key=lambda r: -(r.record.estimate.accuracy if r.record.estimate else -1.0))
    return rows
