"""What a Dask worker runs: one stretch of one network, from the checkpoint the parent sent to the next one.

A stretch is the code a local run trains with (`train_part`, then `part_predictions` once the network is done), run in
a temporary folder of the worker's own: it starts from the checkpoint bytes in its arguments, trains until it saves
the next checkpoint (one epoch; a second of full-batch iterations) and returns that checkpoint's bytes, or the
finished network's and its predictions' files. Nothing is kept on the worker between stretches, so the scheduler may
send the next one anywhere, and a worker lost mid-stretch costs that stretch only: the scheduler runs it again, from
the same bytes, on another worker. Progress goes back as Dask events on the run's topic; the parent's stop event is
looked at between mini-batches.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..data import Digits
from ..errors import KaggleDigitsError
from ..nn.parallel import hold_blas_to_one_thread, threads_here
from ..runfolder.folder import checkpoint_file, part_file, predictions_file
from ..runfolder.record import PartRecord, RunRecord
from ..training.fit import EpochRecord, TrainEvent
from .parts import train_part
from .plan import plan_parts
from .predictions import part_predictions

EVENT_EVERY_S = 0.25  # progress events a network sends while a mini-batch epoch runs (every evaluation goes too)
STOP_EVERY_S = 1.0  # how often a stretch asks the scheduler whether the run was stopped


# glibc's own ceilings for its dynamic thresholds (64-bit): large arrays come from the heap and stay there
MMAP_THRESHOLD, TRIM_THRESHOLD = 32 << 20, 64 << 20


@contextlib.contextmanager
def heap_kept() -> Iterator[None]:
    """Let this process keep freed memory while stretches run. Dask's nanny starts workers with
    MALLOC_TRIM_THRESHOLD_=65536, which also fixes glibc's mmap threshold at 128 KiB: every array of a training step
    is then mapped and unmapped anew, page faults and all, and a network trained 1.7× slower (measured). The
    thresholds go back to the nanny's once no stretch runs; without glibc's `mallopt`, nothing changes."""
    global _running
    mallopt = _mallopt()
    with _lock:
        _running += 1
        if _running == 1 and mallopt is not None:
            mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD
            mallopt(-1, TRIM_THRESHOLD)  # M_TRIM_THRESHOLD
    try:
        yield
    finally:
        with _lock:
            _running -= 1
            trim = os.environ.get("MALLOC_TRIM_THRESHOLD_", "")
            if _running == 0 and mallopt is not None and trim.isdigit():
                mallopt(-1, int(trim))  # as the nanny had it (the mmap threshold stays: harmless, and freed)


_lock, _running = threading.Lock(), 0


def _mallopt():
    try:
        function = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return None
    function.argtypes, function.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return function


class Paused(Exception):  # noqa: N818 (the end of a stretch, not an error)
    """The network saved its next checkpoint: the stretch ends and hands it to the parent."""


class Stopped(KaggleDigitsError):  # noqa: N818
    """The parent stopped the run (Ctrl-C, an error elsewhere): the stretch ends without a result."""


def event_payload(event: TrainEvent) -> dict[str, Any]:
    """A progress event as plain values, for Dask's event log."""
    values = asdict(event)
    values["record"] = None if event.record is None else asdict(event.record)
    return values


def event_from(values: dict[str, Any]) -> TrainEvent:
    record = values.get("record")
    return TrainEvent(**{**values, "record": None if record is None else EpochRecord(**record)})


def train_stretch(
    train: Digits, test: Digits, values: dict[str, Any], index: int, checkpoint: bytes | None, topic: str
) -> dict[str, Any]:
    """Train network `index` of the run `values` (its record) from `checkpoint` (None: from its first epoch) to its
    next checkpoint; returns the part's record and the bytes of the files the parent keeps."""
    from distributed import Event, get_worker  # only where a worker runs this

    worker = get_worker()
    record = RunRecord.from_json(values)
    part = plan_parts(train, record.config, record.members, record.folds)[index]
    stop, last_event, last_look = Event(f"{topic}-stop"), 0.0, time.monotonic()

    def on_event(event: TrainEvent) -> None:
        nonlocal last_event, last_look
        now = time.monotonic()
        if event.record is not None or now - last_event >= EVENT_EVERY_S:
            worker.log_event(topic, {"index": index, "event": event_payload(event)})
            last_event = now
        if now - last_look >= STOP_EVERY_S:
            last_look = now
            if stop.is_set():
                raise Stopped("stopped by the run's parent")

    with tempfile.TemporaryDirectory(prefix="kaggle-digits-", dir=worker.local_directory) as folder:
        here = Path(folder)
        if checkpoint is not None:
            checkpoint_file(here, index).write_bytes(checkpoint)

        def report(_: PartRecord) -> None:
            if not part_file(here, index).is_file():
                raise Paused

        hold_blas_to_one_thread()  # as in a local worker of one thread; a network's sums never depend on BLAS's count
        with threads_here(record.parts[index].threads), heap_kept():
            try:
                network = train_part(here, record, train, part, on_event, lambda _: None, report)
            except Paused:
                return {
                    "index": index,
                    "part": asdict(record.parts[index]),
                    "worker": worker.address,
                    "checkpoint": checkpoint_file(here, index).read_bytes(),
                }
            part_predictions(here, part, network, train, test, record.tta)
        return {
            "index": index,
            "part": asdict(record.parts[index]),
            "worker": worker.address,
            "model": part_file(here, index).read_bytes(),
            "predictions": predictions_file(here, index).read_bytes(),
        }
