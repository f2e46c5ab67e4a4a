"""Attribution: the input gradient of every network against finite differences, taken as the network predicts;
occlusion agreeing with the gradient where a network only looks at one region; ensembles averaged."""

from __future__ import annotations

import numpy as np
import pytest

from kaggle_digits.nn.attribution import contrast, occlusion, saliency
from kaggle_digits.nn.layers import Dense
from kaggle_digits.nn.network import Ensemble, Network, build_network
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.presets import preset_config

SMALL = {
    "mlp": preset_config("mlp", hidden_sizes=(12,), dropout=0.3),
    "cnn": preset_config("cnn", conv_channels=(2, 3), hidden_sizes=(6,), dropout=0.4),
}


def trained_like(name: str, seed: int = 0) -> Network:
    """A float64 network whose BatchNorm statistics are not the identity, as after training."""
    network = build_network(architecture(SMALL[name]), np.random.default_rng(seed), dtype=np.float64)
    rng = np.random.default_rng(seed + 1)
    for _ in range(3):
        network.forward(rng.random((16, 784)), training=True)
    return network


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_the_input_gradient_matches_finite_differences_of_the_predicting_network(name):
    network = trained_like(name)
    rng = np.random.default_rng(5)
    X = rng.random((3, 784))
    direction = contrast(np.array([3, 1, 7]), np.array([5, 2, 0])).astype(np.float64)
    buffers = {key: value.copy() for key, value in network.arrays()}
    gradient, logits = network.input_gradient(X, direction)
    np.testing.assert_allclose(logits, network.forward(X), rtol=1e-12)  # inference maths, not training's
    for key, value in network.arrays():
        np.testing.assert_array_equal(value, buffers[key], err_msg=key)  # running statistics untouched
    eps = 1e-6
    for pixel in rng.choice(784, size=12, replace=False):
        plus, minus = X.copy(), X.copy()
        plus[:, pixel] += eps
        minus[:, pixel] -= eps
        numeric = ((network.forward(plus) - network.forward(minus)) * direction).sum(axis=1) / (2 * eps)
        np.testing.assert_allclose(gradient[:, pixel], numeric, rtol=1e-5, atol=1e-8)


def one_region_network() -> tuple[Network, np.ndarray]:
    """784 → 10, looking only at a 6x6 square: class 1 likes its ink, class 0 dislikes it."""
    layer = Dense(784, 10, rng=np.random.default_rng(0), dtype=np.float64)
    layer.params["W"][...] = 0
    layer.params["b"][...] = 0
    region = np.zeros((28, 28), bool)
    region[8:14, 10:16] = True
    layer.params["W"][region.reshape(-1), 1] = 1.0
    layer.params["W"][region.reshape(-1), 0] = -1.0
    return Network([layer]), region.reshape(-1)


def test_occlusion_agrees_in_sign_with_the_gradient_and_both_stay_in_the_region():
    network, region = one_region_network()
    X = np.zeros((2, 784))
    X[:, region] = 1.0  # ink where the network looks
    towards, away = np.array([1, 1]), np.array([0, 0])
    gradient = saliency(network, X, towards, away, samples=1, noise=0)
    occluded = occlusion(network, X, towards, away)
    assert (gradient[:, region] > 0).all() and (gradient[:, ~region] == 0).all()
    assert (occluded[:, region] > 0).all()  # covering the ink there lowers the margin
    far = np.zeros((28, 28), bool)
    far[20:, :] = True  # rows that no 4x4 patch reaching the region covers
    assert np.allclose(occluded[:, far.reshape(-1)], 0)
    assert np.sign(occluded[:, region]).tolist() == np.sign(gradient[:, region]).tolist()


def test_an_ensembles_maps_are_the_mean_of_its_members():
    members = [trained_like("mlp", seed) for seed in (0, 1)]
    X = np.random.default_rng(3).random((2, 784))
    towards, away = np.array([1, 4]), np.array([7, 9])
    expected = np.mean([saliency(m, X, towards, away, samples=1, noise=0) for m in members], axis=0)
    np.testing.assert_allclose(
        saliency(Ensemble(members), X, towards, away, samples=1, noise=0), expected, rtol=1e-5, atol=1e-7
    )
    expected = np.mean([occlusion(m, X, towards, away) for m in members], axis=0)
    np.testing.assert_allclose(occlusion(Ensemble(members), X, towards, away), expected, rtol=1e-5, atol=1e-8)
