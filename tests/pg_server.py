"""A real PostgreSQL server for a test: `initdb` and `pg_ctl` as installed, in a temporary folder, on loopback.

PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user (`runuser`), in a folder it owns.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

PG_BIN = next((Path(p) for p in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)


def pg_command(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    return str(PG_BIN / name) if PG_BIN is not None and (PG_BIN / name).is_file() else None


def can_start() -> str:
    """Why no server can be started here, or '' when one can."""
    if pg_command("initdb") is None or pg_command("pg_ctl") is None:
        return "PostgreSQL's initdb and pg_ctl are not installed"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root with no postgres user to run the server as"
    return ""


def as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server with trust authentication on a free loopback port; yields its URL for SQLAlchemy."""
    initdb, pg_ctl = pg_command("initdb"), pg_command("pg_ctl")
    if initdb is None or pg_ctl is None:
        raise RuntimeError("PostgreSQL's initdb and pg_ctl are not installed")
    folder = Path(tempfile.mkdtemp(prefix="kaggle-digits-pg-"))
    user = "postgres" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    data, port = folder / "data", free_port()
    quiet = {"check": True, "stdout": subprocess.DEVNULL, "stderr": subprocess.PIPE}
    try:
        subprocess.run(as_server_user([initdb, "-D", str(data), "-A", "trust", "-U", user]), **quiet)
        options = f"-p {port} -h 127.0.0.1 -k {folder} -c fsync=off"
        subprocess.run(
            as_server_user([pg_ctl, "-D", str(data), "-o", options, "-l", str(folder / "log"), "-w", "start"]), **quiet
        )
        try:
            yield f"postgresql://{user}@127.0.0.1:{port}/postgres"
        finally:
            subprocess.run(as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]), **quiet)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
