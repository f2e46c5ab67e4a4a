"""The train job: check the output places, load, split, train every part with checkpoints, combine, predict, save.

A run is a folder whose record says how far it got. Every finished epoch leaves a checkpoint and every finished
part (an ensemble member, a fold) its network, so `resume_run` continues an interrupted or killed run where it
stopped and ends with the same weights, bit for bit on the same thread count, as a run never stopped.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
from pathlib import Path

from ..data import Digits, load_test, thin_digits
from ..errors import KaggleDigitsError
from ..files import remove_temp_files
from ..runfolder.critical import critical_section
from ..runfolder.folder import (
    lock_file,
    part_file,
    read_record,
    remove_leftovers,
    resolve_run,
    run_train_data,
    writable_folder,
    write_record,
)
from ..runfolder.lock import RunLock, RunLocked
from ..runfolder.record import PartRecord, RunRecord
from ..training.config import check_field
from .cluster import ClusterGone, train_on_cluster
from .finish import Clock, TrainOutcome, finish, submissions_folder
from .parts import OnEvent, Stage, reconcile
from .plan import Part, plan_parts
from .start import TrainRequest, check_cluster, start_run
from .workers import default_jobs, train_networks


class RunInterrupted(KaggleDigitsError):  # noqa: N818 (a stop, not an error)
    """A signal stopped the run; its folder keeps the last checkpoint and says how to resume."""

    def __init__(self, run_dir: Path, when: str, exit_code: int, cause: str = ""):
        self.run_dir, self.exit_code = run_dir, exit_code
        super().__init__(f"{cause}interrupted {when} — resume with: kaggle-digits train --resume {run_dir}")


class RunPruned(KaggleDigitsError):  # noqa: N818 (a stop, not an error)
    """Raised by an `on_event` callback to stop a run a search gave up on: the run is kept, marked pruned."""

    run_dir: Path | None = None


def train_run(request: TrainRequest, on_event: OnEvent | None = None, stage: Stage | None = None) -> TrainOutcome:
    """Train a new run from scratch; see `execute`."""
    with critical_section():  # a run folder always holds its record
        run_dir, record = start_run(request)
    try:
        return execute(run_dir, record, on_event, stage, request.cluster)
    except (RunInterrupted, RunPruned):
        raise
    except Exception:
        discard_or_mark_failed(run_dir, record)
        raise


def discard_or_mark_failed(run_dir: Path, record: RunRecord) -> None:
    """After an error: a run that finished no epoch leaves nothing behind; one that did is kept, marked failed."""
    if record.epochs_done == 0:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        record.status = "failed"
        write_record(run_dir, record)


def resume_run(
    run_dir: Path,
    on_event: OnEvent | None = None,
    stage: Stage | None = None,
    jobs: int | None = None,
    cluster: str = "",
) -> TrainOutcome:
    """Continue an interrupted or killed run with its own configuration and data (`jobs` networks side by side,
    default as it started; on the Dask scheduler at `cluster`, if one is named)."""
    run_dir = resolve_run(run_dir)
    record = read_record(run_dir)
    check_cluster(cluster, jobs)
    if jobs is not None:
        check_field("jobs", jobs)
        record.jobs = jobs or default_jobs(record.networks)
    if record.status == "finished":
        remove_leftovers(run_dir)
        raise KaggleDigitsError(f"{run_dir}: this run has finished already; nothing to resume")
    if record.status == "pruned":
        raise KaggleDigitsError(f"{run_dir}: `tune` pruned this trial as hopeless; start a new run of its recipe")
    if record.combined_from:
        raise KaggleDigitsError(f"{run_dir}: a combination of saved runs cannot be resumed; combine them again")
    writable_folder(submissions_folder(record), "submissions", "submissions_dir")
    as_found = copy.deepcopy(record)
    try:
        return execute(run_dir, record, on_event, stage, cluster)
    except (RunInterrupted, RunLocked):
        raise
    except Exception:
        if record.epochs_done == as_found.epochs_done:  # nothing trained: the record goes back to what it said
            write_record(run_dir, as_found)
        else:
            record.status = "failed"
            write_record(run_dir, record)
        raise


def execute(
    run_dir: Path, record: RunRecord, on_event: OnEvent | None, stage: Stage | None, cluster: str = ""
) -> TrainOutcome:
    """Load, train the parts not yet finished (here, or on the Dask scheduler at `cluster`), combine, predict
    test.csv and write the run's files.

    A signal (KeyboardInterrupt) at any moment marks the record `interrupted`, keeps the last checkpoint and raises
    RunInterrupted: an unfinished run writes no model and no submission.
    """
    stage = stage or (lambda _: None)
    with RunLock(lock_file(run_dir)) as lock:
        parts: list[Part] = []
        before = record.timings
        clock = Clock(earlier_s=before.get("earlier_s", 0.0), sessions=int(before.get("sessions", 0)) + 1)
        try:
            remove_temp_files(run_dir)  # what a process killed while writing left behind
            record.status, record.pid = "running", os.getpid()
            stage("Loading data")
            train, test = load_data(record, run_dir)
            if warning := thin_digits(train):
                stage(warning)
            clock.mark("loaded")
            parts = plan_parts(train, record.config, record.members, record.folds)
            describe_data(record, train, parts)
            reconcile(run_dir, record, parts)
            if cluster:
                networks = train_on_cluster(cluster, run_dir, record, train, test, parts, on_event, stage)
            else:
                networks = train_networks(run_dir, record, train, parts, on_event, stage, lock)
            clock.mark("trained")
            return finish(run_dir, record, networks, train, test, parts, clock, stage)
        except RunPruned as pruned:
            with critical_section():
                reconcile(run_dir, record, parts)
                record.timings, record.status = clock.so_far(), "pruned"
                write_record(run_dir, record)
            pruned.run_dir = run_dir
            raise
        except (KeyboardInterrupt, ClusterGone) as stop:
            if record.status == "finished":  # stopped after the record said so: only cleaning up was left
                raise
            with critical_section():
                reconcile(run_dir, record, parts)
                record.timings = clock.so_far()
                record.status = "interrupted"
                write_record(run_dir, record)
            cause = f"{stop}; " if isinstance(stop, ClusterGone) else ""
            raise interrupted(run_dir, record, parts, getattr(stop, "exit_code", 130), cause) from None


def interrupted(run_dir: Path, record: RunRecord, parts: list[Part], exit_code: int, cause: str = "") -> RunInterrupted:
    """Where a stopped run stands: the first unfinished network's epoch, and how many are done."""
    unfinished = [part for part in parts if not part_file(run_dir, part.index).is_file()]
    if parts and not unfinished:  # every network trained: stopped while scoring or predicting
        return RunInterrupted(run_dir, "after training, while predicting (every network is kept)", exit_code, cause)
    current = unfinished[0] if unfinished else None
    where = f" of {current.label}" if current and current.label else ""
    if record.jobs > 1 and len(unfinished) > 1:
        where += f" ({len(parts) - len(unfinished)} of {len(parts)} networks finished)"
    done = record.parts[current.index].epochs_done if current else 0
    return RunInterrupted(run_dir, f"at {record.config.unit} {done}/{record.config.epochs}{where}", exit_code, cause)


def load_data(record: RunRecord, run_dir: Path) -> tuple[Digits, Digits]:
    """train.csv and test.csv of the run's source; on resume, refused if train.csv is not the file it began with."""
    train = run_train_data(record, run_dir.name, "it cannot be resumed on other data — start a new run")
    return train, load_test(record.data.folder)


def describe_data(record: RunRecord, train: Digits, parts: list[Part]) -> None:
    """Fill the record's data fingerprint and row counts, and its part list on a first start."""
    if not record.parts:
        record.parts = [PartRecord(kind=p.kind, index=p.index, seed=p.seed) for p in parts]
    held_out = len(train) if record.folds else len(parts[0].held_out_idx)
    fields = {"train_fingerprint": train.fingerprint, "train_rows": len(parts[0].train_idx), "dev_rows": held_out}
    record.data = dataclasses.replace(record.data, **fields)
