"""Honest estimates: stratified folds, out-of-fold scores, final fits, test-time views, the runs table, old records."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from test_resume import arrays, stop_at

from kaggle_digits.data import load_train, stratified_folds
from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.inspection.evaluation import dev_predictions
from kaggle_digits.inspection.listing import SCORES_FILE, list_runs, remember_scores
from kaggle_digits.nn.augment import shift_images
from kaggle_digits.nn.network import ViewAveraged, with_views
from kaggle_digits.nn.serialize import load_model
from kaggle_digits.pipeline.plan import fold_ids
from kaggle_digits.pipeline.start import TrainRequest
from kaggle_digits.pipeline.train import RunInterrupted, resume_run, train_run
from kaggle_digits.runfolder.folder import load_run, read_record
from kaggle_digits.runfolder.record import DataSource, wilson_interval
from kaggle_digits.terminal.cli import app
from kaggle_digits.training.presets import preset_config

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def request(data_dir, root, **options) -> TrainRequest:
    config = preset_config("mlp", hidden_sizes=(24,), epochs=3, batch_size=64, augment=False).replace(
        **options.pop("config", {})
    )
    options.setdefault("jobs", 1)  # one network after another, so that a progress callback can stop the run
    return TrainRequest(config, DataSource.full(data_dir), root / "runs", root / "submissions", **options)


def test_stratified_folds_deal_every_digit_evenly_and_reproducibly():
    labels = np.repeat(np.arange(10), [50, 41, 37, 60, 33, 45, 52, 38, 44, 40])
    fold = stratified_folds(labels, 5, np.random.default_rng(3))
    np.testing.assert_array_equal(fold, stratified_folds(labels, 5, np.random.default_rng(3)))
    assert np.bincount(fold).max() - np.bincount(fold).min() <= 1
    for digit in range(10):
        per_fold = np.bincount(fold[labels == digit], minlength=5)
        assert per_fold.max() - per_fold.min() <= 1
    with pytest.raises(KaggleDigitsError, match="folds 6: use at most as many folds as the rarest digit"):
        stratified_folds(labels[labels < 2][:55], 6, np.random.default_rng(0))


def test_wilson_interval_is_sound_near_one():
    low, high = wilson_interval(4190, 4200)
    assert low < 4190 / 4200 < high < 1 and high - low == pytest.approx(0.0030, abs=0.0004)
    assert wilson_interval(42000, 42000)[1] == 1.0


def test_a_folds_run_scores_every_row_out_of_fold_and_averages_its_models(blob_dir, tmp_path):
    outcome = train_run(request(blob_dir, tmp_path, folds=3))
    record = outcome.record
    assert record.folds == 3 and record.epochs_done == 9 and len(record.fold_accuracies) == 3
    estimate = record.estimate
    assert estimate.rows == 300 and estimate.method == "out-of-fold, 3 folds, last epoch"
    model, _ = load_model(outcome.model_path)
    train = load_train(blob_dir)
    fold = fold_ids(train, record.config, 3)
    oof = np.empty(300, np.int64)
    for k, network in enumerate(model.networks):  # each fold's network predicts only the rows it never saw
        oof[fold == k] = network.predict(train.features(np.flatnonzero(fold == k)))
    assert estimate.accuracy == pytest.approx((oof == train.labels).mean())
    preds = dev_predictions(load_run(outcome.run_dir))
    assert len(preds.labels) == 300 and preds.accuracy == pytest.approx(estimate.accuracy)
    assert record.fold_accuracies == pytest.approx([(oof == train.labels)[fold == k].mean() for k in range(3)])


def test_a_folds_run_resumes_mid_fold_to_the_same_models(blob_dir, tmp_path):
    straight = train_run(request(blob_dir, tmp_path / "a", folds=3))
    with pytest.raises(RunInterrupted, match="interrupted at epoch 1/3 of fold 2/3") as stopped:
        train_run(request(blob_dir, tmp_path / "b", folds=3), on_event=stop_at(4 * 3 + 6))  # 4 steps an epoch
    resumed = resume_run(stopped.value.run_dir)
    a, b = arrays(straight.model_path), arrays(resumed.model_path)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_a_final_fit_has_no_estimate_unless_borrowed_from_the_same_configuration(blob_dir, tmp_path):
    final = train_run(request(blob_dir, tmp_path, config={"dev_size": 0}))
    assert final.record.estimate is None and final.record.data.train_rows == 300
    folds = train_run(request(blob_dir, tmp_path, folds=3))
    borrowed = train_run(request(blob_dir, tmp_path, config={"dev_size": 0}, estimate_from=folds.run_dir))
    assert borrowed.record.estimate.accuracy == folds.record.estimate.accuracy
    assert borrowed.record.estimate.method.startswith(f"from {folds.run_dir.name} (out-of-fold, 3 folds")
    other = request(blob_dir, tmp_path, config={"dev_size": 0, "epochs": 5}, estimate_from=folds.run_dir)
    with pytest.raises(KaggleDigitsError, match="trained another configuration"):
        train_run(other)
    with pytest.raises(KaggleDigitsError, match=r"estimate_from .* only for a final fit on every row; add dev_size 0"):
        train_run(request(blob_dir, tmp_path, estimate_from=folds.run_dir))
    with pytest.raises(KaggleDigitsError, match=r"folds 3 and dev_size 0\.2: choose one"):
        train_run(request(blob_dir, tmp_path, folds=3, config={"dev_size": 0.2}))


def test_shifted_images_move_by_whole_pixels_with_zeros_flowing_in():
    image = np.zeros((1, 784), np.float32)
    image[0, 28 * 5 + 7] = 1.0  # row 5, column 7
    moved = shift_images(image, 1, -1).reshape(28, 28)
    assert moved[6, 6] == 1.0 and moved.sum() == 1.0
    edge = np.zeros((1, 784), np.float32)
    edge[0, 27] = 1.0  # top-right corner falls off
    assert shift_images(edge, 0, 1).sum() == 0


def test_test_time_views_average_the_shifted_predictions(blob_dir, tmp_path):
    outcome = train_run(request(blob_dir, tmp_path, config={"tta": 3}))
    assert outcome.record.tta == 3 and "3 test-time views" in outcome.record.estimate.method
    model, info = load_model(outcome.model_path)
    assert info["meta"]["tta"] == 3 and with_views(model, 1) is model
    X = load_train(blob_dir).features(np.arange(20))
    expected = np.mean([model.predict_proba(shift_images(X, *s)) for s in ((0, 0), (0, 1), (0, -1))], axis=0)
    np.testing.assert_allclose(ViewAveraged(model, 3).predict_proba(X), expected, rtol=1e-6)
    with pytest.raises(KaggleDigitsError, match="tta 12: use 1"):
        train_run(request(blob_dir, tmp_path, config={"tta": 12}))


def test_runs_lists_newest_first_or_by_estimate_with_public_scores_kept_offline(blob_dir, tmp_path):
    weak = train_run(request(blob_dir, tmp_path, config={"epochs": 1, "learning_rate": 1e-4}, note="weak"))
    strong = train_run(request(blob_dir, tmp_path, name="strong"))
    assert [r.path for r in list_runs(tmp_path / "runs")] == [strong.run_dir, weak.run_dir]
    assert weak.record.estimate.accuracy < strong.record.estimate.accuracy
    assert next(r.path for r in list_runs(tmp_path / "runs", "estimate")) == strong.run_dir

    class Remote:
        file_name, public_score = f"{strong.run_dir.name}.csv", "0.99100"

    remember_scores(tmp_path / "runs", [Remote()])
    assert json.loads((tmp_path / "runs" / SCORES_FILE).read_text()) == {Remote.file_name: "0.99100"}
    record = read_record(weak.run_dir)
    record_path = weak.run_dir / "metrics.json"
    values = json.loads(record_path.read_text()) | {"status": "running", "pid": 2**22 + 12345}
    record_path.write_text(json.dumps(values))
    rows = {r.path: r for r in list_runs(tmp_path / "runs")}
    assert rows[strong.run_dir].public_score == "0.99100" and rows[weak.run_dir].status == "stopped"
    assert record.note == "weak"


def test_the_runs_command_prints_every_run(runner, blob_dir, tmp_path):
    train_run(request(blob_dir, tmp_path, folds=2))
    result = runner.invoke(app, ["runs", "--runs-dir", str(tmp_path / "runs")])
    assert result.exit_code == 0, result.output
    flat = " ".join(result.output.split())
    assert "2 folds" in flat and "finished" in flat and "full" in flat and "6/6" in flat


def test_records_written_before_estimates_still_load_list_and_say_what_their_figure_was(sample_run, tmp_path):
    legacy = {
        "preset": "mlp",
        "config": json.loads((sample_run / "metrics.json").read_text())["config"],
        "seed": 0,
        "data": {"dir": "/x", "label": "bundled sample", "train_fingerprint": "", "train_rows": 4500, "dev_rows": 500},
        "parameters": 1000,
        "dev_accuracy": 0.93,
        "best_epoch": 2,
        "interrupted": False,
        "history": [{"epoch": 1}, {"epoch": 2}, {"epoch": 3}],
        "timings": {"load_s": 0.1, "train_s": 1.0, "predict_s": 0.1, "samples_per_s": 1.0},
        "submission": "submissions/old.csv",
    }
    old = tmp_path / "runs" / "20250101-000000-mlp"
    old.mkdir(parents=True)
    (old / "metrics.json").write_text(json.dumps(legacy))
    record = read_record(old)
    assert record.status == "finished" and record.data.source == "sample" and record.estimate is None
    assert record.selected.accuracy == pytest.approx(0.93) and "old run" in record.selected.method
    (row,) = list_runs(tmp_path / "runs")
    assert row.record.epochs_done == 3


def test_a_dead_process_pid_is_not_alive():
    from kaggle_digits.runfolder.folder import alive

    assert alive(os.getpid()) and not alive(0)
