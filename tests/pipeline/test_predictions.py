"""Per-network predictions: kept beside the network, reused only for the same test.csv, averaged exactly as the
run's model predicts."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from kaggle_digits.data import Digits
from kaggle_digits.nn.network import Ensemble, build_network, with_views
from kaggle_digits.pipeline.plan import Part
from kaggle_digits.pipeline.predictions import combined_held_out, combined_test, part_predictions
from kaggle_digits.runfolder.folder import predictions_file
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.presets import preset_config


def network(seed: int):
    config = preset_config("fast", conv_channels=(4, 4), hidden_sizes=(8,))
    return build_network(architecture(config), np.random.default_rng(seed))


def digits(rows: int, seed: int, fingerprint: str) -> Digits:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (rows, 784), dtype=np.uint8)
    return Digits(images, rng.integers(0, 10, rows), Path(f"{fingerprint}.csv"), fingerprint)


def part(index: int, fold: int, held_out_idx: np.ndarray) -> Part:
    return Part(index, "fold", f"fold {fold + 1}", index, fold, np.zeros(0, np.int64), held_out_idx)


def test_a_networks_predictions_are_kept_and_reused_only_for_the_same_test_file(tmp_path):
    train, test = digits(30, 0, "train"), digits(12, 1, "test")
    the_part, net = part(0, 0, np.arange(5, 15)), network(0)
    first = part_predictions(tmp_path, the_part, net, train, test, views=3)
    assert predictions_file(tmp_path, the_part.index).is_file()
    assert first.held_out.shape == (10, 10) and first.test.shape == (12, 10)
    np.testing.assert_array_equal(first.test, with_views(net, 3).predict_proba(test.features()))
    np.testing.assert_array_equal(first.held_out, with_views(net, 3).predict_proba(train.features(np.arange(5, 15))))

    other_net = network(1)  # a kept file is read back, not recomputed with whatever network is passed
    np.testing.assert_array_equal(part_predictions(tmp_path, the_part, other_net, train, test, 3).test, first.test)
    changed = digits(12, 2, "another-test")  # another test.csv: computed again
    again = part_predictions(tmp_path, the_part, other_net, train, changed, 3)
    np.testing.assert_array_equal(again.test, with_views(other_net, 3).predict_proba(changed.features()))
    damaged = predictions_file(tmp_path, the_part.index)
    damaged.write_bytes(b"not an npz")  # a damaged file: computed again, not an error
    np.testing.assert_array_equal(part_predictions(tmp_path, the_part, net, train, test, 3).test, first.test)


def test_averaged_predictions_are_the_ensembles_to_the_bit(tmp_path):
    train, test = digits(40, 0, "train"), digits(16, 1, "test")
    nets = [network(seed) for seed in range(3)]
    parts = [part(0, 0, np.arange(0, 20)), part(1, 0, np.arange(0, 20)), part(2, 1, np.arange(20, 40))]
    predicted = [part_predictions(tmp_path, p, n, train, test, 2) for p, n in zip(parts, nets, strict=True)]

    every = with_views(Ensemble(nets), 2).predict_proba(test.features())
    np.testing.assert_array_equal(combined_test(predicted), every)  # the saved model predicts the same bits

    scored = combined_held_out(parts, predicted)
    np.testing.assert_array_equal(scored.rows, np.arange(40))
    fold0 = with_views(Ensemble(nets[:2]), 2).predict_proba(train.features(np.arange(20)))
    np.testing.assert_array_equal(scored.proba[:20], fold0)  # a fold's members averaged
    np.testing.assert_array_equal(scored.proba[20:], predicted[2].held_out)  # a fold of one network as it is
