"""The CLI end to end: train on the sample, predict, and one clear line for every kind of bad input."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kaggle_digits.data import load_train, sample_dir
from kaggle_digits.inspection.evaluation import confusion_matrix, dev_predictions, top_confusions
from kaggle_digits.nn.serialize import load_model
from kaggle_digits.plots import misclassified_figure_size
from kaggle_digits.runfolder.folder import load_run
from kaggle_digits.submission import read_submission
from kaggle_digits.terminal.cli import app
from kaggle_digits.training.config import TrainConfig

from helpers import png_size, tree

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def train_args(data_dir: Path, *extra: str) -> list[str]:
    return ["train", "--data-dir", str(data_dir), "--preset", "mlp", "--hidden", "16", "--epochs", "2", *extra]


def test_train_on_the_sample_writes_run_and_submission(runner, in_tmp):
    result = runner.invoke(app, ["train", "--sample", "--preset", "mlp", "--epochs", "12"])
    assert result.exit_code == 0, result.output
    run_dir = next((in_tmp / "runs").iterdir())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["preset"] == "mlp" and metrics["status"] == "finished" and metrics["data"]["source"] == "sample"
    estimate = metrics["estimate"]
    assert estimate["accuracy"] >= 0.90 and estimate["rows"] == 500 and estimate["method"] == "dev split, last epoch"
    assert estimate["ci95"][0] < estimate["accuracy"] < estimate["ci95"][1]
    assert metrics["data"]["train_rows"] == 4500 and metrics["data"]["dev_rows"] == 500
    assert len(metrics["parts"][0]["history"]) == 12 and metrics["epochs"] == {"done": 12, "planned": 12}
    submission = in_tmp / "submissions" / f"{run_dir.name}.csv"
    assert read_submission(submission, n_test=1000).shape == (1000,)
    assert metrics["submission"] == f"../../submissions/{submission.name}"  # relative to the run folder
    assert "Training summary" in result.output and "estimate" in result.output
    assert f"{estimate['accuracy']:.4f}" in result.output
    files = ["curves.png", "heldout.npz", "metrics.json", "model.npz", "test_softmax.npz"]
    assert sorted(p.name for p in run_dir.iterdir()) == files


def test_predict_rewrites_the_same_labels_from_the_saved_model(runner, in_tmp, blob_dir):
    assert runner.invoke(app, train_args(blob_dir)).exit_code == 0
    run_dir = next((in_tmp / "runs").iterdir())
    result = runner.invoke(app, ["predict", str(run_dir / "model.npz"), "--data-dir", str(blob_dir), "--out", "p.csv"])
    assert result.exit_code == 0, result.output
    trained = read_submission(in_tmp / "submissions" / f"{run_dir.name}.csv", n_test=50)
    np.testing.assert_array_equal(read_submission(in_tmp / "p.csv", n_test=50), trained)
    assert "Wrote 50 predictions to p.csv" in result.output


def test_tutorial_preset_trains_full_batch(runner, in_tmp, blob_dir):
    result = runner.invoke(app, ["train", "--data-dir", str(blob_dir), "--preset", "tutorial", "--epochs", "30"])
    assert result.exit_code == 0, result.output
    assert "iteration 30/30" in result.output and "784-10-10" in result.output


def corrupt(line: int | None = None, column: int | None = None, value: str | None = None, text: str | None = None):
    """A function that damages train.csv: set one cell, or replace the whole text."""

    def apply(path: Path) -> None:
        if text is not None:
            path.write_text(text)
            return
        lines = path.read_text().splitlines()
        cells = lines[line - 1].split(",")
        cells[column] = value
        lines[line - 1] = ",".join(cells)
        path.write_text("\n".join(lines) + "\n")

    return apply


def insert_blank_line(path: Path) -> None:
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines[:3], "", *lines[3:]]) + "\n")


def add_cell(path: Path) -> None:
    lines = path.read_text().splitlines()
    lines[4] += ",0"
    path.write_text("\n".join(lines) + "\n")


BAD_TRAIN = {
    "missing": (lambda p: p.unlink(), "train.csv: file not found — run `make download`"),
    "empty": (corrupt(text=""), "train.csv: empty file"),
    "header only": (lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "train.csv: no data rows"),
    "test header": (
        lambda p: p.write_text(",".join(f"pixel{i}" for i in range(784)) + "\n1\n"),
        "train.csv: header has 784 columns, expected 785",
    ),
    "renamed column": (corrupt(line=1, column=3, value="pxl2"), "header column 4 is 'pxl2', expected 'pixel2'"),
    "extra cell": (add_cell, "train.csv: line 5 has 786 columns, expected 785"),
    "text cell": (corrupt(line=3, column=6, value="abc"), "line 3, column pixel5: 'abc' is not a number"),
    "empty cell": (corrupt(line=3, column=6, value=""), "line 3, column pixel5: missing value"),
    "nan cell": (corrupt(line=3, column=6, value="NaN"), "line 3, column pixel5: missing value"),
    "blank line": (insert_blank_line, "line 4, blank line"),
    "pixel 300": (
        corrupt(line=6, column=101, value="300"),
        "line 6, column pixel100: pixel value 300 is not an integer",
    ),
    "pixel -1": (corrupt(line=2, column=1, value="-1"), "line 2, column pixel0: pixel value -1 is not an integer"),
    "label 12": (corrupt(line=7, column=0, value="12"), "line 7, column label: label 12 is not a digit 0–9"),
    "label -3": (corrupt(line=2, column=0, value="-3"), "line 2, column label: label -3 is not a digit"),
    "non-UTF-8 byte": (
        lambda p: p.write_bytes(p.read_bytes().replace(b"\n0,", b"\n\xe90,", 1)),
        "train.csv: line 2: byte 0xe9 is not UTF-8 text",
    ),
}


@pytest.mark.parametrize("case", BAD_TRAIN)
def test_bad_train_csv_is_one_line_exit_1_and_nothing_written(runner, in_tmp, blob_dir, case):
    damage, message = BAD_TRAIN[case]
    (in_tmp / "submissions").mkdir()
    (in_tmp / "submissions" / "earlier.csv").write_text("ImageId,Label\n1,1\n")
    before = tree(in_tmp / "submissions")
    damage(blob_dir / "train.csv")
    result = runner.invoke(app, train_args(blob_dir))
    assert result.exit_code == 1
    err = result.stderr.strip()
    assert err.count("\n") == 0 and err.startswith("error: ") and message in err, err
    assert "Traceback" not in result.output
    assert tree(in_tmp / "submissions") == before
    assert tree(in_tmp / "runs") == {}
    assert not (blob_dir / "train.csv.cache.npz").exists()


def test_bad_test_csv_is_reported_too(runner, in_tmp, blob_dir):
    corrupt(line=4, column=2, value="256")(blob_dir / "test.csv")
    result = runner.invoke(app, train_args(blob_dir))
    assert result.exit_code == 1
    assert "test.csv: line 4, column pixel2: pixel value 256 is not an integer in 0–255" in result.stderr
    assert tree(in_tmp / "runs") == {} and tree(in_tmp / "submissions") == {}


def test_channels_average_and_elastic_reach_the_network_and_the_record(runner, in_tmp, blob_dir):
    args = ["train", "--data-dir", str(blob_dir), "--preset", "fast", "--channels", "2,3", "--hidden", "8"]
    result = runner.invoke(app, [*args, "--epochs", "1", "--average", "0.9", "--elastic", "20"])
    assert result.exit_code == 0, result.output
    run_dir = next((in_tmp / "runs").iterdir())
    config = json.loads((run_dir / "metrics.json").read_text())["config"]
    assert config["conv_channels"] == [2, 3] and config["average"] == 0.9 and config["elastic"] == 20
    model, _ = load_model(run_dir / "model.npz")
    assert [layer.out_channels for layer in model.layers if layer.kind == "conv2d"] == [2, 3]


def test_the_lean_preset_and_adams_betas_reach_the_network_and_the_record(runner, in_tmp, blob_dir):
    args = ["train", "--data-dir", str(blob_dir), "--preset", "lean", "--channels", "2,3", "--hidden", "8"]
    result = runner.invoke(app, [*args, "--epochs", "1", "--betas", "0.8,0.95"])
    assert result.exit_code == 0, result.output
    run_dir = next((in_tmp / "runs").iterdir())
    config = json.loads((run_dir / "metrics.json").read_text())["config"]
    assert config["adam_betas"] == [0.8, 0.95] and config["schedule"] == "one-cycle"
    assert (config["first_kernel"], config["pool_every"]) == (5, 1)
    model, info = load_model(run_dir / "model.npz")
    assert [layer.k for layer in model.layers if layer.kind == "conv2d"] == [5, 3]
    assert TrainConfig.from_dict(info["config"]).adam_betas == (0.8, 0.95)


@pytest.mark.parametrize(("extra", "members"), [([], 3), (["--ensemble", "1"], 1)])
def test_the_best_preset_trains_its_own_ensemble_unless_told_otherwise(runner, in_tmp, blob_dir, extra, members):
    args = ["train", "--data-dir", str(blob_dir), "--preset", "best", "--channels", "2,2", "--hidden", "4"]
    result = runner.invoke(app, [*args, "--epochs", "1", *extra])
    assert result.exit_code == 0, result.output
    metrics = json.loads((next((in_tmp / "runs").iterdir()) / "metrics.json").read_text())
    assert metrics["members"] == members and len(metrics["parts"]) == members
    assert metrics["config"]["average"] == 0.999


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lr", "0"], "--lr 0: use a finite rate > 0, e.g. 0.001"),
        (["--lr", "inf"], "--lr inf: use a finite rate > 0"),
        (["--lr", "nan"], "--lr nan: use a finite rate > 0"),
        (["--hidden", "12,x"], "--hidden 12,x: give whole numbers separated by commas, e.g. 512,256"),
        (["--hidden", "512,,256"], "--hidden 512,,256: give whole numbers separated by commas"),
        (["--hidden", "0"], "--hidden 0: give up to 16 layer sizes from 1 to 16,384"),
        (["--hidden", "1000000000"], "--hidden 1000000000: give up to 16 layer sizes from 1 to 16,384"),
        (["--hidden", ",".join(["8"] * 17)], "give up to 16 layer sizes"),
        (["--epochs", "1000000000000"], "--epochs 1000000000000: train for 1 to 100,000"),
        (["--batch-size", "1000000000000"], "--batch-size 1000000000000: use a size from 1 to 65,536"),
        (["--preset", "cnn", "--channels", "8,100000"], "--channels 8,100000: give up to 16 channel counts from 1"),
        (["--dev-size", "5000"], "--dev-size 5000: gives 5,000 dev rows; use a fraction like 0.1 or 10 to 290 rows"),
        (["--dev-size", "1.0"], "--dev-size 1.0: use a fraction strictly between 0 and 1"),
        (["--dev-size", "2.0"], "--dev-size 2.0: use a fraction strictly between 0 and 1"),
        (["--dev-size", "2"], "--dev-size 2: gives 2 dev rows; use a fraction like 0.1 or 10 to 290 rows"),
        (["--dev-size", "-0.1"], "--dev-size -0.1: use a fraction strictly between 0 and 1"),
        (["--dev-size", "tenth"], "--dev-size tenth: not a number; use a fraction"),
        (["--dev-size", "0", "--keep", "best"], "--keep best and --dev-size 0: best is chosen on held-out rows"),
        (["--batch-size", "-4"], "--batch-size -4: use a size from 1 to 65,536, or 0 for full batch"),
        (["--channels", "8,x"], "--channels 8,x: give whole numbers separated by commas, e.g. 32,32,64,64"),
        (["--channels", "8,8"], "--channels 8,8: only cnn presets have convolutions"),
        (["--preset", "cnn", "--channels", "8,8,8"], "--channels 8,8,8: a cnn takes 2 or 4 channel counts"),
        (["--betas", "0.7"], "--betas 0.7: give two decays in [0, 1), e.g. 0.9,0.999"),
        (["--betas", "0.9,x"], "--betas 0.9,x: give two decays"),
        (["--betas", "0.9,1"], "--betas 0.9,1: give two decays in [0, 1)"),
        (["--betas", "0.7,0.9", "--optimizer", "momentum"], "--betas 0.7,0.9 and --optimizer momentum: only adam"),
        (["--average", "1.5"], "--average 1.5: use a decay in [0, 1) such as 0.999"),
        (["--elastic", "20", "--no-augment"], "--elastic 20: works with --augment only"),
        (["--elastic", "-1", "--augment"], "--elastic -1: use a finite strength ≥ 0"),
        (["--label-smoothing", "2"], "--label-smoothing 2: use a share in [0, 1)"),
        (["--seed", "-1"], "--seed -1: use a whole number ≥ 0"),
        (["--tta", "12"], "--tta 12: use 1 (off) to 9 views"),
        (["--ensemble", "0"], "--ensemble 0: train at least 1 network, at most 100"),
        (["--folds", "1"], "--folds 1: use 2 or more folds"),
        (["--folds", "3", "--dev-size", "0.2"], "--folds 3 and --dev-size 0.2: choose one"),
        (["--estimate-from", "x"], "--estimate-from x: only for a final fit on every row; add --dev-size 0"),
        (["--name", "x/y"], "--name x/y: a run name is one folder name"),
        (["--name", ".hidden"], "--name .hidden: a run name is one folder name"),
        (["--sample"], "--sample and --data-dir: choose one"),
        (["--jobs", "-1"], "--jobs -1: train at least 1 network at a time (at most 256), or 0 for one per core"),
        (["--runs-dir", str(Path(__file__))], "--runs-dir"),
    ],
)
def test_bad_options_are_one_line_errors(runner, in_tmp, blob_dir, args, message):
    result = runner.invoke(app, train_args(blob_dir, *args))
    assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert tree(in_tmp / "runs") == {}


def test_predict_refuses_a_corrupt_model_without_touching_the_output(runner, in_tmp, blob_dir, sample_run):
    broken = in_tmp / "runs" / "broken"
    shutil.copytree(sample_run, broken)
    (broken / "model.npz").write_bytes(b"PK\x03\x04 broken")
    (in_tmp / "out.csv").write_text("keep me")
    result = runner.invoke(app, ["predict", str(broken), "--data-dir", str(blob_dir), "--out", "out.csv"])
    assert result.exit_code == 1 and "model.npz: not a readable kaggle-digits model" in result.stderr
    assert (in_tmp / "out.csv").read_text() == "keep me"


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "kaggle_digits", "--help"], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0
    for command in ("train", "predict"):
        assert command in done.stdout


def test_misclassified_command_writes_the_grid_and_prints_confusions(runner, sample_run, tmp_path):
    runs_dir = str(sample_run.parent)
    result = runner.invoke(
        app, ["misclassified", "--runs-dir", runs_dir, "--limit", "5", "--out", str(tmp_path / "m.png")]
    )
    assert result.exit_code == 0, result.output
    preds = dev_predictions(load_run(sample_run))
    wrong = int((preds.predicted != preds.labels).sum())
    assert f"{wrong} of 500 dev images misclassified" in result.output
    assert "Wrote 5 mistakes to" in result.output and "m.png" in result.output
    t, p, n = top_confusions(confusion_matrix(preds.labels, preds.predicted))[0]
    assert re.search(rf"{t} → {p}\s+│\s+{n} ", result.output)
    assert png_size(tmp_path / "m.png")[0] == misclassified_figure_size(5)[0]  # five tiles in one row


def test_evaluate_and_show_commands(runner, sample_run):
    runs_dir = str(sample_run.parent)
    result = runner.invoke(app, ["evaluate", str(sample_run)])
    assert result.exit_code == 0, result.output
    preds = dev_predictions(load_run(sample_run))
    assert f"dev accuracy {preds.accuracy:.4f}" in result.output
    unwrapped = "".join(result.output.split())  # long temp paths wrap at the terminal's width
    assert "Wrote" in result.output and "".join(str(sample_run / "confusion.png").split()) in unwrapped
    assert min(png_size(sample_run / "confusion.png")) > 300
    result = runner.invoke(app, ["show", "3", "--train", "--runs-dir", runs_dir])
    assert result.exit_code == 0, result.output
    train = load_train(sample_dir())
    proba = load_run(sample_run).model.predict_proba(train.features(np.array([2])))[0]
    assert f"bundled sample train.csv #3, label {train.labels[2]}" in result.output
    assert str(sample_dir()) not in result.output  # the run's own data, without the cache's path
    assert re.search(rf"{proba.argmax()}\s+{proba.max():.2%}", result.output)
    assert len([line for line in result.output.splitlines() if len(line) == 28]) >= 14  # the 28-wide picture


def test_train_writes_learning_curves(runner, in_tmp, blob_dir):
    assert runner.invoke(app, train_args(blob_dir)).exit_code == 0
    (run_dir,) = (in_tmp / "runs").iterdir()
    width, height = png_size(run_dir / "curves.png")
    assert width > height > 200  # two panels side by side


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        (None, ["misclassified"], "runs: no finished runs found; train one with `kaggle-digits train`"),
        (None, ["evaluate", "runs/nope"], "runs/nope: run folder not found"),
        ("garbage-model", ["evaluate", "runs/bad"], "model.npz: not a readable kaggle-digits model"),
        ("no-metrics", ["misclassified", "runs/bad"], "runs/bad: not a run folder (a run folder holds metrics.json)"),
        (None, ["show", "0", "--sample"], "ID 0: "),
    ],
)
def test_inspection_errors_are_one_line(runner, in_tmp, sample_run, setup, args, message):
    bad = in_tmp / "runs" / "bad"
    if setup:
        bad.mkdir(parents=True)
        if setup == "garbage-model":
            shutil.copy(sample_run / "metrics.json", bad / "metrics.json")
            (bad / "model.npz").write_bytes(b"garbage")
        else:
            shutil.copy(sample_run / "model.npz", bad / "model.npz")
    result = runner.invoke(app, args)
    assert result.exit_code == 1 and message in result.stderr and result.stderr.count("\n") == 1, result.output


def test_train_ensemble_and_combine_runs(runner, in_tmp, blob_dir):
    result = runner.invoke(app, train_args(blob_dir, "--ensemble", "2"))
    assert result.exit_code == 0, result.output
    (ensemble_dir,) = (in_tmp / "runs").iterdir()
    assert ensemble_dir.name.endswith("-mlp-x2")
    metrics = json.loads((ensemble_dir / "metrics.json").read_text())
    assert [m["seed"] for m in metrics["parts"]] == [0, 1] and "members" in result.output
    each = metrics["parameters"] // 2
    assert f"2 × {each:,} parameters" in " ".join(result.output.split())  # counts, not "2 × N"
    model = load_run(ensemble_dir).model
    assert len(model.networks) == 2
    assert not np.array_equal(model.networks[0].layers[0].params["W"], model.networks[1].layers[0].params["W"])

    assert runner.invoke(app, train_args(blob_dir, "--seed", "5", "--split-seed", "0")).exit_code == 0
    single = max((in_tmp / "runs").iterdir(), key=lambda p: (p / "metrics.json").stat().st_mtime)
    result = runner.invoke(app, ["ensemble", str(ensemble_dir), str(single)])
    assert result.exit_code == 0, result.output
    combined = next(p for p in (in_tmp / "runs").iterdir() if "-blend-x2" in p.name)
    combined_metrics = json.loads((combined / "metrics.json").read_text())
    kept = np.load(combined / "heldout.npz")  # both runs share the dev split (--split-seed 0): its 30 rows
    labels = pd.read_csv(blob_dir / "train.csv")["label"].to_numpy()
    right = (kept["proba"].argmax(axis=1) == labels[kept["rows"]]).mean()
    assert len(kept["rows"]) == 30 and combined_metrics["estimate"]["accuracy"] == pytest.approx(right)
    assert "Blend" in result.output and combined_metrics["members"] == 3  # networks: 2 + 1
    result = runner.invoke(app, ["ensemble", str(single), str(single)])
    assert result.exit_code == 1 and "named twice" in result.stderr
    assert read_submission(in_tmp / "submissions" / f"{combined.name}.csv", n_test=50).shape == (50,)


def test_a_bad_thread_setting_stops_training_with_one_line_and_no_files(runner, in_tmp, blob_dir, monkeypatch):
    monkeypatch.setenv("KAGGLE_DIGITS_THREADS", "many")
    result = runner.invoke(app, train_args(blob_dir))
    assert result.exit_code == 1
    assert "KAGGLE_DIGITS_THREADS='many'" in result.output and "Traceback" not in result.output
    assert tree(in_tmp / "runs") == {} and tree(in_tmp / "submissions") == {}


def test_a_folds_run_says_what_its_test_time_views_gained_on_the_held_out_rows(runner, in_tmp, blob_dir):
    """The one-view count equals the estimate of the same networks trained with --tta 1 (the views change no weight)."""
    viewed = runner.invoke(app, train_args(blob_dir, "--folds", "2", "--tta", "3", "--runs-dir", "a"))
    plain = runner.invoke(app, train_args(blob_dir, "--folds", "2", "--runs-dir", "b"))
    assert viewed.exit_code == 0 and plain.exit_code == 0, viewed.output + plain.output
    (a,), (b,) = Path("a").iterdir(), Path("b").iterdir()
    gain = json.loads((a / "metrics.json").read_text())["views_gain"]
    one_view = json.loads((b / "metrics.json").read_text())["estimate"]
    assert gain["rows"] == one_view["rows"] == 300
    assert gain["correct_one_view"] == round(one_view["accuracy"] * 300)
    estimate = json.loads((a / "metrics.json").read_text())["estimate"]
    assert gain["correct"] == round(estimate["accuracy"] * 300)
    said = " ".join(viewed.output.split())
    assert f"{gain['correct']:,} of 300 held-out rows right, {gain['correct_one_view']:,} with the image alone" in said
