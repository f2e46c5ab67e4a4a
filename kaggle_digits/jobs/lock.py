"""One process trains a run folder at a time: an advisory lock on `<run>/.lock`, released when the process ends.

The kernel drops an flock with the last descriptor of the process that holds it, so a killed process never leaves a
stale lock: "is anybody training this run?" is answered by trying to take it, never by guessing from a pid. A process
that ends normally removes the file as it lets go.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from ..errors import KaggleDigitsError

LOCK_FILE = ".lock"


class RunLock:
    """Held while a process trains `run_dir`; a second taker gets a one-line error naming the holder's pid."""

    def __init__(self, run_dir: Path):
        self.path = Path(run_dir) / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise KaggleDigitsError(f"{self.path}: cannot lock the run folder ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            pid = holder_pid(self.path.parent)
            who = f"process {pid}" if pid else "another process"
            raise KaggleDigitsError(
                f"{self.path.parent}: {who} is training this run now; wait for it, or stop it (Ctrl-C or "
                f"`kill {pid or 'PID'}`) before resuming"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        """Remove the lock file, then drop the lock: a run at rest has no lock file."""
        if self.fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self.fd)  # closing the descriptor drops the lock
            self.fd = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def holder_pid(run_dir: Path) -> int:
    """The pid written by the lock's holder (0 when unknown)."""
    with contextlib.suppress(OSError, ValueError):
        return int((Path(run_dir) / LOCK_FILE).read_text().strip() or 0)
    return 0


def is_locked(run_dir: Path) -> bool | None:
    """Whether a live process holds the run's lock; None when the folder has no lock file (runs before locks)."""
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
