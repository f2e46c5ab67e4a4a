"""One network of a run (the single model, an ensemble member or a fold): trained from its seed, checkpointed as
it goes in its own file, and saved as `part<i>.npz` when done, so a stopped run continues where each network stood."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ..data import Digits
from ..errors import KaggleDigitsError
from ..nn.augment import AffineAugment
from ..nn.network import Network, build_network
from ..nn.serialize import load_model, save_model
from ..runfolder.critical import critical_section
from ..runfolder.folder import LEGACY_CHECKPOINT, checkpoint_file, part_file
from ..runfolder.record import PartRecord, RunRecord
from ..training.architecture import architecture
from ..training.checkpoint import load_checkpoint, read_extra, read_state, save_checkpoint
from ..training.config import TrainConfig
from ..training.fit import FitState, Split, Trainer, TrainEvent
from .plan import Part, generators

Stage = Callable[[str], None]
OnEvent = Callable[[TrainEvent], None]
CHECKPOINT_EVERY_S = 1.0  # full-batch runs: one checkpoint a second, not one per iteration


def augmentation(config: TrainConfig) -> AffineAugment | None:
    """The random warp a configuration trains with, or None without --augment."""
    return AffineAugment(elastic=config.elastic) if config.augment else None


def train_part(
    run_dir: Path,
    record: RunRecord,
    train: Digits,
    part: Part,
    on_event: OnEvent | None,
    stage: Stage,
    report: Callable[[PartRecord], None],
) -> Network:
    """Train one part, continuing from its checkpoint when there is one; a finished part is read back instead.
    `report` receives the part's record whenever it moves (with each checkpoint, and at the end)."""
    done = part_file(run_dir, part.index)
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
        train.features(part.held_out_idx),
        train.labels[part.held_out_idx],
    )
    augment = augmentation(config)
    checkpoint = checkpoint_file(run_dir, part.index)
    legacy = run_dir / LEGACY_CHECKPOINT  # one checkpoint per run, before networks trained side by side
    if not checkpoint.is_file() and legacy.is_file() and checkpoint_part(legacy, part) == part.index:
        legacy.replace(checkpoint)
    part_record = record.parts[part.index]
    last_saved = time.monotonic()

    def save(trainer: Trainer) -> None:
        """Checkpoint and record move together: a stop signal waits until both are written."""
        nonlocal last_saved
        with critical_section():
            save_checkpoint(checkpoint, trainer, {"part": part.index})
            update_part(part_record, trainer.state)
            report(part_record)
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
    with critical_section():
        save_model(done, network, {"config": config.to_dict(), "meta": {"part": part.index}})
        update_part(part_record, trainer.state)
        report(part_record)
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


def reconcile(run_dir: Path, record: RunRecord, parts: list[Part]) -> None:
    """Make the record say what the checkpoints hold, for networks whose record lags behind (a worker's last report
    that never reached the parent, a process killed between the two writes): the checkpoint is the truth."""
    for part in parts:
        checkpoint, part_record = checkpoint_file(run_dir, part.index), record.parts[part.index]
        if part_file(run_dir, part.index).is_file() or not checkpoint.is_file():
            continue
        with contextlib.suppress(KaggleDigitsError):  # a damaged checkpoint is named when the run resumes
            state = read_state(checkpoint)
            if state.epoch != part_record.epochs_done:
                update_part(part_record, state)


def update_part(part: PartRecord, state: FitState) -> None:
    """Copy where a network's fit stands into its record."""
    part.epochs_done = state.epoch
    part.history = [r.__dict__ for r in state.history]
    part.last_accuracy = None if np.isnan(state.last_accuracy) else state.last_accuracy
    part.best_accuracy = None if np.isnan(state.best_accuracy) else state.best_accuracy
    part.best_epoch = state.best_epoch
    part.samples_per_s = round(state.samples_per_s, 1)
    part.seconds = round(state.seconds, 3)
