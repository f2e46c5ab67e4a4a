"""Files damaged or edited by hand: a model whose header was edited, a checkpoint truncated or filled with NUL bytes,
held-out rows out of range: one line naming the file and what to do, exit 1, nothing overwritten, and `runs` still
lists the other runs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from kaggle_digits.pipeline.start import TrainRequest
from kaggle_digits.pipeline.train import RunInterrupted, train_run
from kaggle_digits.runfolder.record import DataSource
from kaggle_digits.terminal.cli import app
from kaggle_digits.training.presets import preset_config

from helpers import tree

pytestmark = pytest.mark.slow  # every test here trains a network

SMALL = ["--preset", "mlp", "--hidden", "16", "--epochs", "2"]


def one_line(result, *messages: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert all(message in result.stderr for message in messages), result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def finished(runner, in_tmp, blob_dir) -> Path:
    assert runner.invoke(app, ["train", "--data-dir", str(blob_dir), *SMALL]).exit_code == 0
    assert runner.invoke(app, ["train", "--data-dir", str(blob_dir), *SMALL, "--name", "other"]).exit_code == 0
    return next(p for p in Path("runs").iterdir() if not p.name.endswith("other"))


def rewrite_npz(path: Path, **changes) -> None:
    with np.load(path, allow_pickle=False) as stored:
        arrays = {key: stored[key] for key in stored.files}
    np.savez(path, **(arrays | changes))


def header_of(path: Path) -> dict:
    with np.load(path, allow_pickle=False) as stored:
        return json.loads(str(stored["header"]))


@pytest.mark.parametrize(
    "edit",
    [
        lambda h: h["members"][0].update(input_shape=[2, 42]),
        lambda h: h["members"][0]["layers"].__setitem__(0, 7),
        lambda h: h["members"][0]["layers"].pop(),
        lambda h: h.update(members=[]),
        lambda h: h["members"][0]["layers"][0].update(kind="dense9"),
    ],
    ids=["input shape", "a layer replaced", "a layer gone", "no networks", "an unknown layer"],
)
def test_a_model_whose_header_was_edited_is_one_line(runner, finished, edit):
    model = finished / "model.npz"
    header = header_of(model)
    edit(header)
    rewrite_npz(model, header=np.array(json.dumps(header)))
    before = tree(Path("."))
    for args in (["predict", str(finished), "--out", "p.csv"], ["evaluate", str(finished)], ["show", "--test", "1"]):
        one_line(runner.invoke(app, args), f"{model}: not a readable kaggle-digits model")
    assert tree(Path(".")) == before  # nothing written, nothing overwritten
    assert "other" in runner.invoke(app, ["runs"]).stdout


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        (lambda r: r + 10_000, "row numbers outside 0–299 (train.csv has 300 rows)"),
        (lambda r: r - 1_000, "row numbers outside"),
        (lambda r: np.full_like(r, 3), "a row named twice"),
        (lambda r: r.astype(np.float64), "row numbers that are not whole numbers"),
    ],
    ids=["past the end", "negative", "repeated", "not whole"],
)
def test_held_out_rows_out_of_range_are_one_line(runner, finished, rows, problem):
    heldout = finished / "heldout.npz"
    with np.load(heldout) as stored:
        rewrite_npz(heldout, rows=rows(stored["rows"]))
    for args in (["evaluate", str(finished)], ["misclassified", str(finished), "--out", "m.png"]):
        one_line(runner.invoke(app, args), f"{heldout}: holds {problem}")
    assert not Path("m.png").exists()


@pytest.fixture
def stopped(blob_dir, in_tmp) -> Path:
    """A run stopped by Ctrl-C during its second epoch: a record and one checkpoint."""
    config = preset_config("mlp", hidden_sizes=(16,), epochs=4, batch_size=64)
    request = TrainRequest(config, DataSource.full(blob_dir), Path("runs"), Path("submissions"), jobs=1)
    steps = iter(range(1, 100))

    def stop(event) -> None:
        if event.record is None and next(steps) == 7:  # 5 steps an epoch
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted):
        train_run(request, on_event=stop)
    (run_dir,) = Path("runs").iterdir()
    assert (run_dir / "checkpoint0.npz").is_file()
    return run_dir


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],
        lambda b: b"\0" * len(b),
        lambda b: b"",
        lambda b: b[:100],
    ],
    ids=["truncated", "NUL bytes", "empty", "a header only"],
)
def test_resume_of_a_damaged_checkpoint_names_it_and_how_to_start_over(runner, stopped, damage):
    checkpoint = stopped / "checkpoint0.npz"
    checkpoint.write_bytes(damage(checkpoint.read_bytes()))
    before = tree(stopped)
    result = runner.invoke(app, ["train", "--resume", str(stopped)])
    one_line(result, f"{checkpoint}: not a readable checkpoint", "delete it and resume again")
    assert tree(stopped) == before  # the record is not marked failed: nothing trained
    checkpoint.unlink()
    assert runner.invoke(app, ["train", "--resume", str(stopped)]).exit_code == 0


def test_a_record_that_is_a_folder_is_listed_as_unreadable(runner, finished):
    broken = Path("runs") / "20200101-000000-broken"
    shutil.copytree(finished, broken)
    (broken / "metrics.json").unlink()
    (broken / "metrics.json").mkdir()
    listed = runner.invoke(app, ["runs"])
    assert listed.exit_code == 0 and "unreadable" in listed.stdout and finished.name in listed.stdout
    one_line(runner.invoke(app, ["evaluate", str(broken)]), f"{broken}: not a run folder")
