"""The Python face (`import kaggle_digits as kd`), as a notebook uses it, on the bundled sample."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import kaggle_digits as kd
from kaggle_digits.data import load_test, load_train, sample_dir

from helpers import blob_digits, write_csv

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


@pytest.fixture(scope="module")
def notebook_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("notebook")
    run = kd.train(
        "mlp", sample=True, runs_dir=root / "runs", submissions_dir=root / "out", epochs=3, hidden_sizes=[64],
        augment=False, quiet=True,
    )  # fmt: skip
    return root, run


def test_train_returns_a_run_with_its_estimate_files_and_figures(notebook_run):
    root, run = notebook_run
    assert run.path.parent == root / "runs" and run.record.status == "finished"
    assert run.estimate.rows == 500 and 0.8 < run.estimate.accuracy <= 1
    assert run.estimate.ci95[0] < run.estimate.accuracy < run.estimate.ci95[1]
    assert run.submission_path.parent == root / "out" and run.submission_path.is_file()
    for figure in (run.curves(), run.confusion(), run.misclassified(limit=8)):
        assert isinstance(figure, Figure) and figure.axes
    assert "mlp" in repr(run)


def test_predict_takes_kaggle_pixels_in_either_shape(notebook_run):
    _, run = notebook_run
    test = load_test(sample_dir())
    labels = run.predict(test.images[:50])
    np.testing.assert_array_equal(labels, run.predict(test.images[:50].reshape(50, 28, 28)))
    np.testing.assert_array_equal(labels, run.predict(test.features(np.arange(50))))
    written = np.loadtxt(run.submission_path, delimiter=",", skiprows=1, dtype=int)[:50, 1]
    np.testing.assert_array_equal(labels, written)
    train = load_train(sample_dir())
    assert (run.predict(train.images[:500]) == train.labels[:500]).mean() > 0.8
    with pytest.raises(kd.KaggleDigitsError, match="images of 10 pixels"):
        run.predict(np.zeros((2, 10)))


def test_runs_is_a_dataframe_and_load_run_finds_the_newest(notebook_run):
    root, run = notebook_run
    table = kd.runs(root / "runs")
    assert isinstance(table, pd.DataFrame) and list(table["run"]) == [run.path.name]
    assert table.loc[0, "estimate"] == pytest.approx(run.estimate.accuracy)
    assert table.loc[0, "status"] == "finished" and table.loc[0, "preset"] == "mlp"
    assert kd.load_run(runs_dir=root / "runs").path == run.path
    assert kd.load_run(run.path.name, runs_dir=root / "runs").path == run.path


def test_settings_are_named_as_the_config_names_them(tmp_path):
    with pytest.raises(kd.ConfigError, match=r"^lr 3: not a setting; use .*learning_rate"):
        kd.train("mlp", sample=True, runs_dir=tmp_path, lr=3)
    with pytest.raises(kd.ConfigError, match=r"^learning_rate -1: use a finite rate > 0"):
        kd.train("mlp", sample=True, runs_dir=tmp_path, learning_rate=-1.0)
    assert not any(tmp_path.iterdir())


def test_progress_prints_unless_quiet_and_inputs_that_take_no_files_are_fine(tmp_path, capsys):
    data = tmp_path / "input"
    data.mkdir()
    rng = np.random.default_rng(0)
    write_csv(data / "train.csv", *blob_digits(200, rng))
    write_csv(data / "test.csv", blob_digits(20, rng)[0], None)
    (data / "train.csv.cache.npz").mkdir()  # a folder in the cache's place: no file can be written beside the data
    (data / "test.csv.cache.npz").mkdir()
    before = sorted(p.name for p in data.iterdir())
    kd.train("mlp", data_dir=data, runs_dir=tmp_path / "runs", submissions_dir=tmp_path / "out", epochs=2,
             hidden_sizes=(16,), augment=False)  # fmt: skip
    assert "epoch 2/2" in capsys.readouterr().out
    kd.train("mlp", data_dir=data, runs_dir=tmp_path / "runs", submissions_dir=tmp_path / "out", epochs=1,
             hidden_sizes=(16,), augment=False, quiet=True, seed=1)  # fmt: skip
    assert capsys.readouterr().out == ""
    assert sorted(p.name for p in data.iterdir()) == before


def test_the_notebook_face_refuses_what_the_cli_refuses(tmp_path, monkeypatch, runner):
    from kaggle_digits.terminal.cli import app

    monkeypatch.chdir(tmp_path)
    with pytest.raises(kd.ConfigError, match="runs_dir nowhere: no such folder"):
        kd.runs("nowhere")
    cli = runner.invoke(app, ["runs", "--runs-dir", "nowhere"])
    assert cli.exit_code == 1 and cli.stderr == (
        "error: --runs-dir nowhere: no such folder; give --runs-dir the folder your runs are in\n"
    )
    assert kd.runs().empty  # the default folder, before the first run: nothing yet, not an error
    with pytest.raises(kd.ConfigError, match=r"folds 5 and dev_size 0\.1: choose one"):
        kd.train("mlp", sample=True, folds=5, dev_size=0.1, quiet=True)
    with pytest.raises(kd.ConfigError, match="sample and data_dir elsewhere: choose one"):
        kd.train("mlp", sample=True, data_dir="elsewhere", quiet=True)
    cli = runner.invoke(app, ["train", "--sample", "--folds", "5", "--dev-size", "0.1"])
    assert cli.exit_code == 1 and "--folds 5 and --dev-size 0.1: choose one" in cli.stderr
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_tune_and_study_search_as_the_cli_does(tmp_path):
    pytest.importorskip("optuna")
    params = {"epochs": 1, "width": 0.5, "learning_rate": 0.003}
    report = kd.tune("mlp", 2, sample=True, params=params, runs_dir=tmp_path / "runs", submissions_dir=tmp_path)
    assert report.name == "mlp" and report.fixed == params and len(report.rows) == 2
    assert {row.state for row in report.rows} <= {"finished", "pruned"} and report.best is not None
    again = kd.study("mlp", runs_dir=tmp_path / "runs")
    assert [row.value for row in again.rows] == [row.value for row in report.rows]
    assert [p.name for p in again.pictures] == ["tune-mlp-history.png", "tune-mlp-parallel.png"]
    frame = kd.runs(tmp_path / "runs")
    assert sorted(frame["trial"]) == [0, 1] and set(frame["study"]) == {"mlp"}
