"""Other libraries' logging kept off the terminal while we talk to them: what goes wrong is said in one line."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator


@contextlib.contextmanager
def quiet(name: str) -> Iterator[None]:
    """Silence the logger `name` and every logger under it (Dask gives its modules levels of their own)."""
    logs = [logging.getLogger(name)] + [
        logging.getLogger(other) for other in list(logging.root.manager.loggerDict) if other.startswith(name + ".")
    ]
    levels = [log.level for log in logs]
    for log in logs:
        log.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for log, level in zip(logs, levels, strict=True):
            log.setLevel(level)
