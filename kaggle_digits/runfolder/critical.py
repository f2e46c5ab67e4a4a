"""Writes that belong together finish together: a stop signal that arrives meanwhile waits until they are done.

A checkpoint and the record that counts it, a run's CSV and the record that owns it, worker processes and the guard
that stops them: a Ctrl-C, SIGTERM or SIGHUP landing between the two halves would leave them disagreeing. Inside
`critical_section()` such a signal is only noted; when the section ends the previous handlers are back and the signal
is raised again, so it acts exactly as it would have a moment earlier. SIGKILL cannot wait: what it cuts is mended
from the checkpoints when the run resumes (`train.reconcile`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def critical_section() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then deliver the first one that came."""
    if threading.current_thread() is not threading.main_thread():  # handlers run in the main thread only
        yield
        return
    held: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        if previous[signum] is not signal.SIG_IGN:
            signal.signal(signum, lambda received, frame: held.append(received))
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        if held:
            signal.raise_signal(held[0])
