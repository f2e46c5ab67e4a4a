"""The README's code blocks, pasted in order into a fresh shell, work: the guide cannot drift from the tool.

They run in a copy of the project (sharing this `.venv`, so `make` installs nothing), with a HOME of their own whose
`~/Downloads/kaggle.json` is the stand-in server's, and the official client pointed at that server. `make test`
itself is the one line not pasted: it is what runs this.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from kaggle_server import KEY, USERNAME, KaggleServer

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.slow  # trains networks through the README's commands


def readme_blocks() -> list[str]:
    """Every ```bash block of the README, in order."""
    return re.findall(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


def pasted(blocks: list[str]) -> str:
    """The lines a newcomer pastes, `make test` aside, stopping at the first failure."""
    lines = [line for block in blocks for line in block.splitlines() if not line.startswith("make test")]
    return "set -euo pipefail\n" + "\n".join(lines) + "\n"


def project_copy(where: Path) -> Path:
    """The tracked files of the project, with this test run's .venv linked in (already installed)."""
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    copy = where / "kaggle-digits"
    for name in filter(None, files.decode().split("\0")):
        target = copy / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, target)
    venv = Path(sys.prefix)
    (copy / ".venv").symlink_to(venv)
    return copy


def test_the_readme_pasted_top_to_bottom_in_a_fresh_shell_works(tmp_path):
    blocks = readme_blocks()
    assert len(blocks) >= 3 and any("make download" in block for block in blocks)
    project = project_copy(tmp_path)
    stamp = Path(sys.prefix) / ".installed"
    if not stamp.is_file() or stamp.stat().st_mtime < (project / "pyproject.toml").stat().st_mtime:
        pytest.skip("this .venv was not built by make; the README's make targets would reinstall it")
    home = tmp_path / "home"
    (home / "Downloads").mkdir(parents=True)
    (home / "Downloads" / "kaggle.json").write_text(json.dumps({"username": USERNAME, "key": KEY}))
    with KaggleServer() as server:
        env = {
            "PATH": f"/usr/bin:/bin:{Path(sys.executable).parent.parent.parent / 'bin'}",
            "HOME": str(home),
            "XDG_CACHE_HOME": str(tmp_path / "cache"),
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": server.proxy,
            "http_proxy": server.proxy,
            "COLUMNS": "80",
            "PYTHON": sys.executable,
        }
        env["PATH"] = f"{os.path.dirname(shutil.which('make') or '/usr/bin/make')}:{env['PATH']}"
        done = subprocess.run(
            ["bash", "-c", pasted(blocks)], cwd=project, env=env, capture_output=True, text=True, timeout=900
        )
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        assert "Would refuse it:" in " ".join(done.stdout.split())  # the rehearsal before any credentials
        assert oct((home / ".kaggle" / "kaggle.json").stat().st_mode & 0o777) == "0o600"
        assert all((project / "data" / name).is_file() for name in ("train.csv", "test.csv", "sample_submission.csv"))
        assert "Public score of #" in done.stdout
        uploads = list(server.state.uploads.values())
        assert len(uploads) == 1 and uploads[0][0].endswith("-fast.csv")
