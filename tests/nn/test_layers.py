"""Every layer's backward pass against central finite differences, in float64."""

from __future__ import annotations

import numpy as np
import pytest

from kaggle_digits.nn.layers import Dense, Dropout, Flatten, ReLU, init_weights
from kaggle_digits.nn.losses import cross_entropy
from kaggle_digits.nn.network import Network


def numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of scalar f() with respect to every entry of x (perturbed in place)."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        plus = f()
        x[i] = old - eps
        minus = f()
        x[i] = old
        grad[i] = (plus - minus) / (2 * eps)
    return grad


def check_layer(layer, X: np.ndarray, rng: np.random.Generator, training: bool = True) -> None:
    """Loss = sum(G * layer(X)) for a fixed random G; compare dX and every parameter gradient."""
    G = rng.standard_normal(layer.forward(X, training).shape)

    def loss() -> float:
        return float((G * layer.forward(X, training)).sum())

    layer.forward(X, training)
    dX = layer.backward(G.copy())
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    np.testing.assert_allclose(dX, numeric_grad(loss, X), rtol=1e-6, atol=1e-8)
    for name, param in layer.params.items():
        np.testing.assert_allclose(analytic[name], numeric_grad(loss, param), rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("init", ["he", "glorot", "uniform"])
def test_dense_gradients(init):
    rng = np.random.default_rng(0)
    check_layer(Dense(5, 4, init, rng=rng, dtype=np.float64), rng.standard_normal((3, 5)), rng)


def test_dense_skips_input_gradient_when_first():
    rng = np.random.default_rng(0)
    layer = Dense(5, 4, rng=rng, dtype=np.float64)
    layer.forward(rng.standard_normal((3, 5)), training=True)
    assert layer.backward(np.ones((3, 4)), need_dX=False) is None
    assert np.allclose(layer.grads["b"], 3.0)


def test_relu_gradient_away_from_kink():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((4, 6))
    X[np.abs(X) < 1e-3] = 0.5  # finite differences are undefined at 0
    check_layer(ReLU(), X, rng)


def test_dropout_gradient_uses_the_same_mask_and_is_identity_at_inference():
    rng = np.random.default_rng(2)
    layer = Dropout(0.5, rng=np.random.default_rng(3), dtype=np.float64)
    X = rng.standard_normal((50, 8))
    Y = layer.forward(X, training=True)
    kept = Y != 0
    assert 0.35 < kept.mean() < 0.65
    np.testing.assert_allclose(Y[kept], 2 * X[kept])  # inverted dropout rescales by 1/(1-rate)
    G = rng.standard_normal(X.shape)
    np.testing.assert_allclose(layer.backward(G), G * kept * 2)
    np.testing.assert_array_equal(layer.forward(X, training=False), X)


def test_flatten_round_trips_shapes():
    rng = np.random.default_rng(4)
    check_layer(Flatten(), rng.standard_normal((2, 3, 4, 4)), rng)


def test_cross_entropy_gradient():
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 10))
    y = rng.integers(0, 10, 6)
    _, delta = cross_entropy(logits, y)
    np.testing.assert_allclose(delta, numeric_grad(lambda: cross_entropy(logits, y)[0], logits), rtol=1e-6, atol=1e-9)


def test_whole_network_gradient_through_every_layer():
    rng = np.random.default_rng(6)
    net = Network(
        [
            Dense(12, 7, rng=rng, dtype=np.float64),
            ReLU(),
            Dense(7, 5, rng=rng, dtype=np.float64),
            ReLU(),
            Dense(5, 10, "glorot", rng=rng, dtype=np.float64),
        ],
        input_shape=(12,),
    )
    X = rng.standard_normal((4, 12))
    y = rng.integers(0, 10, 4)
    _, delta = cross_entropy(net.forward(X, training=True), y)
    net.backward(delta)
    for layer in net.layers:
        for name, param in layer.params.items():
            expected = numeric_grad(lambda: cross_entropy(net.forward(X), y)[0], param)
            np.testing.assert_allclose(layer.grads[name], expected, rtol=1e-5, atol=1e-9)


def test_init_scales():
    rng = np.random.default_rng(0)
    he = init_weights((784, 512), 784, 512, "he", rng, np.float32)
    assert abs(he.std() - np.sqrt(2 / 784)) < 0.002
    uniform = init_weights((784, 10), 784, 10, "uniform", rng, np.float32)
    assert uniform.min() >= -0.5 and uniform.max() < 0.5 and abs(uniform.mean()) < 0.02
    with pytest.raises(ValueError, match="unknown init"):
        init_weights((2, 2), 2, 2, "zeros", rng, np.float32)
