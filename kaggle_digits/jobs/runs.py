"""Run folders (`runs/<timestamp>-<name>/`): created and checked before any work, found, listed and reloaded."""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import KaggleDigitsError
from ..nn.network import Model
from ..nn.serialize import load_model
from .record import METRICS_FILE, RunRecord, read_record

MODEL_FILE = "model.npz"
CHECKPOINT_FILE = "checkpoint.npz"


@dataclass
class Run:
    """A run folder with its record and, once the run has finished, its model (a network or an ensemble)."""

    path: Path
    record: RunRecord
    network: Model


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def writable_folder(folder: str | os.PathLike[str], what: str, option: str) -> Path:
    """Create `folder` if needed and prove it takes files, so a long run cannot fail at its very end."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise KaggleDigitsError(f"{folder}: not a folder; give {option} a folder for {what}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise KaggleDigitsError(
            f"{folder}: cannot write {what} here ({exc.strerror or exc}); choose another {option}"
        ) from None
    return folder


def new_run_dir(root: str | os.PathLike[str], name: str) -> Path:
    """Create `root/name`, adding -2, -3… when a run of the same second already exists."""
    root = writable_folder(root, "run folders", "--runs-dir")
    candidate, n = root / name, 1
    while True:
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            n += 1
            candidate = root / f"{name}-{n}"
        except OSError as exc:
            raise KaggleDigitsError(f"{candidate}: cannot create run folder ({exc.strerror})") from None


@dataclass(frozen=True)
class LocalRun:
    """A run folder and its record, model not loaded."""

    path: Path
    record: RunRecord


def run_folders(root: str | os.PathLike[str]) -> list[Path]:
    """Every folder under `root` that holds a run record, oldest first (names start with the start time)."""
    return sorted(p.parent for p in Path(root).glob(f"*/{METRICS_FILE}"))


def local_runs(root: str | os.PathLike[str]) -> list[LocalRun]:
    """Every readable run under `root`, oldest first; folders whose record cannot be read are skipped."""
    found = []
    for folder in run_folders(root):
        try:
            found.append(LocalRun(folder, read_record(folder)))
        except KaggleDigitsError:
            continue
    return found


def latest_run(root: str | os.PathLike[str]) -> Path:
    """The newest run folder under `root` that holds a model."""
    runs = sorted((p for p in Path(root).glob("*/") if (p / MODEL_FILE).is_file()), key=lambda p: p.name)
    if not runs:
        raise KaggleDigitsError(f"{root}: no finished runs found; train one with `kaggle-digits train`")
    return max(runs, key=lambda p: (p / MODEL_FILE).stat().st_mtime)


def resolve_run(run: str | os.PathLike[str] | None, root: str | os.PathLike[str]) -> Path:
    """A run folder from a path (folder or its model.npz), or the newest run when none is given."""
    if run is None:
        return latest_run(root)
    path = Path(run)
    if path.is_file() and path.name == MODEL_FILE:
        path = path.parent
    if not path.is_dir():
        raise KaggleDigitsError(f"{path}: run folder not found")
    return path


def load_run(run_dir: Path) -> Run:
    """Reload a finished run's record and model; an unfinished run or a corrupt file is a one-line error."""
    record = read_record(run_dir)
    if not (run_dir / MODEL_FILE).is_file():
        if record.status != "finished":
            raise KaggleDigitsError(
                f"{run_dir}: this run is {record.status} and has no model yet; "
                f"finish it with `kaggle-digits train --resume {run_dir}`"
            )
        raise KaggleDigitsError(f"{run_dir}: no {MODEL_FILE} in this folder; is it a kaggle-digits run?")
    model, _ = load_model(run_dir / MODEL_FILE)
    return Run(run_dir, record, model)
