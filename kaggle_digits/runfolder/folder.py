"""Run folders (`runs/<timestamp>-<name>/`): created and checked before any work, found, named, listed, reloaded."""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..data import Digits, load_train
from ..errors import ConfigError, KaggleDigitsError
from ..files import remove_temp_files
from ..nn.network import Model
from ..nn.serialize import load_model
from .lock import alive, holder_pid, is_locked
from .record import METRICS_FILE, RunRecord, read_record

MODEL_FILE = "model.npz"
DEFAULT_RUNS_DIR = Path("runs")  # where runs go and are looked for unless a runs folder is named


@dataclass(frozen=True)
class Run:
    """A run folder and its record, model not loaded."""

    path: Path
    record: RunRecord


@dataclass(frozen=True)
class TrainedRun(Run):
    """A finished run with its model loaded (a network, or an ensemble of them)."""

    model: Model


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def writable_folder(folder: str | os.PathLike[str], what: str, setting: str) -> Path:
    """Create `folder` if needed and prove it takes files, so a long run cannot fail at its very end; `setting` is
    the name of the setting that chose it (runs_dir, submissions_dir)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError({setting: folder}, f"not a folder; give {{{setting}}} a folder for {what}")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(
            {setting: folder}, f"cannot write {what} there ({exc.strerror or exc}); choose another {{{setting}}}"
        ) from None
    return folder


def new_run_dir(root: str | os.PathLike[str], name: str) -> Path:
    """Create `root/name`, adding -2, -3… when a run of the same second already exists."""
    root = writable_folder(root, "run folders", "runs_dir")
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
class UnreadableRun:
    """A folder that looks like a run but whose record cannot be read, and why."""

    path: Path
    reason: str


def run_folders(root: str | os.PathLike[str]) -> list[Path]:
    """Every folder under `root` that holds a run record, oldest first (names start with the start time)."""
    return sorted(p.parent for p in Path(root).glob(f"*/{METRICS_FILE}"))


def scan_runs(root: str | os.PathLike[str]) -> tuple[list[Run], list[UnreadableRun]]:
    """Every run under `root`, oldest first: those whose record reads, and those whose record or folder does not
    (a folder this user may not open is listed too, with the reason)."""
    found, unreadable = [], []
    for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()) if Path(root).is_dir() else []:
        try:
            if not (folder / METRICS_FILE).exists():
                continue
            found.append(Run(folder, read_record(folder)))
        except PermissionError as exc:
            unreadable.append(UnreadableRun(folder, f"cannot be read ({exc.strerror})"))
        except KaggleDigitsError as exc:
            unreadable.append(UnreadableRun(folder, str(exc).removeprefix(f"{folder / METRICS_FILE}: ")))
    return found, unreadable


def local_runs(root: str | os.PathLike[str]) -> list[Run]:
    """Every readable run under `root`, oldest first."""
    return scan_runs(root)[0]


def run_status(path: Path, record: RunRecord) -> str:
    """The record's status, or "stopped" for a "running" run that no live process trains: one word everywhere."""
    if record.status != "running":
        return record.status
    locked = is_locked(path)
    training = alive(record.pid) if locked is None else locked  # runs from before locks: their pid
    return "running" if training else "stopped"


def latest_run(root: str | os.PathLike[str]) -> Path:
    """The newest run folder under `root` that holds a model."""
    runs = sorted((p for p in Path(root).glob("*/") if (p / MODEL_FILE).is_file()), key=lambda p: p.name)
    if not runs:
        raise KaggleDigitsError(f"{root}: no finished runs found; train one with `kaggle-digits train`")
    return max(runs, key=lambda p: (p / MODEL_FILE).stat().st_mtime)


def resolve_run(run: str | os.PathLike[str] | None, root: str | os.PathLike[str] | None = None) -> Path:
    """A run folder from a path, a file inside it (model.npz, metrics.json…) or a folder name under `root`; the
    newest finished run under `root` when none is given."""
    if run is None:
        return latest_run(root or "runs")
    path = Path(run)
    if not path.exists() and root is not None and (Path(root) / path).exists():
        path = Path(root) / path
    if path.is_file() and path.parent.joinpath(METRICS_FILE).is_file():
        path = path.parent
    if not path.exists():
        raise KaggleDigitsError(f"{path}: run folder not found")
    if not path.is_dir() or not (path / METRICS_FILE).is_file():
        raise KaggleDigitsError(f"{path}: not a run folder (a run folder holds {METRICS_FILE})")
    return path


def stopped_hint(path: Path, status: str) -> str:
    """What to do with a run that has not finished."""
    if status == "running":
        return f"it is still training (process {holder_pid(path) or 'unknown'}); wait until it finishes"
    return f"finish it with `kaggle-digits train --resume {path}`, or delete the folder"


def load_run(run_dir: Path) -> TrainedRun:
    """Reload a finished run's record and model; an unfinished run or a corrupt file is a one-line error."""
    record = read_record(run_dir)
    status = run_status(run_dir, record)
    if status != "finished":
        raise KaggleDigitsError(
            f"{run_dir}: this run is {status} and has no model yet; {stopped_hint(run_dir, status)}"
        )
    if record.is_blend:
        members = ", ".join(Path(p).name for p in record.combined_from)
        raise KaggleDigitsError(f"{run_dir}: a blend has no model of its own; use one of its members ({members})")
    if not (run_dir / MODEL_FILE).is_file():
        raise KaggleDigitsError(f"{run_dir}: {MODEL_FILE} is missing from this finished run; train it again")
    remove_leftovers(run_dir)
    model, _ = load_model(run_dir / MODEL_FILE)
    return TrainedRun(run_dir, record, model)


def remove_leftovers(run_dir: Path) -> None:
    """A finished run needs no part files, predictions, checkpoint or temp files: a kill just before their removal
    left them."""
    leftovers = ("part*.npz", "predictions*.npz", "checkpoint*.npz")
    for leftover in (path for pattern in leftovers for path in run_dir.glob(pattern)):
        with contextlib.suppress(OSError):
            leftover.unlink(missing_ok=True)
    remove_temp_files(run_dir)


def run_train_data(record: RunRecord, run_name: str, consequence: str) -> Digits:
    """train.csv of the run's data source, refused when it is not the file the run was trained on."""
    train = load_train(record.data.folder)
    expected = record.data.train_fingerprint
    if expected and train.fingerprint != expected:
        raise KaggleDigitsError(
            f"{train.path}: changed since run {run_name} was trained (fingerprint {train.fingerprint}, was "
            f"{expected}); {consequence}"
        )
    return train
