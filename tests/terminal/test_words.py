"""What a run says and draws: checkpoints on a clock for full-batch runs, times that agree, one curves picture,
out-of-fold runs called so, a live line that waits for its first step, user text never read as markup."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from kaggle_digits.inspection.listing import list_runs
from kaggle_digits.pipeline import parts as train_job
from kaggle_digits.plots import curves_figure
from kaggle_digits.progress import TrainingProgress
from kaggle_digits.terminal.cli import app
from kaggle_digits.terminal.display import describe, runs_table
from kaggle_digits.training.fit import TrainEvent
from kaggle_digits.training.presets import preset_config

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def test_full_batch_iterations_checkpoint_on_a_clock_and_the_times_agree(runner, in_tmp, blob_dir, monkeypatch):
    saves = []
    original = train_job.save_checkpoint
    monkeypatch.setattr(train_job, "save_checkpoint", lambda *a: saves.append(1) or original(*a))
    result = runner.invoke(app, ["train", "--data-dir", str(blob_dir), "--preset", "tutorial", "--epochs", "300"])
    assert result.exit_code == 0, result.output
    (run_dir,) = Path("runs").iterdir()
    metrics = json.loads((run_dir / "metrics.json").read_text())
    seconds = metrics["parts"][0]["seconds"]
    assert len(saves) <= seconds / train_job.CHECKPOINT_EVERY_S + 1  # not one per iteration (300)
    last_line = [line for line in result.output.splitlines() if line.startswith("iteration 300/300")][-1]
    shown = float(re.search(r"· ([\d.]+) s$", last_line)[1])
    summary = float(re.search(r"train ([\d.]+) s", result.output)[1])
    assert abs(summary - shown) <= 0.15 and metrics["timings"]["train_s"] == seconds


def test_mini_batch_epochs_checkpoint_after_every_epoch_but_the_last(runner, in_tmp, blob_dir, monkeypatch):
    saves = []
    original = train_job.save_checkpoint
    monkeypatch.setattr(train_job, "save_checkpoint", lambda *a: saves.append(1) or original(*a))
    args = ["train", "--data-dir", str(blob_dir), "--hidden", "16", "--epochs", "4", "--no-augment"]
    assert runner.invoke(app, args).exit_code == 0
    assert len(saves) == 3


def test_evaluate_draws_the_same_curves_as_train_and_a_folds_run_is_called_out_of_fold(runner, in_tmp, blob_dir):
    args = ["train", "--data-dir", str(blob_dir), "--hidden", "16", "--epochs", "1", "--no-augment", "--folds", "2"]
    trained = runner.invoke(app, args)
    assert trained.exit_code == 0, trained.output
    (run_dir,) = Path("runs").iterdir()
    drawn_by_train = (run_dir / "curves.png").read_bytes()
    result = runner.invoke(app, ["evaluate", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert (run_dir / "curves.png").read_bytes() == drawn_by_train
    assert "out-of-fold accuracy" in result.output and " dev " not in result.output
    mistakes = runner.invoke(app, ["misclassified", str(run_dir)])
    assert "out-of-fold" in mistakes.output and "dev" not in mistakes.output.replace("--dev", "")
    assert "fold 1/2 · epoch 1/1" in trained.output and " · fold " in trained.output


def test_the_live_line_appears_with_the_first_step(blob_dir):
    console = Console(file=io.StringIO(), force_terminal=True, width=120)
    with TrainingProgress(console, preset_config("mlp")) as progress:
        assert progress.progress.tasks == []
        progress(TrainEvent("", 1, 3, 1, 30, 2.3, 100.0, 0.1))
        assert [task.completed for task in progress.progress.tasks] == [1]
    assert "nan" not in console.file.getvalue()


def test_a_one_epoch_curve_has_whole_epoch_ticks():
    history = [{"epoch": 1, "loss": 1.0, "dev_loss": 1.1, "train_accuracy": 0.8, "dev_accuracy": 0.7}]
    figure = curves_figure([("", history)], "t")
    figure.canvas.draw()
    for ax in figure.axes:
        ticks = [t for t in ax.get_xticks() if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        assert ticks == [1.0]


def test_a_narrow_runs_table_shows_notes_as_written(runner, in_tmp, blob_dir):
    args = ["train", "--data-dir", str(blob_dir), "--hidden", "16", "--epochs", "1", "--note", "[bold]x[/] [red]"]
    assert runner.invoke(app, args).exit_code == 0
    console = Console(file=io.StringIO(), width=100)
    console.print(runs_table(list_runs(Path("runs")), Path("runs"), 100))
    assert "[bold]x[/] [red]" in console.file.getvalue()


@pytest.mark.parametrize(
    ("preset", "words"),
    [
        ("mlp", "784-512-256-10"),
        ("cnn", "conv32-conv32-pool-conv64-conv64-pool-fc256-10"),
        ("lean", "conv24(5x5)-pool-conv32-pool-fc256-10"),
        ("strided", "32C3-32C3-32C5S2-64C3-64C3-64C5S2-fc128-10"),
    ],
)
def test_a_network_is_described_as_it_is_built(preset, words):
    assert describe(preset_config(preset)) == words
