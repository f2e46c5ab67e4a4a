"""Shared fixtures: tiny synthetic digit files in Kaggle's format, the bundled sample, and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kaggle_digits.terminal.cli import app

from helpers import blob_digits, write_csv


@pytest.fixture(autouse=True, scope="session")
def _isolated_cache(tmp_path_factory):
    """Keep the extracted sample out of the real home folder, for the whole session."""
    old = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("xdg-cache"))
    yield
    if old is None:
        del os.environ["XDG_CACHE_HOME"]
    else:
        os.environ["XDG_CACHE_HOME"] = old


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory) -> Path:
    """A small, imperfect mlp trained on the bundled sample (about 80 % dev accuracy): plenty of mistakes."""
    root = tmp_path_factory.mktemp("sample-run")
    args = [
        "train",
        "--sample",
        "--hidden",
        "32",
        "--epochs",
        "3",
        "--no-augment",
        "--runs-dir",
        str(root / "runs"),
        "--submissions-dir",
        str(root / "submissions"),
    ]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return next((root / "runs").iterdir())


@pytest.fixture
def blob_dir(tmp_path: Path) -> Path:
    """A data folder with 300 labelled and 50 test synthetic images."""
    rng = np.random.default_rng(7)
    folder = tmp_path / "data"
    folder.mkdir()
    images, labels = blob_digits(300, rng)
    write_csv(folder / "train.csv", images, labels)
    write_csv(folder / "test.csv", blob_digits(50, rng)[0], None)
    return folder


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch) -> Path:
    """Run in an empty working folder, so runs/ and submissions/ land in the test's tmp dir."""
    monkeypatch.chdir(tmp_path)
    return tmp_path
