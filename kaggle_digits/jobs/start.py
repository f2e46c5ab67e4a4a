"""Starting a run: what `train` asks for, checked as a whole, and the run folder created before any data is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import KaggleDigitsError
from ..training.presets import PRESETS, TrainConfig
from .record import DataSource, Estimate, RunRecord, read_record, write_record
from .runs import new_run_dir, timestamp, writable_folder


@dataclass(frozen=True)
class TrainRequest:
    """What `kaggle-digits train` asks for."""

    config: TrainConfig
    data: DataSource
    runs_root: Path = Path("runs")
    submissions_dir: Path = Path("submissions")
    members: int = 1
    folds: int = 0
    estimate_from: Path | None = None  # for a final fit (--dev-size 0): an earlier run of the same configuration
    name: str = ""
    note: str = ""


def start_run(request: TrainRequest) -> tuple[Path, RunRecord]:
    """Check every output place and create the run folder with its record, before any data is read."""
    check_request(request)
    borrowed = borrowed_estimate(request)
    submissions_dir = writable_folder(request.submissions_dir, "submissions", "--submissions-dir")
    suffix = (f"-{request.folds}fold" if request.folds else "") + (
        f"-x{request.members}" if request.members > 1 else ""
    )
    run_dir = new_run_dir(request.runs_root, f"{timestamp()}-{request.name or request.config.preset}{suffix}")
    record = RunRecord(
        name=run_dir.name,
        preset=request.config.preset,
        config=request.config,
        data=request.data,
        members=request.members,
        folds=request.folds,
        tta=request.config.tta,
        note=request.note,
        submission=str(submissions_dir / f"{run_dir.name}.csv"),
        borrowed_estimate=borrowed,
    )
    write_record(run_dir, record)
    return run_dir, record


def check_request(request: TrainRequest) -> None:
    """Options that cannot work together are refused before anything is created."""
    if request.members < 1:
        raise KaggleDigitsError(f"--ensemble {request.members}: train at least 1 model")
    if request.folds == 1 or request.folds < 0:
        raise KaggleDigitsError(f"--folds {request.folds}: use 2 or more folds (5 is usual), or 0 for a dev split")
    if request.folds and request.config.dev_size != PRESETS[request.config.preset].dev_size:
        raise KaggleDigitsError("--folds and --dev-size: choose one; every fold is held out once, so no dev split")
    if request.estimate_from is not None and request.config.dev_size != 0:
        raise KaggleDigitsError("--estimate-from is for a final fit on every row: add --dev-size 0")


def borrowed_estimate(request: TrainRequest) -> Estimate | None:
    """The estimate of the named earlier run, refused unless it trained the same configuration on the same data."""
    if request.estimate_from is None:
        return None
    source = read_record(request.estimate_from)
    mine = request.config.replace(dev_size=0.1, split_seed=0, keep="last")
    theirs = source.config.replace(dev_size=0.1, split_seed=0, keep="last")
    if mine != theirs or source.tta != request.config.tta:
        raise KaggleDigitsError(
            f"--estimate-from {request.estimate_from}: trained another configuration; its estimate says nothing "
            "about this one (same preset, options and --tta needed)"
        )
    if source.estimate is None:
        raise KaggleDigitsError(f"--estimate-from {request.estimate_from}: that run has no estimate of its own")
    method = f"from {request.estimate_from.name} ({source.estimate.method}), same configuration on fewer rows"
    return Estimate(source.estimate.accuracy, source.estimate.ci95, source.estimate.rows, method)
