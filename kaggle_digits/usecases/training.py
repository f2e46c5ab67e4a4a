"""Train and resume: a preset with the settings given becomes one checked request, trained with whatever live display
the face passes in (callbacks; nothing here prints)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..pipeline.cluster import cluster_address
from ..pipeline.finish import TrainOutcome
from ..pipeline.parts import OnEvent, Stage
from ..pipeline.start import TrainRequest
from ..pipeline.train import resume_run, train_run
from ..places import DATA_DIR, RUNS_DIR, SUBMISSIONS_DIR
from ..runfolder.folder import read_record, resolve_run
from ..runfolder.record import DataSource, RunRecord
from ..training.config import TrainConfig
from ..training.presets import preset_config, preset_members

PathLike = str | os.PathLike[str]
# A run's own options, apart from its configuration's settings.
RUN_OPTIONS = ("runs_dir", "submissions_dir", "ensemble", "folds", "estimate_from", "jobs", "cluster", "name", "note")
SETTINGS = tuple(f.name for f in dataclasses.fields(TrainConfig) if f.name not in ("preset", "notes"))


def data_source(sample: bool, data_dir: PathLike | None) -> DataSource:
    """The bundled sample, or Kaggle's files in `data_dir` (data/ when none is named); not both."""
    if sample and data_dir is not None:
        raise ConfigError({"sample": True, "data_dir": data_dir}, "choose one: the bundled sample, or a data folder")
    return DataSource.sample() if sample else DataSource.full(data_dir or DATA_DIR)


def train_request(
    preset: str,
    data: DataSource,
    *,
    runs_dir: PathLike = RUNS_DIR,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
    ensemble: int | None = None,
    folds: int = 0,
    estimate_from: PathLike | None = None,
    jobs: int | None = None,
    cluster: str | None = None,
    name: str = "",
    note: str = "",
    **settings: Any,
) -> TrainRequest:
    """The preset with the settings given (TrainConfig's fields by name; None keeps the preset's); the request is
    checked as a whole where every train starts (`pipeline.start.check_request`)."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ConfigError({key: settings[key] for key in unknown}, f"not a setting; use {', '.join(SETTINGS)}")
    for sizes in ("hidden_sizes", "conv_channels"):
        if isinstance(settings.get(sizes), list):
            settings[sizes] = tuple(settings[sizes])
    request = TrainRequest(
        config=preset_config(preset, **settings),
        data=data,
        runs_root=Path(runs_dir),
        submissions_dir=Path(submissions_dir),
        members=preset_members(preset) if ensemble is None else ensemble,
        folds=folds,
        estimate_from=Path(estimate_from) if estimate_from is not None else None,
        jobs=0 if jobs is None else jobs,
        cluster=cluster_address(cluster),
        name=name,
        note=note,
        dev_size_set=settings.get("dev_size") is not None,
    )
    return request


def train(request: TrainRequest, on_event: OnEvent | None = None, stage: Stage | None = None) -> TrainOutcome:
    """Train the request's networks, with its estimate, model and CSV."""
    return train_run(request, on_event, stage)


def stopped_run(run: PathLike) -> RunRecord:
    """The record of a run to resume (for the display to know its shape before it starts)."""
    return read_record(resolve_run(run))


def resume(
    run: PathLike,
    jobs: int | None = None,
    on_event: OnEvent | None = None,
    stage: Stage | None = None,
    cluster: str | None = None,
) -> TrainOutcome:
    """Continue an interrupted or killed run with its own settings, to the weights a run never stopped reaches (on
    the Dask scheduler at `cluster`, or DASK_SCHEDULER_ADDRESS's, if one is named)."""
    return resume_run(Path(run), on_event, stage, jobs, cluster_address(cluster))
