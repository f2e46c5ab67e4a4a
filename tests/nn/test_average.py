"""The moving average of the weights: its arithmetic, the swap for scoring, and a Trainer that keeps it."""

from __future__ import annotations

import numpy as np
import pytest

from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.nn.average import WeightAverage
from kaggle_digits.nn.network import build_network
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.fit import Split, Trainer, evaluate
from kaggle_digits.training.presets import preset_config

from helpers import blob_digits


def small_network():
    config = preset_config("cnn", conv_channels=(2, 3), hidden_sizes=(5,), dropout=0.0)
    return build_network(architecture(config), np.random.default_rng(0), dtype=np.float64)


def test_the_average_follows_the_decay_ramp_step_by_step():
    net = small_network()
    W = net.layers[0].params["W"]
    start = W.copy()
    average = WeightAverage(net, 0.5)
    W += 1.0  # step 1: decay min(0.5, 2/11) = 2/11
    average.update(1)
    key = "layer0.W"
    np.testing.assert_allclose(average.averaged[key], 2 / 11 * start + 9 / 11 * (start + 1))
    after_one = average.averaged[key].copy()
    W += 1.0  # step 2: decay min(0.5, 3/12) = 0.25
    average.update(2)
    np.testing.assert_allclose(average.averaged[key], 0.25 * after_one + 0.75 * (start + 2))
    for _ in range(40):  # later steps: decay capped at 0.5
        average.update(100)
    np.testing.assert_allclose(average.averaged[key], start + 2, atol=1e-9)


def test_swapped_in_scores_the_average_and_gives_the_live_weights_back():
    net = small_network()
    average = WeightAverage(net, 0.9)
    live = net.state()
    for value in average.averaged.values():
        value += 0.25
    with average.swapped_in():
        np.testing.assert_array_equal(net.layers[0].params["W"], live["layer0.W"] + 0.25)
    for key, value in net.state().items():
        np.testing.assert_array_equal(value, live[key])


def test_a_trainer_with_an_average_trains_the_same_path_and_ends_with_the_average_it_scored():
    X, y = blob_digits(200, np.random.default_rng(1))
    X = X.astype(np.float32) / 255
    split = Split(X[:150], y[:150], X[150:], y[150:])
    runs = {}
    for decay in (0.0, 0.8):
        config = preset_config("mlp", hidden_sizes=(16,), epochs=3, batch_size=50, augment=False, average=decay)
        net = build_network(architecture(config), np.random.default_rng(0))
        trainer = Trainer(net, split, config, np.random.default_rng(1))
        runs[decay] = (net, trainer, trainer.run())
    plain, averaged = runs[0.0], runs[0.8]
    assert [r.loss for r in averaged[2].history] == [r.loss for r in plain[2].history]  # the average never steers
    averaged_net, averaged_trainer, averaged_state = averaged
    for key, value in averaged_net.state().items():
        np.testing.assert_array_equal(value, averaged_trainer.average.averaged[key])
    assert not np.array_equal(averaged_net.layers[0].params["W"], plain[0].layers[0].params["W"])
    assert evaluate(averaged_net, split.X_dev, split.y_dev)[1] == averaged_state.history[-1].dev_accuracy


@pytest.mark.parametrize("decay", [-0.1, 1.0, 1.5])
def test_a_decay_outside_0_1_is_refused_with_the_fix(decay):
    with pytest.raises(KaggleDigitsError, match=r"average .*use a decay in \[0, 1\)"):
        preset_config("mlp", average=decay)
