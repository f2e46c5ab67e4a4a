"""Shared fixtures: tiny synthetic digit files in Kaggle's format, the bundled sample, and a CLI runner."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import blob_digits, write_csv


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep the extracted sample out of the real home folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.getbasetemp() / "xdg-cache"))


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
