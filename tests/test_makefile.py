"""The Makefile: `make clean` keeps trained runs and submissions; deleting them is a separate, named target."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def project_copy(tmp_path: Path) -> Path:
    """A folder with the Makefile, a trained run, a submission and the usual build and cache leftovers."""
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    for path in ("runs/r1/model.npz", "submissions/r1.csv", ".pytest_cache/v", "build/lib", "pkg/__pycache__/m.pyc"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("x")
    return tmp_path


def files(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()}


def test_clean_removes_build_and_cache_artefacts_only(tmp_path):
    folder = project_copy(tmp_path)
    subprocess.run(["make", "clean"], cwd=folder, check=True, capture_output=True)
    assert files(folder) == {"Makefile", "runs/r1/model.npz", "submissions/r1.csv"}


def test_delete_runs_is_the_named_target_that_removes_runs_and_submissions(tmp_path):
    folder = project_copy(tmp_path)
    subprocess.run(["make", "delete-runs"], cwd=folder, check=True, capture_output=True)
    assert "runs/r1/model.npz" not in files(folder) and "submissions/r1.csv" not in files(folder)


def test_help_lists_every_target():
    done = subprocess.run(["make", "help"], cwd=ROOT, check=True, capture_output=True, text=True)
    for target in ("demo", "test", "clean", "delete-runs", "bench", "submit"):
        assert f"make {target} " in done.stdout


def test_bench_smoke_runs_every_benchmark_script():
    root = Path(__file__).parent.parent
    smoke = (root / "benchmarks" / "smoke.sh").read_text()
    scripts = sorted(p.name for p in (root / "benchmarks").glob("*.py"))
    assert scripts and [name for name in scripts if f"benchmarks/{name}" not in smoke] == []
