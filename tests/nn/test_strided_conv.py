"""The strided convolution: forward against a direct loop, backward against finite differences, shapes of the
strided preset, and one training step that lowers the loss."""

import numpy as np
import pytest
from test_layers import check_layer

from kaggle_digits.nn import parallel
from kaggle_digits.nn.losses import cross_entropy
from kaggle_digits.nn.network import build_network
from kaggle_digits.nn.strided_conv import StridedConv2D
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.presets import preset_config


@pytest.fixture(autouse=True)
def split_even_tiny_jobs(monkeypatch):
    """Let the small test batches be split across threads too."""
    monkeypatch.setattr(parallel, "MIN_WORK", 0)


def direct_strided(X, W, b, stride, padding):
    """Textbook strided cross-correlation, one output pixel at a time."""
    X = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, w = X.shape
    f, _, k, _ = W.shape
    ho, wo = (h - k) // stride + 1, (w - k) // stride + 1
    out = np.zeros((n, f, ho, wo))
    for i in range(n):
        for o in range(f):
            for y in range(ho):
                for x in range(wo):
                    window = X[i, :, y * stride : y * stride + k, x * stride : x * stride + k]
                    out[i, o, y, x] = (window * W[o]).sum() + b[o]
    return out


@pytest.mark.parametrize(("k", "stride", "padding", "side", "n"), [(5, 2, 2, 12, 3), (3, 2, 0, 7, 2), (5, 3, 1, 9, 17)])
def test_strided_forward_matches_a_direct_loop(k, stride, padding, side, n):
    rng = np.random.default_rng(0)
    layer = StridedConv2D(3, 4, k, stride, padding, rng=rng, dtype=np.float64)
    layer.params["b"][...] = rng.standard_normal(4)
    X = rng.standard_normal((n, 3, side, side))
    expected = direct_strided(X, layer.params["W"], layer.params["b"], stride, padding)
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(("k", "stride", "padding", "bias", "n"), [(5, 2, 2, True, 2), (3, 2, 0, False, 5)])
def test_strided_gradients(k, stride, padding, bias, n):
    rng = np.random.default_rng(4)
    layer = StridedConv2D(2, 3, k, stride, padding, bias=bias, rng=rng, dtype=np.float64)
    check_layer(layer, rng.standard_normal((n, 2, 8, 8)), rng)


def test_the_strided_preset_halves_the_side_twice_and_learns():
    config = preset_config("strided", conv_channels=(2, 2, 3, 3, 3, 4), hidden_sizes=(8,), dropout=0.0)
    network = build_network(architecture(config), np.random.default_rng(0), dtype=np.float64)
    sides = []
    X = np.random.default_rng(1).random((6, 784)).reshape(6, 1, 28, 28)
    for layer in network.layers:
        X = layer.forward(X, training=True)
        if layer.kind == "strided_conv2d":
            sides.append(X.shape[-1])
    assert sides == [12, 4]  # 28 → 26 → 24 → 12, 12 → 10 → 8 → 4, as in Deotte's network
    y = np.arange(6) % 10
    images = np.random.default_rng(2).random((6, 784))
    before = cross_entropy(network.forward(images, training=True), y)[0]
    for _ in range(5):
        delta = cross_entropy(network.forward(images, training=True), y)[1]
        network.backward(delta)
        for param, grad in network.parameter_pairs():
            param -= 0.05 * grad
    assert cross_entropy(network.forward(images, training=True), y)[0] < before
