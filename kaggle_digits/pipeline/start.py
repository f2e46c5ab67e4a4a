"""Starting a run: what `train` asks for, checked as a whole, and the run folder created before any data is read."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ConfigError
from ..places import RUNS_DIR, SUBMISSIONS_DIR
from ..runfolder.folder import (
    check_run_name,
    new_run_dir,
    read_record,
    resolve_run,
    timestamp,
    writable_folder,
    write_record,
)
from ..runfolder.record import DataSource, Estimate, RunRecord
from ..training.config import RUN_RULES, TrainConfig, check_field, network_count
from ..training.presets import PRESETS
from .workers import default_jobs


@dataclass(frozen=True)
class TrainRequest:
    """What `kaggle-digits train` asks for."""

    config: TrainConfig
    data: DataSource
    runs_root: Path = RUNS_DIR
    submissions_dir: Path = SUBMISSIONS_DIR
    members: int = 1
    folds: int = 0
    estimate_from: Path | None = None  # for a final fit (--dev-size 0): an earlier run of the same configuration
    jobs: int = 0  # networks trained side by side; 0: one per core, at most one per network
    cluster: str = ""  # a Dask scheduler's address to train the networks on; "": here
    study: str = ""  # the `tune` study this run is a trial of, and its number
    trial: int | None = None
    name: str = ""
    note: str = ""
    dev_size_set: bool = False  # the dev split was asked for by name, not left at the preset's

    @property
    def networks(self) -> int:
        return network_count(self.members, self.folds)


def start_run(request: TrainRequest) -> tuple[Path, RunRecord]:
    """Check every output place and create the run folder with its record, before any data is read."""
    check_request(request)
    borrowed = borrowed_estimate(request)
    submissions_dir = writable_folder(request.submissions_dir, "submissions", "submissions_dir")
    run_dir = new_run_dir(request.runs_root, f"{timestamp()}-{request.name or default_name(request)}")
    record = RunRecord(
        name=run_dir.name,
        config=request.config,
        data=request.data,
        members=request.members,
        folds=request.folds,
        jobs=request.jobs or default_jobs(request.networks),
        note=request.note,
        submissions_dir=str(submissions_dir),
        borrowed_estimate=borrowed,
        study=request.study,
        trial=request.trial,
    )
    write_record(run_dir, record)
    return run_dir, record


def default_name(request: TrainRequest) -> str:
    """The preset, with the mode when it is not a single network: cnn-5fold, best-x3."""
    folds = f"-{request.folds}fold" if request.folds else ""
    members = f"-x{request.members}" if request.members > 1 else ""
    return f"{request.config.preset}{folds}{members}"


def check_request(request: TrainRequest) -> None:
    """Options that cannot work together are refused before anything is created: the one check across options."""
    for name in RUN_RULES:
        check_field(name, getattr(request, name))
    if request.folds and (request.dev_size_set or request.config.dev_size != PRESETS[request.config.preset].dev_size):
        raise ConfigError(
            {"folds": request.folds, "dev_size": request.config.dev_size},
            "choose one; every fold is held out once, so there is no dev split",
        )
    if request.estimate_from is not None and request.config.dev_size != 0:
        raise ConfigError(
            {"estimate_from": request.estimate_from}, "only for a final fit on every row; add {dev_size} 0"
        )
    check_run_name(request.name)
    check_cluster(request.cluster, request.jobs)


def check_cluster(cluster: str, jobs: int | None) -> None:
    """A cluster's scheduler places the networks itself: --jobs says how many train side by side here."""
    if cluster and jobs:
        raise ConfigError(
            {"cluster": cluster, "jobs": jobs}, "choose one; the cluster's workers decide how many train at once"
        )


def borrowed_estimate(request: TrainRequest) -> Estimate | None:
    """The estimate of the named earlier run, refused unless it trained the same configuration on the same data."""
    if request.estimate_from is None:
        return None
    source = read_record(resolve_run(request.estimate_from))
    mine = request.config.replace(dev_size=0.1, split_seed=0, keep="last")
    theirs = source.config.replace(dev_size=0.1, split_seed=0, keep="last")
    if mine != theirs or source.tta != request.config.tta:
        raise ConfigError(
            {"estimate_from": request.estimate_from},
            "trained another configuration; its estimate says nothing about this one (same preset, options and "
            "{tta} needed)",
        )
    if source.estimate is None:
        raise ConfigError({"estimate_from": request.estimate_from}, "that run has no estimate of its own")
    method = f"from {request.estimate_from.name} ({source.estimate.method}), same configuration on fewer rows"
    return Estimate(source.estimate.accuracy, source.estimate.ci95, source.estimate.rows, method)
