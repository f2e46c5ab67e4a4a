"""`misclassified --why`, `show --why` and `predict-image` on real runs: pictures written and read back, digits
read from photos, JSON for scripts."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from kaggle_digits.data import load_train, sample_dir
from kaggle_digits.runfolder.folder import load_run
from kaggle_digits.terminal.cli import app

from helpers import photo_of, png_size

pytestmark = pytest.mark.slow  # trains runs on the bundled sample


def test_misclassified_why_draws_each_mistake_with_its_two_maps(runner, sample_run, tmp_path):
    out = tmp_path / "why.png"
    result = runner.invoke(app, ["misclassified", str(sample_run), "--why", "--limit", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "Wrote 5 mistakes, each with its maps" in result.output
    width, height = png_size(out)
    assert width > 3 * height  # five mistakes of three panels: one wide row (4 per row) and a second
    assert np.asarray(Image.open(out)).std() > 10  # a picture, not a blank canvas


def test_show_why_writes_the_maps_of_one_digit(runner, sample_run):
    result = runner.invoke(app, ["show", "--train", "3", "--why", "--run", str(sample_run)])
    assert result.exit_code == 0, result.output
    assert (sample_run / "why-train-3.png").is_file() and png_size(sample_run / "why-train-3.png")[0] > 200


@pytest.fixture(scope="module")
def cnn_ensemble(tmp_path_factory) -> Path:
    """A small cnn ensemble on the sample: `--why` averages its members' maps."""
    from typer.testing import CliRunner

    root = tmp_path_factory.mktemp("cnn")
    args = ["train", "--sample", "--preset", "cnn", "--channels", "4,8", "--hidden", "16", "--epochs", "2",
            "--ensemble", "2", "--jobs", "1", "--runs-dir", str(root / "runs"),
            "--submissions-dir", str(root / "s")]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    return next((root / "runs").iterdir())


def test_predict_image_reads_a_photo_of_a_sample_digit_as_its_label(runner, cnn_ensemble, tmp_path):
    run = load_run(cnn_ensemble)
    train = load_train(sample_dir())
    proba = run.model.predict_proba(train.features(np.arange(200)))
    confident = np.flatnonzero((proba.argmax(axis=1) == train.labels[:200]) & (proba.max(axis=1) > 0.9))
    index = int(confident[0])
    photo_of(train.images[index], tmp_path / "mine.jpg")
    result = runner.invoke(app, ["predict-image", str(tmp_path / "mine.jpg"), "--run", str(cnn_ensemble), "--json"])
    assert result.exit_code == 0, result.output
    (answer,) = json.loads(result.stdout)
    assert answer["file"] == str(tmp_path / "mine.jpg") and answer["digit"] == train.labels[index]
    assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 1e-4
    shown = runner.invoke(app, ["predict-image", str(tmp_path / "mine.jpg"), "--run", str(cnn_ensemble), "--why"])
    assert shown.exit_code == 0 and f": {train.labels[index]}" in shown.output
    assert png_size(cnn_ensemble / "why-mine.png")[0] > 200
    why = runner.invoke(app, ["misclassified", str(cnn_ensemble), "--why", "--limit", "2"])
    assert why.exit_code == 0, why.output


def test_predict_image_refuses_a_file_that_is_not_a_picture_in_one_line(runner, sample_run, tmp_path):
    (tmp_path / "notes.txt").write_text("seven")
    result = runner.invoke(app, ["predict-image", str(tmp_path / "notes.txt"), "--run", str(sample_run)])
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "notes.txt: not a picture this tool can read" in result.stderr


def test_one_bad_picture_among_many_is_reported_and_the_others_are_still_read(runner, sample_run, tmp_path):
    train = load_train(sample_dir())
    for i in range(2):
        photo_of(train.images[i], tmp_path / f"good{i}.jpg")
    (tmp_path / "notes.txt").write_text("seven")
    os.mkfifo(tmp_path / "pipe.png")
    files = [str(tmp_path / n) for n in ("good0.jpg", "notes.txt", "pipe.png", "good1.jpg")]
    result = runner.invoke(app, ["predict-image", *files, "--run", str(sample_run), "--json"])
    assert result.exit_code == 1
    assert [answer["file"] for answer in json.loads(result.stdout)] == [files[0], files[3]]
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and "notes.txt: not a picture" in lines[0] and "pipe.png: not a regular file" in lines[1]


def test_a_filter_outside_the_digits_is_named_by_its_flag(runner, sample_run):
    result = runner.invoke(app, ["misclassified", str(sample_run), "--why", "--true", "12"])
    assert result.exit_code == 1 and result.stderr == "error: --true 12: a digit is 0–9\n"
