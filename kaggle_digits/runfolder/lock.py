"""One process trains a run folder at a time: an advisory lock on `<run>/.lock`, released when the process ends.

The kernel drops an flock with the last descriptor that shares it, so a killed process never leaves a stale lock: "is
anybody training this run?" is answered by trying to take it, never by guessing from a pid. Worker processes that
train a run's networks side by side inherit the parent's descriptor, so the run stays locked while any of its
processes lives, even one whose parent was killed. A process that ends normally removes the file as it lets go.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from ..errors import KaggleDigitsError


class RunLocked(KaggleDigitsError):  # noqa: N818 (a state, named as the user sees it)
    """Another live process trains the run: nothing of it may be touched."""


class RunLock:
    """Held while a process trains `run_dir`; a second taker gets a one-line error naming the holder's pid."""

    def __init__(self, lock_file: Path):
        self.path = Path(lock_file)
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
            pids = " ".join(map(str, holder_pids(self.path))) or "PID"
            who = f"process {pids}" if pids != "PID" else "another process"
            raise RunLocked(
                f"{self.path.parent}: {who} is training this run now; wait for it, or stop it (Ctrl-C or "
                f"`kill {pids}`) before resuming"
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


def add_holder(lock_file: Path) -> None:
    """Name this process among the lock's holders (a worker that inherited the parent's descriptor)."""
    with contextlib.suppress(OSError):
        fd = os.open(lock_file, os.O_WRONLY | os.O_APPEND)
        os.write(fd, f"{os.getpid()}\n".encode())
        os.close(fd)


def holder_pids(lock_file: Path) -> list[int]:
    """The live processes among those the lock's holders wrote, the trainer first (empty when unknown)."""
    try:
        text = Path(lock_file).read_text()
    except OSError:
        return []
    pids = [int(word) for word in text.split() if word.isdigit()]
    return [pid for pid in pids if alive(pid)]


def holder_pid(lock_file: Path) -> int:
    """The first live process holding the lock (0 when unknown)."""
    return next(iter(holder_pids(lock_file)), 0)


def alive(pid: int) -> bool:
    """Whether process `pid` still runs on this machine."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except (OverflowError, ValueError):
        return False
    with contextlib.suppress(OSError, IndexError):  # a zombie (ended, not yet reaped) runs nothing
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0] != b"Z"
    return True


def is_locked(lock_file: Path) -> bool | None:
    """Whether a live process holds the run's lock; None when the folder has no lock file (runs before locks)."""
    path = Path(lock_file)
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
