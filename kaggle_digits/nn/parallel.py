"""Batch-parallel kernels: split the batch axis into one contiguous chunk per CPU core and run them on threads.

NumPy and OpenBLAS release the GIL inside their loops, so threads give real parallelism. Once a batch is split, the
kernel threads own the cores, and from then on every GEMM of the process runs on one OpenBLAS thread: its own
threads spin for a while after each call and would fight the kernel threads for the cores (with them back for the
dense layers between kernels, one `fast` run trained 1.7x slower). OpenBLAS's thread count is process-wide in the
builds NumPy ships (its `openblas_set_num_threads_local` sets the same number for every thread), so it is set once,
before the first chunk starts, and never toggled per call: toggled, a chunk could find it restored halfway and a
run's bits would depend on which thread got there first. Where that call is missing (another BLAS, another OS),
kernels run serially on the caller's thread and OpenBLAS threads each GEMM as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import ctypes
import itertools
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache
from typing import TypeVar

import numpy  # noqa: F401  (loads OpenBLAS, which _blas_local_threads looks for among the mapped libraries)

from ..errors import KaggleDigitsError

T = TypeVar("T")
MIN_CHUNK = 8  # rows; below this a thread hand-off costs more than it saves
MIN_WORK = 1 << 18  # multiply-adds or elements; smaller jobs finish before a hand-off to another thread would pay


@cache
def _blas_local_threads() -> Callable[[int], int] | None:
    """OpenBLAS's thread-count setter (`openblas_set_num_threads_local`, which returns the previous count) from the
    library NumPy loaded, if there is one."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower() and line.rstrip().endswith(".so")}
    except OSError:
        return None
    for path in sorted(paths):
        try:
            setter = ctypes.CDLL(path).openblas_set_num_threads_local
        except (OSError, AttributeError):
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], ctypes.c_int
        return setter
    return None


def cpu_count() -> int:
    """Cores this process may run on (the affinity mask, not the machine's total)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


_threads_here: contextvars.ContextVar[int | None] = contextvars.ContextVar("threads_here", default=None)
_pool: tuple[int, ThreadPoolExecutor] | None = None  # (threads, pool): one process-wide pool, like OpenBLAS's own
_pool_lock = threading.Lock()


@contextlib.contextmanager
def threads_here(threads: int) -> Iterator[None]:
    """Split batches into `threads` chunks on this thread only (a Dask task among others in one worker process)."""
    token = _threads_here.set(threads)
    try:
        yield
    finally:
        _threads_here.reset(token)


def workers() -> int:
    """How many chunks a batch is split into: `threads_here`, else KAGGLE_DIGITS_THREADS, else the usable cores; 1
    without OpenBLAS's thread-count setter."""
    if (here := _threads_here.get()) is not None:
        return here if _blas_local_threads() is not None else 1
    setting = os.environ.get("KAGGLE_DIGITS_THREADS", "")
    if setting and not (setting.isdigit() and int(setting) >= 1):
        raise KaggleDigitsError(f"KAGGLE_DIGITS_THREADS={setting!r}: use a whole number of threads ≥ 1, e.g. 2")
    if _blas_local_threads() is None:
        return 1
    return int(setting) if setting else cpu_count()


def _executor(threads: int) -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != threads:
            if _pool is not None:
                _pool[1].shutdown(wait=False)
            pool = ThreadPoolExecutor(threads, thread_name_prefix="kaggle-digits")
            _pool = (threads, pool)
        return _pool[1]


def chunks(n: int, parts: int) -> list[slice]:
    """`parts` contiguous slices covering range(n), sizes differing by at most one row."""
    bounds = [n * i // parts for i in range(parts + 1)]
    return [slice(a, b) for a, b in itertools.pairwise(bounds) if b > a]


def map_batch(kernel: Callable[[slice], T], n: int, work: int, gemm: bool = True) -> list[T]:
    """kernel(rows) for contiguous row slices covering a batch of n, one per worker; results in order.

    `work` (elements or multiply-adds for the whole batch) keeps small jobs, like a dense layer's activations, on the
    calling thread. Otherwise the calling thread runs the first chunk itself and the pool the rest; a kernel that
    multiplies matrices (`gemm`) first holds every GEMM to one OpenBLAS thread (`hold_blas_to_one_thread`), while
    one that does not (the training warp) leaves OpenBLAS as it is, so an mlp's dense layers keep its threads.
    """
    threads = workers()  # validates KAGGLE_DIGITS_THREADS on every path
    parts = max(1, min(threads, n // MIN_CHUNK)) if work >= MIN_WORK else 1
    if parts == 1:
        return [kernel(slice(0, n))]
    if gemm:
        hold_blas_to_one_thread()
    first, *rest = chunks(n, parts)
    futures = [_executor(parts - 1).submit(kernel, rows) for rows in rest]
    try:
        results = [kernel(first)]
    finally:
        wait(futures)  # a failed chunk leaves none of the others running behind it
    return results + [future.result() for future in futures]


@cache
def hold_blas_to_one_thread() -> None:
    """From now on, one OpenBLAS thread per GEMM in this process (set once, before any chunk runs beside another)."""
    setter = _blas_local_threads()
    if setter is not None:
        setter(1)
