"""Networks that share nothing until their softmax is averaged (folds, ensemble members), trained side by side.

Each worker is a fresh process (spawned, not forked: OpenBLAS's threads do not survive a fork) holding its share of
the cores, with OpenBLAS and the batch-splitting kernels held to that many threads. A worker pulls network indices
from a queue, trains each with `train_part` exactly as the parent would, predicts its held-out rows and test.csv with
it (`predictions.py`), and reports through another queue: progress events for the display, part records for the
parent to write (the parent owns `metrics.json`), and when a network is done. Results are bit for bit those of the
same networks trained one after another on the same per-network thread count; networks that would be left to a
short last round train afterwards in the parent, on every core.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import queue
import signal
import threading
import traceback
from collections.abc import Callable, Iterator
from dataclasses import asdict
from multiprocessing import reduction
from pathlib import Path

from ..data import Digits, load_test
from ..errors import KaggleDigitsError
from ..nn.network import Network
from ..nn.parallel import cpu_count, workers
from ..nn.serialize import load_model
from ..runfolder.critical import critical_section
from ..runfolder.folder import lock_file, part_file, run_train_data, write_record
from ..runfolder.lock import RunLock, add_holder
from ..runfolder.record import PartRecord, RunRecord
from .parts import OnEvent, Stage, train_part
from .plan import Part, plan_parts
from .predictions import part_predictions

POLL_S = 0.5  # how often the parent looks for a worker that died without a word
PARENT_GONE = 75  # a worker's exit status when its parent died first (EX_TEMPFAIL: resume finishes the run)


def default_jobs(parts: int) -> int:
    """One worker per core, never more than there are networks: measured on 2 cores, two single-threaded processes
    train two networks 1.41× faster than one process splitting each step over both cores."""
    return max(1, min(parts, cpu_count()))


def threads_per_worker(jobs: int) -> int:
    return max(1, cpu_count() // jobs)


@contextlib.contextmanager
def worker_environment(threads: int) -> Iterator[None]:
    """The environment a spawned worker starts with: its BLAS and kernels held to `threads`."""
    names = ("KAGGLE_DIGITS_THREADS", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: str(threads) for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def rounds(todo: list[int], jobs: int) -> tuple[list[int], list[int]]:
    """The networks to train side by side, `jobs` at a time, and those left to a short last round (the fifth of five
    folds on two workers), which train alone on every core so that no core idles."""
    jobs = min(jobs, len(todo))
    alone = todo[len(todo) - len(todo) % jobs :] if jobs > 1 and len(todo) > jobs else []
    side = [] if jobs <= 1 else [index for index in todo if index not in alone]
    return side, [index for index in todo if index not in side]


def plan_threads(record: RunRecord, todo: list[int]) -> list[int]:
    """Give each network not started yet its thread count, for good: its worker's share of the cores when it trains
    side by side, every core when it is left to a short last round; returns that last round."""
    side, alone = rounds(todo, record.jobs)
    for index in todo:
        if record.parts[index].threads == 0:  # not started yet
            shared = threads_per_worker(min(record.jobs, len(todo)))
            record.parts[index].threads = shared if index in side else workers()
    return alone


def train_networks(
    run_dir: Path,
    record: RunRecord,
    train: Digits,
    parts: list[Part],
    on_event: OnEvent | None,
    stage: Stage,
    lock: RunLock | None = None,
) -> list[Network]:
    """Train every unfinished part; returns all parts' networks in order.

    Each network trains on the thread count it was given when it first started, for good (its sums then add in the
    same order, so a resumed run ends with the same bytes, whatever `--jobs` it resumes with): side by side in
    worker processes, as many at a time as the cores hold, or here when it is alone on this process's count. A
    signal in the parent stops every worker (their checkpoints stay) and propagates; a worker that dies or fails
    stops the others and fails the run.
    """
    todo = [part.index for part in parts if not part_file(run_dir, part.index).is_file()]
    alone = plan_threads(record, todo)
    write_record(run_dir, record)
    here = [index for index in alone if record.parts[index].threads == workers()]
    away: dict[int, list[int]] = {}
    for index in todo:
        if index not in here:
            away.setdefault(record.parts[index].threads, []).append(index)
    for threads, indices in sorted(away.items()):
        jobs = max(1, min(record.jobs, len(indices), cpu_count() // threads))
        then = f", then {len(here)} on every core" if here else ""
        stage(f"Training {len(indices)} networks, {jobs} at a time{then}")
        _supervise(run_dir, record, indices, jobs, threads, on_event, stage, lock)
    for index in here:
        train_part(run_dir, record, train, parts[index], on_event, stage, lambda _: write_record(run_dir, record))
    return [load_model(part_file(run_dir, part.index))[0] for part in parts]


def _supervise(
    run_dir: Path,
    record: RunRecord,
    todo: list[int],
    jobs: int,
    threads: int,
    on_event: OnEvent | None,
    stage: Stage,
    lock: RunLock | None,
) -> None:
    context = mp.get_context("spawn")
    tasks, events = context.Queue(), context.Queue()
    for index in todo:
        tasks.put(index)
    for _ in range(jobs):
        tasks.put(None)
    values = record.to_json()
    held = InheritedFd(lock.fd) if lock is not None and lock.fd is not None else None
    processes: list = []
    training: dict[int, str] = {}  # pid → the network it trains
    remaining = set(todo)
    try:
        with critical_section(), worker_environment(threads):  # a signal meanwhile acts once all have started
            for _ in range(jobs):
                worker = context.Process(target=_work, args=(str(run_dir), values, tasks, events, held), daemon=True)
                worker.start()
                processes.append(worker)
        while remaining:
            try:
                kind, *payload = events.get(timeout=POLL_S)
            except queue.Empty:
                _check_alive(processes, training, run_dir)
                continue
            if kind == "event" and on_event is not None:
                on_event(payload[0])
            elif kind == "stage":
                stage(payload[0])
            elif kind == "start":
                pid, label = payload
                training[pid] = label
            elif kind == "part":
                record.parts[payload[0]] = PartRecord(**payload[1])
                write_record(run_dir, record)
            elif kind == "done":
                remaining.discard(payload[0])
            elif kind == "error":
                raise KaggleDigitsError(payload[0])
    finally:
        for worker in processes:
            if worker.is_alive():
                worker.terminate()  # a worker keeps its last checkpoint; the epoch under way is lost
        for worker in processes:
            worker.join(timeout=30)
        tasks.cancel_join_thread()
        events.cancel_join_thread()


def _check_alive(workers: list, training: dict[int, str], run_dir: Path) -> None:
    """Fail in one line when a worker ended without saying it was done (killed, out of memory)."""
    for worker in workers:
        if worker.exitcode not in (None, 0):
            how = (
                f"killed by {signal.Signals(-worker.exitcode).name}"
                if worker.exitcode < 0
                else f"exit {worker.exitcode}"
            )
            what = f" while training {training[worker.pid]}" if worker.pid in training else ""
            raise KaggleDigitsError(
                f"a worker process ({worker.pid}) died{what} ({how}); the other networks' checkpoints are kept — "
                f"resume with: kaggle-digits train --resume {run_dir}"
            )


class InheritedFd:
    """The run lock's descriptor, handed to a spawned worker: the kernel keeps the lock while any process of the run
    holds it, so a run whose parent was killed stays locked until its last worker has stopped."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        return (_descriptor, (reduction.DupFd(self.fd),))


def _descriptor(duplicate) -> int:
    return duplicate.detach()


def _exit_with_parent() -> None:
    """Stop this worker the moment its parent is gone (killed, terminal closed): its end of a pipe the parent held
    open reads end-of-file then. The last checkpoint stays; the epoch under way is lost."""
    parent = mp.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent's end of the pipe closes, however it died
        os._exit(PARENT_GONE)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _work(run_dir: str, values: dict, tasks, events, held: int | None) -> None:
    """A worker's life: train the parts the queue hands out, and predict with each, until it hands out None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group; the parent decides
    _exit_with_parent()
    if held is not None:
        add_holder(lock_file(run_dir))
    try:
        folder = Path(run_dir)
        record = RunRecord.from_json(values)
        train = run_train_data(record, folder.name, "it cannot be resumed on other data — start a new run")
        test = load_test(record.data.folder)
        parts = plan_parts(train, record.config, record.members, record.folds)
        report: Callable[[PartRecord], None] = lambda part: events.put(("part", part.index, asdict(part)))  # noqa: E731
        while (index := tasks.get()) is not None:
            events.put(("start", os.getpid(), parts[index].label or "the network"))
            network = train_part(
                folder,
                record,
                train,
                parts[index],
                lambda event: events.put(("event", event)),
                lambda text: events.put(("stage", text)),
                report,
            )
            events.put(("stage", f"{parts[index].label.capitalize()}: predicting its held-out rows and test.csv"))
            part_predictions(folder, parts[index], network, train, test, record.tta)
            events.put(("done", index))
    except KaggleDigitsError as exc:
        events.put(("error", str(exc)))
    except Exception:  # a bug: the parent shows it whole rather than a worker dying without a word
        events.put(("error", "a worker failed:\n" + traceback.format_exc()))
