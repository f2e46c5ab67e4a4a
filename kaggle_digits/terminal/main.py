"""The `kaggle-digits` entry point: stop signals are handled from the first instant, then the commands load.

Importing NumPy, pandas and the commands takes most of a second; a Ctrl-C, SIGTERM or SIGHUP meanwhile ends the
process with the one line every interrupt prints and its exit code (130, 143, 129), not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

EARLY = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# The resource tracker that multiprocessing starts for `--jobs` cleans up the workers' queue semaphores when a killed
# parent leaves them, and warns about it on the terminal; it takes this process's -W options when it starts.
QUIET_TRACKER = "ignore::UserWarning:multiprocessing.resource_tracker"


def _stopped_while_loading(signum: int, frame) -> None:
    with contextlib.suppress(OSError, ValueError):
        os.write(sys.stderr.fileno(), b"interrupted\n")
    os._exit(128 + signum)


def main() -> None:
    """Run the command line."""
    previous = {signum: signal.signal(signum, _stopped_while_loading) for signum in EARLY}
    sys.warnoptions.append(QUIET_TRACKER)
    from .cli import app  # the heavy imports

    for signum, handler in previous.items():
        signal.signal(signum, handler)
    app(prog_name="kaggle-digits")
