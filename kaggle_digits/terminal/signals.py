"""Signals for long jobs: the first Ctrl-C, SIGTERM or SIGHUP stops the work at once, a second one exits on the spot.

The first signal raises `Stopped` (a KeyboardInterrupt) in the main thread, so the job can mark its run interrupted
and keep its last checkpoint; the exit code is 128 + the signal's number (130, 143, 129). A second signal while that
happens restores the terminal and exits immediately: checkpoints are written by rename, so none is left half-written.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, kill, the terminal closed


class Stopped(KeyboardInterrupt):
    """A stop signal arrived; `exit_code` is what the process should end with."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.exit_code = 128 + signum


class StopOnSignals:
    """Within this block, SIGINT and SIGTERM stop the job; `restore` runs before a second signal's hard exit."""

    def __init__(self, restore: Callable[[], None]):
        self.restore = restore
        self.received: int | None = None
        self.previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        if self.received is not None:
            self.restore()
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(128 + signum)
        self.received = signum
        raise Stopped(signum)

    def __enter__(self) -> StopOnSignals:
        for signum in HANDLED:
            self.previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for signum, handler in self.previous.items():
            signal.signal(signum, handler)
