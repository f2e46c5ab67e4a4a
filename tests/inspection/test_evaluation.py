"""Evaluating a saved run: its dev split rebuilt exactly, confusion counts, per-class scores, mistakes ordered."""

import dataclasses
import json

import numpy as np
import pytest

from kaggle_digits.data import load_train, sample_dir
from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.inspection.evaluation import (
    class_report,
    confusion_matrix,
    dev_predictions,
    evaluate_run,
    misclassified_picture,
    mistakes,
    top_confusions,
)
from kaggle_digits.pipeline.plan import dev_split
from kaggle_digits.runfolder.folder import load_run

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def test_dev_split_is_rebuilt_exactly_and_reproduces_the_recorded_accuracy(sample_run):
    run = load_run(sample_run)
    preds = dev_predictions(run)
    train = load_train(sample_dir())
    _, dev_idx = dev_split(train, run.record.config)
    np.testing.assert_array_equal(preds.row_ids, dev_idx + 1)
    np.testing.assert_array_equal(preds.labels, train.labels[dev_idx])
    assert preds.accuracy == pytest.approx(run.record.estimate.accuracy)
    assert 0.5 < preds.accuracy < 0.97  # imperfect on purpose, so there are mistakes to look at


def test_confusion_matrix_and_class_report_by_hand():
    labels = np.array([0, 0, 1, 1, 1, 2])
    predicted = np.array([0, 1, 1, 1, 2, 2])
    counts = confusion_matrix(labels, predicted)
    assert counts[0, 0] == 1 and counts[0, 1] == 1 and counts[1, 1] == 2 and counts[1, 2] == 1 and counts[2, 2] == 1
    assert counts.sum() == 6
    report = class_report(counts)
    np.testing.assert_allclose(report.precision[:3], [1, 2 / 3, 1 / 2])
    np.testing.assert_allclose(report.recall[:3], [1 / 2, 2 / 3, 1])
    np.testing.assert_allclose(report.f1[:3], [2 / 3, 2 / 3, 2 / 3])
    assert report.precision[5] == 0 and report.support[5] == 0
    assert top_confusions(counts) == [(0, 1, 1), (1, 2, 1)]


def test_mistakes_are_wrong_filtered_and_most_confident_first(sample_run):
    preds = dev_predictions(load_run(sample_run))
    order = mistakes(preds)
    assert len(order) == int((preds.predicted != preds.labels).sum())
    confidence = preds.proba[order, preds.predicted[order]]
    assert (np.diff(confidence) <= 0).all()
    fours = mistakes(preds, true_digit=4)
    assert (preds.labels[fours] == 4).all() and (preds.predicted[fours] != 4).all()
    as_nine = mistakes(preds, true_digit=4, predicted_digit=9)
    assert set(as_nine) <= set(fours) and (preds.predicted[as_nine] == 9).all()


def test_misclassified_picture_counts_match_the_model(sample_run):
    run = load_run(sample_run)
    preds = dev_predictions(run)
    wrong = int((preds.predicted != preds.labels).sum())
    outcome = misclassified_picture(run, limit=10)
    assert (outcome.shown, outcome.matching, outcome.total_wrong, outcome.dev_size) == (10, wrong, wrong, 500)
    assert outcome.path == sample_run / "misclassified.png" and outcome.path.is_file()
    counts = confusion_matrix(preds.labels, preds.predicted)
    assert outcome.confusions == top_confusions(counts)
    t, p, n = outcome.confusions[0]
    filtered = misclassified_picture(run, true_digit=t, predicted_digit=p)
    assert filtered.matching == n == filtered.shown
    assert filtered.path.name == f"misclassified-true{t}-pred{p}.png"


def test_evaluate_writes_pictures_and_json_matching_the_predictions(sample_run):
    run = load_run(sample_run)
    preds = dev_predictions(run)
    outcome = evaluate_run(run)
    summary = json.loads(outcome.json_path.read_text())
    assert summary["confusion_matrix"] == confusion_matrix(preds.labels, preds.predicted).tolist()
    assert summary["dev_accuracy"] == pytest.approx(preds.accuracy)
    assert sum(c["support"] for c in summary["per_class"].values()) == 500
    assert outcome.confusion_path.is_file() and outcome.curves_path.is_file()


def test_a_changed_train_csv_is_refused(sample_run, tmp_path):
    run = load_run(sample_run)
    run.record.data = dataclasses.replace(run.record.data, train_fingerprint="0" * 16)
    with pytest.raises(KaggleDigitsError, match=r"changed since run .* was trained"):
        dev_predictions(run)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"true_digit": 10}, "^true_digit 10: a digit is 0–9"), ({"limit": 0}, "^limit 0: show at least 1")],
)
def test_bad_filters_are_refused(sample_run, kwargs, message):
    with pytest.raises(KaggleDigitsError, match=message):
        misclassified_picture(load_run(sample_run), **kwargs)
