"""Convolutional layers: forward against direct loops, every backward against finite differences in float64."""

import numpy as np
import pytest
from test_layers import check_layer, numeric_grad

from kaggle_digits.nn import conv, parallel
from kaggle_digits.nn.batchnorm import BatchNorm
from kaggle_digits.nn.conv import Conv2D
from kaggle_digits.nn.layers import ReLU
from kaggle_digits.nn.losses import cross_entropy
from kaggle_digits.nn.network import build_network
from kaggle_digits.nn.pooling import MaxPool2D
from kaggle_digits.training.architecture import architecture
from kaggle_digits.training.fit import fit
from kaggle_digits.training.presets import preset_config

from helpers import blob_digits


def direct_conv(X, W, b, padding):
    """Textbook cross-correlation, one output pixel at a time."""
    X = np.pad(X, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    n, _, h, w = X.shape
    f, _, k, _ = W.shape
    out = np.zeros((n, f, h - k + 1, w - k + 1))
    for i in range(n):
        for o in range(f):
            for y in range(h - k + 1):
                for x in range(w - k + 1):
                    out[i, o, y, x] = (X[i, :, y : y + k, x : x + k] * W[o]).sum() + b[o]
    return out


METHODS = ["im2col", "shifted", "winograd"]


@pytest.fixture(autouse=True)
def split_even_tiny_jobs(monkeypatch):
    """Let the small test batches be split across threads too, so both paths are checked."""
    monkeypatch.setattr(parallel, "MIN_WORK", 0)


@pytest.mark.parametrize(
    ("method", "k", "padding", "n"),
    [
        (method, k, padding, n)
        for method in METHODS
        for k, padding, n in [(3, 0, 2), (3, 1, 2), (2, 0, 2), (3, 0, 37)]
        if k == 3 or method != "winograd"  # F(4x4, 3x3) is for 3x3 kernels only
    ],
)
def test_conv_forward_matches_a_direct_loop(method, k, padding, n, monkeypatch):
    monkeypatch.setattr(conv, "WINOGRAD_SUB_BATCH", 4)
    rng = np.random.default_rng(0)
    layer = Conv2D(3, 4, k, padding, rng=rng, dtype=np.float64, method=method)
    layer.params["b"][...] = rng.standard_normal(4)
    X = rng.standard_normal((n, 3, 6, 5))  # 37 rows: split across worker threads and shifted-GEMM passes
    expected = direct_conv(X, layer.params["W"], layer.params["b"], padding)
    np.testing.assert_allclose(layer.forward(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(layer.forward(X, training=True), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("padding", "bias", "n"), [(0, True, 2), (1, True, 2), (0, False, 19)])
def test_conv_gradients(method, padding, bias, n, monkeypatch):
    monkeypatch.setattr(conv, "WINOGRAD_SUB_BATCH", 4)  # several Winograd passes per thread's chunk
    rng = np.random.default_rng(2)
    layer = Conv2D(2, 3, 3, padding, bias=bias, rng=rng, dtype=np.float64, method=method)
    assert ("b" in layer.params) == bias
    check_layer(layer, rng.standard_normal((n, 2, 5, 4)), rng)


def test_conv_picks_im2col_for_the_input_layer_shifted_gemms_for_wide_inputs_and_winograd_for_small_ones():
    rng = np.random.default_rng(0)
    assert Conv2D(1, 32, 3, rng=rng).method == "im2col"
    picked = {}
    for C, F, side, padding in [(32, 32, 26, 0), (32, 64, 12, 0), (64, 32, 10, 0), (64, 64, 10, 0), (64, 64, 12, 1)]:
        layer = Conv2D(C, F, 3, padding, rng=rng)
        assert layer.method is None  # decided by the first input's size
        layer.forward(np.zeros((1, C, side, side), np.float32))
        picked[C, F, side, padding] = layer.method
    assert picked == {
        (32, 32, 26, 0): "shifted",  # a large image
        (32, 64, 12, 0): "shifted",  # too few input channels
        (64, 32, 10, 0): "shifted",  # too few output channels
        (64, 64, 10, 0): "winograd",
        (64, 64, 12, 1): "shifted",  # 14 x 14 once padded
    }
    with pytest.raises(ValueError, match="conv method"):
        Conv2D(1, 2, 3, rng=rng, method="fft")
    with pytest.raises(ValueError, match="3x3 kernels only"):
        Conv2D(8, 8, 5, rng=rng, method="winograd")


def test_maxpool_forward_and_gradient():
    rng = np.random.default_rng(3)
    X = rng.standard_normal((2, 3, 4, 6))
    layer = MaxPool2D(2)
    expected = X.reshape(2, 3, 2, 2, 3, 2).max(axis=(3, 5))
    np.testing.assert_array_equal(layer.forward(X), expected)
    check_layer(layer, X, rng)


def test_maxpool_ties_share_each_window_gradient():
    layer = MaxPool2D(2)
    X = np.zeros((1, 1, 4, 4))
    X[0, 0, 0, 0] = 1.0  # one window with a single maximum, three all-zero windows
    layer.forward(X, training=True)
    dX = layer.backward(np.ones((1, 1, 2, 2)))
    assert dX[0, 0, 0, 0] == 1 and dX[0, 0, :2, :2].sum() == 1
    np.testing.assert_array_equal(dX[0, 0, 2:, 2:], 0.25)
    assert dX.sum() == 4


def test_maxpool_drops_a_ragged_edge():
    layer = MaxPool2D(2)
    X = np.arange(25.0).reshape(1, 1, 5, 5)
    np.testing.assert_array_equal(layer.forward(X, training=True)[0, 0], [[6, 8], [16, 18]])
    assert layer.backward(np.ones((1, 1, 2, 2))).shape == X.shape


def test_pool_then_relu_equals_relu_then_pool_in_values_and_gradients():
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 2, 6, 6))
    X[0, 0, :2, :2] = -1.0  # an all-negative window: both orders give 0 and no gradient
    X[1, 1, 2:4, 2:4] = 0.5  # a tied positive window: both orders share its gradient
    dY = rng.standard_normal((3, 2, 3, 3))
    outputs, grads = [], []
    for order in ((MaxPool2D(2), ReLU()), (ReLU(), MaxPool2D(2))):
        h = X
        for layer in order:
            h = layer.forward(h, training=True)
        delta = dY
        for layer in reversed(order):
            delta = layer.backward(delta)
        outputs.append(h)
        grads.append(delta)
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(grads[0], grads[1])
    assert np.count_nonzero(grads[0]) > 0


@pytest.mark.parametrize("shape", [(4, 3, 3, 3), (6, 5)])
def test_batchnorm_gradients_in_training_mode(shape):
    rng = np.random.default_rng(4)
    layer = BatchNorm(shape[1], dtype=np.float64)
    layer.params["gamma"][...] = rng.standard_normal(shape[1])
    layer.params["beta"][...] = rng.standard_normal(shape[1])
    check_layer(layer, rng.standard_normal(shape) * 3 + 1, rng, training=True)


def test_batchnorm_normalises_and_tracks_running_statistics():
    rng = np.random.default_rng(5)
    layer = BatchNorm(3, momentum=0.0, dtype=np.float64)
    X = rng.standard_normal((64, 3, 4, 4)) * 5 + 2
    Y = layer.forward(X, training=True)
    np.testing.assert_allclose(Y.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(Y.var(axis=(0, 2, 3)), 1, rtol=1e-4)
    np.testing.assert_allclose(layer.buffers["mean"], X.mean(axis=(0, 2, 3)))
    np.testing.assert_allclose(layer.forward(X, training=False), Y, rtol=1e-4, atol=1e-6)


def check_network_gradients(net, y, kinds):
    """Backprop through the whole network on random images against finite differences, for the layers of `kinds`."""
    X = np.random.default_rng(1).random((len(y), 784))  # (N, 784)
    net.backward(cross_entropy(net.forward(X, training=True), y)[1])
    for layer in net.layers:
        if layer.kind in kinds:
            for name, param in layer.params.items():
                expected = numeric_grad(lambda: cross_entropy(net.forward(X, training=True), y)[0], param)
                np.testing.assert_allclose(
                    layer.grads[name], expected, rtol=1e-4, atol=1e-8, err_msg=f"{layer.kind}.{name}"
                )


def test_cnn_preset_shapes_and_whole_network_gradient():
    config = preset_config("cnn", conv_channels=(2, 3), hidden_sizes=(5,), dropout=0.0)
    net = build_network(architecture(config), np.random.default_rng(0), dtype=np.float64)
    kinds = [layer.kind for layer in net.layers]
    assert kinds == [
        "conv2d",
        "batchnorm",
        "relu",
        "conv2d",
        "batchnorm",
        "maxpool2d",
        "relu",
        "flatten",
        "dense",
        "relu",
        "dense",
    ]
    assert net.layers[8].n_in == 3 * 12 * 12
    check_network_gradients(net, np.array([1, 7, 3]), kinds=("conv2d", "dense"))


def test_lean_preset_pools_after_each_convolution_and_its_whole_network_gradient_is_exact():
    config = preset_config("lean", conv_channels=(3, 4), hidden_sizes=(6,))
    net = build_network(architecture(config), np.random.default_rng(0), dtype=np.float64)
    kinds = [layer.kind for layer in net.layers]
    assert kinds == ["conv2d", "maxpool2d", "relu", "conv2d", "maxpool2d", "relu", "flatten", "dense", "relu", "dense"]
    assert (net.layers[0].k, net.layers[3].k) == (5, 3) and "b" in net.layers[0].params  # no BatchNorm: biases
    assert net.layers[7].n_in == 4 * 5 * 5  # 28 → 24 → 12 → 10 → 5, tuomaso's 800 inputs at 32 channels
    check_network_gradients(net, np.array([4, 0, 9]), kinds=("conv2d", "dense"))


def test_a_tiny_cnn_lowers_its_loss_in_a_few_steps():
    images, y = blob_digits(80, np.random.default_rng(2))
    X = images.astype(np.float32) / 255
    config = preset_config(
        "cnn",
        conv_channels=(4, 4),
        hidden_sizes=(16,),
        epochs=6,
        batch_size=16,
        augment=False,
        warmup_epochs=0,
        learning_rate=3e-3,
    )
    net = build_network(architecture(config), np.random.default_rng(0))
    result = fit(net, X, y, X, y, config, np.random.default_rng(1))
    assert result.history[-1].loss < result.history[0].loss * 0.7
    assert result.last_accuracy > 0.3
