"""The train job: check the output places, load, split, train every part with checkpoints, combine, predict, save.

A run is a folder whose record says how far it got. Every finished epoch leaves a checkpoint and every finished
part (an ensemble member, a fold) its network, so `resume_run` continues an interrupted or killed run where it
stopped and ends with the same weights, bit for bit on the same thread count, as a run never stopped.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data import Digits, load_test
from ..errors import KaggleDigitsError
from ..files import remove_temp_files
from ..nn.augment import AffineAugment
from ..nn.network import Network, build_network
from ..nn.serialize import load_model, save_model
from ..training.architecture import architecture
from ..training.checkpoint import load_checkpoint, read_extra, save_checkpoint
from ..training.config import TrainConfig
from ..training.fit import Split, Trainer, TrainEvent
from .finish import Clock, TrainOutcome, finish, submissions_folder
from .folders import CHECKPOINT_FILE, remove_leftovers, resolve_run, run_train_data, writable_folder
from .lock import RunLock
from .plan import Part, generators, plan_parts
from .record import PartRecord, RunRecord, read_record, write_record
from .start import TrainRequest, start_run

Stage = Callable[[str], None]
OnEvent = Callable[[TrainEvent], None]


class RunInterrupted(KaggleDigitsError):  # noqa: N818 (a stop, not an error)
    """A signal stopped the run; its folder keeps the last checkpoint and says how to resume."""

    def __init__(self, run_dir: Path, epoch: int, epochs: int, where: str, exit_code: int):
        self.run_dir, self.exit_code = run_dir, exit_code
        super().__init__(
            f"interrupted at epoch {epoch}/{epochs}{where} — resume with: kaggle-digits train --resume {run_dir}"
        )


CHECKPOINT_EVERY_S = 1.0  # full-batch runs: one checkpoint a second, not one per iteration


def train_run(request: TrainRequest, on_event: OnEvent | None = None, stage: Stage | None = None) -> TrainOutcome:
    """Train a new run from scratch; see `execute`."""
    run_dir, record = start_run(request)
    try:
        return execute(run_dir, record, on_event, stage)
    except RunInterrupted:
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


def resume_run(run_dir: Path, on_event: OnEvent | None = None, stage: Stage | None = None) -> TrainOutcome:
    """Continue an interrupted or killed run with its own configuration and data."""
    run_dir = resolve_run(run_dir)
    record = read_record(run_dir)
    if record.status == "finished":
        remove_leftovers(run_dir)
        raise KaggleDigitsError(f"{run_dir}: this run has finished already; nothing to resume")
    if record.combined_from:
        raise KaggleDigitsError(f"{run_dir}: a combination of saved runs cannot be resumed; combine them again")
    writable_folder(submissions_folder(record), "submissions", "--submissions-dir")
    try:
        return execute(run_dir, record, on_event, stage)
    except RunInterrupted:
        raise
    except Exception:
        if read_record(run_dir).status == "running":  # it checkpointed in this session, then failed
            record.status = "failed"
            write_record(run_dir, record)
        raise


def execute(run_dir: Path, record: RunRecord, on_event: OnEvent | None, stage: Stage | None) -> TrainOutcome:
    """Load, train the parts not yet finished, combine, predict test.csv and write the run's files.

    A signal (KeyboardInterrupt) marks the record `interrupted`, keeps the last checkpoint and raises
    RunInterrupted: an unfinished run writes no model and no submission.
    """
    stage = stage or (lambda _: None)
    with RunLock(run_dir):
        remove_temp_files(run_dir)  # what a process killed while writing left behind
        return _execute(run_dir, record, on_event, stage)


def _execute(run_dir: Path, record: RunRecord, on_event: OnEvent | None, stage: Stage) -> TrainOutcome:
    clock = Clock()
    record.status, record.pid = "running", os.getpid()
    networks: list[Network] = []
    parts: list[Part] = []
    try:
        stage("Loading data")
        train, test = load_data(record, run_dir)
        clock.mark("loaded")
        parts = plan_parts(train, record.config, record.members, record.folds)
        describe_data(record, train, parts)
        for part in parts:
            networks.append(train_part(run_dir, record, train, part, on_event, stage))
    except KeyboardInterrupt as stop:
        record.status = "interrupted"
        write_record(run_dir, record)
        current = parts[len(networks)] if parts and len(networks) < len(parts) else None
        where = f" of {current.label}" if current and current.label else ""
        done = record.parts[current.index].epochs_done if current else 0
        raise RunInterrupted(run_dir, done, record.config.epochs, where, getattr(stop, "exit_code", 130)) from None
    clock.mark("trained")
    return finish(run_dir, record, networks, train, test, parts, clock, stage)


def load_data(record: RunRecord, run_dir: Path) -> tuple[Digits, Digits]:
    """train.csv and test.csv of the run's source; on resume, refused if train.csv is not the file it began with."""
    train = run_train_data(record, run_dir.name, "it cannot be resumed on other data — start a new run")
    return train, load_test(record.data.folder)


def describe_data(record: RunRecord, train: Digits, parts: list[Part]) -> None:
    """Fill the record's data fingerprint and row counts, and its part list on a first start."""
    if not record.parts:
        record.parts = [PartRecord(kind=p.kind, index=p.index, seed=p.seed) for p in parts]
    held_out = len(train) if record.folds else len(parts[0].eval_idx)
    fields = {"train_fingerprint": train.fingerprint, "train_rows": len(parts[0].train_idx), "dev_rows": held_out}
    record.data = dataclasses.replace(record.data, **fields)


def augmentation(config: TrainConfig) -> AffineAugment | None:
    """The random warp a configuration trains with, or None without --augment."""
    return AffineAugment(elastic=config.elastic) if config.augment else None


def part_file(run_dir: Path, part: Part) -> Path:
    return run_dir / f"part{part.index}.npz"


def train_part(
    run_dir: Path, record: RunRecord, train: Digits, part: Part, on_event: OnEvent | None, stage: Stage
) -> Network:
    """Train one part, continuing from its checkpoint when there is one; a finished part is read back instead."""
    done = part_file(run_dir, part)
    if done.is_file():
        network, _ = load_model(done)
        return network
    if part.label:
        stage(f"{part.label.capitalize()} (seed {part.seed})")
    config = record.config.replace(seed=part.seed)
    _, init_rng, train_rng = generators(part.seed)
    network = build_network(architecture(config), init_rng)
    split = Split(
        train.features(part.train_idx),
        train.labels[part.train_idx],
        train.features(part.eval_idx),
        train.labels[part.eval_idx],
    )
    augment = augmentation(config)
    checkpoint = run_dir / CHECKPOINT_FILE
    part_record = record.parts[part.index]
    last_saved = time.monotonic()

    def save(trainer: Trainer) -> None:
        """Checkpoint and record move together, so the record never claims an epoch the checkpoint lacks."""
        nonlocal last_saved
        save_checkpoint(checkpoint, trainer, {"part": part.index})
        update_part(part_record, trainer)
        write_record(run_dir, record)
        last_saved = time.monotonic()

    def after_epoch(trainer: Trainer) -> None:
        """Every mini-batch epoch; full-batch iterations (a fraction of a second each) once a second."""
        due = config.batch_size != 0 or time.monotonic() - last_saved >= CHECKPOINT_EVERY_S
        if due and trainer.state.epoch < config.epochs:
            save(trainer)

    trainer = Trainer(network, split, config, train_rng, augment, on_event, after_epoch, part.label)
    if checkpoint.is_file() and checkpoint_part(checkpoint, part) == part.index:
        load_checkpoint(checkpoint, trainer)
        stage(f"Resuming from {config.unit} {trainer.state.epoch}/{config.epochs}")
    trainer.run()
    save_model(done, network, {"config": config.to_dict(), "meta": {"part": part.index}})
    update_part(part_record, trainer)
    write_record(run_dir, record)
    checkpoint.unlink(missing_ok=True)
    return network


def checkpoint_part(checkpoint: Path, part: Part) -> int | None:
    """Which part a checkpoint belongs to; an unreadable one is an error that says what to do."""
    try:
        return read_extra(checkpoint).get("part")
    except KaggleDigitsError as exc:
        which = part.label or "the network"
        raise KaggleDigitsError(
            f"{exc}; delete it and resume again to retrain {which} from its first epoch (finished parts are kept)"
        ) from None


def update_part(part: PartRecord, trainer: Trainer) -> None:
    state = trainer.state
    part.epochs_done = state.epoch
    part.history = [r.__dict__ for r in state.history]
    part.last_accuracy = None if np.isnan(state.last_accuracy) else state.last_accuracy
    part.best_accuracy = None if np.isnan(state.best_accuracy) else state.best_accuracy
    part.best_epoch = state.best_epoch
    part.samples_per_s = round(state.samples_per_s, 1)
    part.seconds = round(state.seconds, 3)
