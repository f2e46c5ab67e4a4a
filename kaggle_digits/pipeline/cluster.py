"""A run's networks on a Dask cluster: the workers train, the run folder stays here.

The parent connects to the scheduler, checks that it has workers running this version of the package, scatters
train.csv and test.csv to every worker once (uint8, as read), and submits each unfinished network as a chain of
stretches (`remote.train_stretch`): each carries the network's last checkpoint and returns the next, which the parent
writes into the run folder before it submits the stretch after. Dask does the rest: placing stretches on free
workers, running a lost worker's stretch again elsewhere (from the same checkpoint, so the bytes do not change), and
dropping the run's tasks when this process disconnects, so that a killed parent leaves nothing training beyond the
epoch under way. A stop here (Ctrl-C, an error) sets the run's stop event, which stretches look at between
mini-batches.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import queue
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..data import Digits
from ..errors import KaggleDigitsError
from ..files import atomic_path
from ..logs import quiet
from ..nn.network import Network
from ..nn.serialize import load_model
from ..runfolder.critical import critical_section
from ..runfolder.folder import checkpoint_file, part_file, predictions_file, write_record
from ..runfolder.record import PartRecord, RunRecord
from ..version import __version__
from .parts import OnEvent, Stage
from .plan import Part
from .remote import event_from, train_stretch

CONNECT_TIMEOUT_S = 10
POLL_S = 0.2  # how often the parent passes on progress events while it waits for stretches
INSTALL = "pip install 'kaggle-digits[cluster]'"


def cluster_address(option: str | None) -> str:
    """The scheduler to train on: the option, else Dask's own DASK_SCHEDULER_ADDRESS, else '' (train here)."""
    return option or os.environ.get("DASK_SCHEDULER_ADDRESS", "")


class ClusterGone(KaggleDigitsError):  # noqa: N818 (a stop, not an error)
    """The scheduler went away while the run trained: the run stops as if interrupted, and resumes."""

    exit_code = 1


def dask() -> Any:
    """Dask's distributed module, or one line saying what to install."""
    try:
        import distributed
    except ImportError:
        raise KaggleDigitsError(f"--cluster needs Dask's distributed scheduler: {INSTALL}") from None
    return distributed


@contextlib.contextmanager
def connect(address: str) -> Iterator[Any]:
    """A Dask client of the scheduler at `address`, checked to have workers that run this package's version; Dask's
    own log stays quiet meanwhile (what goes wrong is said here, in one line)."""
    with quiet("distributed"), _connected(dask(), address) as client:
        yield client


@contextlib.contextmanager
def _connected(distributed: Any, address: str) -> Iterator[Any]:
    try:
        client = distributed.Client(address, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise KaggleDigitsError(f"cannot reach the Dask scheduler at {address} ({reason})") from None
    try:
        check_workers(client, address)
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close(timeout=CONNECT_TIMEOUT_S)


def check_workers(client: Any, address: str) -> None:
    """Refuse a cluster with no workers, or with a worker that lacks this package or runs another version of it."""
    threads = client.nthreads()
    if not threads:
        raise KaggleDigitsError(
            f"the Dask scheduler at {address} has no workers; start some with: dask worker {address}"
        )
    found = client.run(importlib.metadata.version, "kaggle-digits", on_error="return")
    wrong = {worker: version for worker, version in found.items() if version != __version__}
    if wrong:
        worker, version = sorted(wrong.items())[0]
        what = f"runs kaggle-digits {version}" if isinstance(version, str) else "has no kaggle-digits installed"
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise KaggleDigitsError(
            f"Dask worker {worker}{more} {what}; this machine runs {__version__}: install the same version on every "
            "worker"
        )


def train_on_cluster(
    address: str,
    run_dir: Path,
    record: RunRecord,
    train: Digits,
    test: Digits,
    parts: list[Part],
    on_event: OnEvent | None,
    stage: Stage,
) -> list[Network]:
    """Train every unfinished network on the cluster's workers, writing each one's checkpoints and files here;
    returns all the run's networks in order. A network not started yet trains on one thread (as Dask's workers hold
    NumPy's BLAS to one), one that started elsewhere keeps its thread count, so its bytes never depend on where."""
    distributed = dask()

    cancelled = _cancelled()
    todo = [part.index for part in parts if not part_file(run_dir, part.index).is_file()]
    for index in todo:
        record.parts[index].threads = record.parts[index].threads or 1
    write_record(run_dir, record)
    with connect(address) as client:
        topic = f"kaggle-digits-{uuid.uuid4().hex}"
        events: queue.SimpleQueue = queue.SimpleQueue()
        client.subscribe_topic(topic, events.put)
        stop = distributed.Event(f"{topic}-stop", client=client)
        workers = len(client.nthreads())
        stage(f"Training {len(todo)} networks on the Dask cluster at {address} ({workers} workers)")
        data = client.scatter([train, test], broadcast=True)
        where: dict[int, str] = {}
        running = {_submit(client, data, record, run_dir, index, topic): index for index in todo}
        try:
            while running:
                _pass_on(events, on_event)
                try:
                    with client.as_current():
                        done = distributed.wait(list(running), timeout=POLL_S, return_when="FIRST_COMPLETED").done
                except TimeoutError:
                    _check_connected(client, address)
                    continue
                except cancelled as exc:  # the scheduler gone, or a stretch dropped with a killed worker's data
                    data = _scatter_again(client, address, exc, [train, test])
                    running = {
                        _submit(client, data, record, run_dir, i, topic, where.get(i)): i for i in running.values()
                    }
                    continue
                for future in done:
                    index = running.pop(future)
                    if future.status == "cancelled":
                        data = _scatter_again(client, address, None, [train, test])
                        running[_submit(client, data, record, run_dir, index, topic, where.get(index))] = index
                        continue
                    result = _result(future, address, parts[index], run_dir)
                    if where.get(index) != result["worker"]:
                        where[index] = result["worker"]
                        label = (parts[index].label or "the network").capitalize()
                        stage(f"{label}: on {result['worker']}")
                    _keep(run_dir, record, result)
                    if "checkpoint" in result:
                        running[_submit(client, data, record, run_dir, index, topic, where[index])] = index
            _pass_on(events, on_event)
        finally:
            if running:
                with contextlib.suppress(Exception):
                    stop.set(timeout=CONNECT_TIMEOUT_S)
                    client.cancel(list(running))
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(topic)
    return [load_model(part_file(run_dir, part.index))[0] for part in parts]


def _submit(
    client: Any, data: list, record: RunRecord, run_dir: Path, index: int, topic: str, last: str | None = None
) -> Any:
    """The network's next stretch, from the checkpoint in the run folder (or its first epoch), on the worker that
    ran its last one while that worker is there."""
    saved = checkpoint_file(run_dir, index)
    checkpoint = saved.read_bytes() if saved.is_file() else None
    key = f"{topic}-{index}-{record.parts[index].epochs_done}-{uuid.uuid4().hex[:8]}"  # a resubmitted stretch: new key
    placed = {"workers": [last], "allow_other_workers": True} if last else {}
    return client.submit(
        train_stretch, *data, record.to_json(), index, checkpoint, topic, key=key, pure=False, **placed
    )


def _result(future: Any, address: str, part: Part, run_dir: Path) -> dict[str, Any]:
    """A stretch's result; a network whose stretches keep killing workers fails the run in one line."""
    import distributed

    try:
        return future.result()
    except KaggleDigitsError:
        raise
    except distributed.scheduler.KilledWorker as exc:
        label = part.label or "the network"
        raise KaggleDigitsError(
            f"the Dask cluster at {address} lost every worker that tried {label} ({exc.last_worker.address} last); "
            f"the checkpoints are kept — resume with: kaggle-digits train --resume {run_dir}"
        ) from None
    except (*_cancelled(), OSError) as exc:
        raise ClusterGone(f"lost the Dask scheduler at {address} ({type(exc).__name__})") from None


def _cancelled() -> tuple[type[BaseException], ...]:
    """What Dask raises for a future the scheduler dropped (its connection lost)."""
    import asyncio
    import concurrent.futures

    import distributed.client as dc

    found = (getattr(dc, "FutureCancelledError", None), getattr(dc, "FuturesCancelledError", None))
    return (*[kind for kind in found if kind is not None], asyncio.CancelledError, concurrent.futures.CancelledError)


def _scatter_again(client: Any, address: str, exc: BaseException | None, data: list) -> list:
    """After a cancelled stretch: the scheduler gone is ClusterGone; a scheduler that answers lost a worker holding
    data a stretch needed, so the images go to every worker again and the stretches are submitted again."""
    reason = type(exc).__name__ if exc is not None else "a stretch cancelled"
    _check_connected(client, address)
    try:
        client.sync(client.scheduler.identity, callback_timeout=CONNECT_TIMEOUT_S)  # raises if none answers
        return client.scatter(data, broadcast=True)
    except Exception:
        raise ClusterGone(f"lost the Dask scheduler at {address} ({reason})") from None


def _check_connected(client: Any, address: str) -> None:
    if client.status not in ("running", "connecting"):
        raise ClusterGone(f"lost the Dask scheduler at {address} ({client.status})")


def _pass_on(events: queue.SimpleQueue, on_event: OnEvent | None) -> None:
    while True:
        try:
            _, message = events.get_nowait()
        except queue.Empty:
            return
        if on_event is not None:
            on_event(event_from(message["event"]))


def _keep(run_dir: Path, record: RunRecord, result: dict[str, Any]) -> None:
    """Write what a stretch returned, and the record that counts it, together (as a local network does)."""
    index = result["index"]
    with critical_section():
        if "checkpoint" in result:
            _write(checkpoint_file(run_dir, index), result["checkpoint"])
        else:
            _write(predictions_file(run_dir, index), result["predictions"])
            _write(part_file(run_dir, index), result["model"])
            checkpoint_file(run_dir, index).unlink(missing_ok=True)
        record.parts[index] = PartRecord(**result["part"])
        write_record(run_dir, record)


def _write(path: Path, content: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(content)
