"""Run folders (`runs/<timestamp>-<name>/`): created and checked before any work, found, named, listed, reloaded."""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..constants import N_CLASSES
from ..data import Digits, load_train
from ..errors import ConfigError, KaggleDigitsError
from ..files import atomic_path, atomic_write_text, read_json_object, remove_temp_files
from ..nn.network import Model
from ..nn.serialize import load_model
from ..places import RUNS_DIR
from .lock import alive, holder_pid, is_locked
from .record import RECORD_FORMAT, RunRecord

# The layout of a run folder: every file a run keeps is named here and nowhere else.
METRICS_FILE = "metrics.json"  # the record (runfolder/record.py)
MODEL_FILE = "model.npz"  # the finished network or ensemble
HELDOUT_FILE = "heldout.npz"  # softmax of the rows the networks never trained on
TEST_SOFTMAX_FILE = "test_softmax.npz"  # softmax on test.csv, what the CSV is the argmax of
CURVES_FILE = "curves.png"
CONFUSION_FILE = "confusion.png"  # written by `evaluate`
EVALUATION_FILE = "evaluation.json"  # written by `evaluate`
LOCK_FILE = ".lock"  # held while a process trains the run
LEGACY_CHECKPOINT = "checkpoint.npz"  # one checkpoint per run, before networks trained side by side
LEFTOVERS = ("part*.npz", "predictions*.npz", "checkpoint*.npz")  # an unfinished run's files


def part_file(run_dir: Path, index: int) -> Path:
    """Where a finished network of an unfinished run waits for the others."""
    return run_dir / f"part{index}.npz"


def checkpoint_file(run_dir: Path, index: int) -> Path:
    """Each network's own checkpoint, so networks trained side by side never share one."""
    return run_dir / f"checkpoint{index}.npz"


def predictions_file(run_dir: Path, index: int) -> Path:
    """A network's softmax on its held-out rows and test.csv, kept until the run finishes."""
    return run_dir / f"predictions{index}.npz"


def mistakes_picture_file(run_dir: Path, suffix: str, why: bool = False) -> Path:
    """`misclassified` (with `--why`: `misclassified-why`) and the digits it was narrowed to, as a picture."""
    return run_dir / f"misclassified{'-why' if why else ''}{suffix}.png"


def why_picture_file(run_dir: Path, what: str) -> Path:
    """The maps behind one reading: `what` is `test-17`, `train-5` or a photo's file name without its suffix."""
    return run_dir / f"why-{what}.png"


def lock_file(run_dir: Path) -> Path:
    return Path(run_dir) / LOCK_FILE


@dataclass(frozen=True)
class Run:
    """A run folder and its record, model not loaded."""

    path: Path
    record: RunRecord


@dataclass(frozen=True)
class TrainedRun(Run):
    """A finished run with its model loaded (a network, or an ensemble of them; None for a blend looked at without
    one: its held-out rows are in its folder, its model is its members')."""

    model: Model | None


RUN_NAME = re.compile(r"\w[\w.+-]{0,79}")  # one folder name: no separator, not hidden, not a flag


def check_run_name(name: str) -> None:
    """A name given to a run (`train --name`, `ensemble --name`) becomes part of its folder and its CSV."""
    if name and not RUN_NAME.fullmatch(name):
        raise ConfigError(
            {"name": name},
            "a run name is one folder name of up to 80 letters, digits, '.', '_', '+' or '-', starting with a "
            "letter or digit",
        )


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
    locked = is_locked(lock_file(path))
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
        return latest_run(root or RUNS_DIR)
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
        return f"it is still training (process {holder_pid(lock_file(path)) or 'unknown'}); wait until it finishes"
    if status == "pruned":
        return "`tune` stopped it as hopeless; retrain its recipe with `kaggle-digits train` if you want it"
    return f"finish it with `kaggle-digits train --resume {path}`, or delete the folder"


def load_run(run_dir: Path, model: bool = True) -> TrainedRun:
    """Reload a finished run's record and model (a blend's only without `model`: it has none of its own); an
    unfinished run or a corrupt file is a one-line error."""
    record = read_record(run_dir)
    status = run_status(run_dir, record)
    if status != "finished":
        raise KaggleDigitsError(
            f"{run_dir}: this run is {status} and has no model yet; {stopped_hint(run_dir, status)}"
        )
    if record.is_blend and not model:
        return TrainedRun(run_dir, record, None)
    if record.is_blend:
        members = ", ".join(Path(p).name for p in record.combined_from)
        raise KaggleDigitsError(f"{run_dir}: a blend has no model of its own; use one of its members ({members})")
    if not (run_dir / MODEL_FILE).is_file():
        raise KaggleDigitsError(f"{run_dir}: {MODEL_FILE} is missing from this finished run; train it again")
    remove_leftovers(run_dir)
    network, _ = load_model(run_dir / MODEL_FILE)
    return TrainedRun(run_dir, record, network)


def remove_leftovers(run_dir: Path) -> None:
    """A finished run needs no part files, predictions, checkpoint or temp files: a kill just before their removal
    left them."""
    for leftover in (path for pattern in LEFTOVERS for path in run_dir.glob(pattern)):
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


# The record, read and written here only.


def write_record(run_dir: Path, record: RunRecord) -> Path:
    """Write the record atomically, its paths relative to the run folder (so a moved runs folder still works)."""
    path = run_dir / METRICS_FILE
    atomic_write_text(path, json.dumps(_paths_from(record.to_json(), run_dir, _relative), indent=2) + "\n")
    return path


def _paths_from(values: dict[str, Any], run_dir: Path, convert) -> dict[str, Any]:
    """The record's paths (submission, submissions_dir, data.dir, combined_from) passed through `convert(path,
    run folder)`; empty paths stay empty."""
    base = os.path.realpath(run_dir)  # the folder itself, wherever links or mounts show it
    one = lambda text: convert(text, base) if text else text  # noqa: E731
    values = dict(values)
    values["submission"] = one(values.get("submission"))
    values["submissions_dir"] = one(values.get("submissions_dir", ""))
    values["combined_from"] = [one(p) for p in values.get("combined_from", [])]
    if isinstance(values.get("data"), dict) and values["data"].get("source") == "full":
        values["data"] = values["data"] | {"dir": one(values["data"].get("dir", ""))}
    return values


def _relative(text: str, base: str) -> str:
    """A path as stored: relative to the run folder, both with their links resolved."""
    return os.path.relpath(os.path.realpath(text), base)


def _under(text: str, base: str) -> str:
    """A path stored relative to the run folder, as an absolute one."""
    return os.path.normpath(os.path.join(base, text))


def read_record(run_dir: Path) -> RunRecord:
    """The record of a run folder; a missing, corrupt or foreign file is a one-line error naming it."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise KaggleDigitsError(f"{run_dir}: run folder not found")
    path = run_dir / METRICS_FILE
    if not path.is_file():
        raise KaggleDigitsError(f"{run_dir}: not a run folder (no {METRICS_FILE})")
    values = read_json_object(path, "kaggle-digits run record")
    try:
        if values.get("format") in (3, RECORD_FORMAT):
            values = _paths_from(values, run_dir, _under)
        record = RunRecord.from_json(values)
    except KaggleDigitsError as exc:
        raise KaggleDigitsError(f"{path}: not a valid run record ({exc})") from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        detail = f"no {exc}" if isinstance(exc, KeyError) else str(exc)
        raise KaggleDigitsError(f"{path}: not a valid kaggle-digits run record ({detail})") from None
    record.name = run_dir.name
    return record


# Softmax kept for the rows held out, for test.csv, and per network while the run trains.


@dataclass(frozen=True)
class HeldOut:
    """Softmax of held-out rows of train.csv, by the networks that did not train on them."""

    rows: np.ndarray  # (M,) 0-based rows of train.csv
    proba: np.ndarray  # (M, 10)

    def hits(self, labels: np.ndarray) -> np.ndarray:
        """Whether each held-out row is predicted right."""
        return self.proba.argmax(axis=1) == labels[self.rows]  # (M,)

    def correct(self, labels: np.ndarray) -> int:
        return int(self.hits(labels).sum())


def save_held_out(run_dir: Path, scored: HeldOut) -> None:
    with atomic_path(run_dir / HELDOUT_FILE) as tmp, tmp.open("wb") as handle:
        np.savez(handle, rows=scored.rows, proba=scored.proba)


def save_test_softmax(run_dir: Path, proba: np.ndarray, test_fingerprint: str) -> None:
    """Keep the run's softmax on test.csv (what its CSV is the argmax of), so blends need not predict again."""
    with atomic_path(run_dir / TEST_SOFTMAX_FILE) as tmp, tmp.open("wb") as handle:
        np.savez(handle, proba=proba.astype(np.float32), test_fingerprint=np.array(test_fingerprint))


def load_held_out(run_dir: Path, train_rows: int) -> HeldOut | None:
    """The held-out predictions a run kept (rows of a train.csv of `train_rows` rows), or None for runs written
    before they were kept; a damaged or edited file is a one-line error naming it."""
    path = run_dir / HELDOUT_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            scored = HeldOut(stored["rows"], stored["proba"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as exc:
        why = "empty" if isinstance(exc, EOFError) else f"truncated or not an .npz file ({type(exc).__name__})"
        raise KaggleDigitsError(
            f"{path}: {why}; the run's held-out predictions are lost — train the run again to see them"
        ) from None
    if scored.rows.ndim != 1 or scored.proba.shape != (len(scored.rows), 10):
        raise KaggleDigitsError(f"{path}: arrays of the wrong shape; train the run again to see its held-out rows")
    rows, proba = scored.rows, scored.proba
    problem = (
        "row numbers that are not whole numbers" if not np.issubdtype(rows.dtype, np.integer)
        else f"row numbers outside 0–{train_rows - 1:,} (train.csv has {train_rows:,} rows)"
        if len(rows) and (rows.min() < 0 or rows.max() >= train_rows)
        else "a row named twice" if len(np.unique(rows)) != len(rows)
        else "probabilities that are not finite numbers" if not (
            np.issubdtype(proba.dtype, np.floating) and np.isfinite(proba).all()
        )
        else None
    )  # fmt: skip
    if problem:
        raise KaggleDigitsError(f"{path}: holds {problem}; train the run again to see its held-out rows")
    return scored


def load_test_softmax(run_dir: Path, rows: int, fingerprint: str) -> np.ndarray | None:
    """The test softmax a run kept, when it is of this test.csv; a damaged file is a one-line refusal."""
    path = run_dir / TEST_SOFTMAX_FILE
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as stored:
            proba, kept_for = stored["proba"], str(stored["test_fingerprint"])
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        raise KaggleDigitsError(f"{path}: damaged (not the .npz the run wrote); train the run again") from None
    if proba.shape != (rows, 10) or not np.issubdtype(proba.dtype, np.floating) or not np.isfinite(proba).all():
        raise KaggleDigitsError(f"{path}: not {rows:,} rows of 10 probabilities; train the run again")
    return proba if kept_for == fingerprint else None


@dataclass(frozen=True)
class PartPredictions:
    """One network's softmax (averaged over the run's test-time views) on its held-out rows and on test.csv."""

    held_out: np.ndarray  # (M, 10), rows part.held_out_idx
    test: np.ndarray  # (T, 10)
    held_out_one_view: np.ndarray | None = None  # (M, 10): the image alone, to show what the views gained


def read_part_predictions(path: Path, held_rows: int, test_rows: int, fingerprint: str) -> PartPredictions | None:
    """Kept predictions of the right shapes for this test.csv; None when absent, unreadable or for other files."""
    if not path.is_file():
        return None
    with contextlib.suppress(OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile):
        with np.load(path, allow_pickle=False) as stored:
            one_view = stored["held_out_one_view"] if "held_out_one_view" in stored.files else None
            kept = PartPredictions(stored["held_out"], stored["test"], one_view)
            same_test = str(stored["test_fingerprint"]) == fingerprint
        if same_test and kept.held_out.shape == (held_rows, N_CLASSES) and kept.test.shape == (test_rows, N_CLASSES):
            return kept
    return None


def save_part_predictions(path: Path, predicted: PartPredictions, test_fingerprint: str) -> None:
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(
            handle,
            held_out=predicted.held_out,
            test=predicted.test,
            held_out_one_view=predicted.held_out_one_view,
            test_fingerprint=np.array(test_fingerprint),
        )
