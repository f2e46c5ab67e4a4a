"""Winograd F(4x4, 3x3) kernels against direct convolution: random and odd shapes, a batch of one, float32 error."""

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from kaggle_digits.nn import winograd


def direct(X, W):
    """Valid 3x3 cross-correlation in float64, every output at once."""
    windows = sliding_window_view(X.astype(np.float64), (3, 3), axis=(2, 3))  # (b, C, Ho, Wo, 3, 3)
    return np.einsum("bchwij,fcij->bfhw", windows, W.astype(np.float64))


def direct_weight_grad(X, dY):
    windows = sliding_window_view(X.astype(np.float64), (3, 3), axis=(2, 3))  # (b, C, Ho, Wo, 3, 3)
    return np.einsum("bchwij,bfhw->fcij", windows, dY.astype(np.float64))


# (images, C, F, height, width): the cnn's layers, overhanging tiles (odd sizes, 12 → 3 tiles of 4 for 10 outputs),
# non-square inputs, a batch of one, the smallest input.
SHAPES = [(3, 32, 32, 26, 26), (2, 32, 64, 12, 12), (2, 64, 64, 10, 10), (1, 3, 5, 9, 7), (2, 2, 3, 3, 3),
          (1, 1, 1, 5, 11)]  # fmt: skip


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_and_weight_gradient_equal_direct_convolution(shape, dtype):
    b, C, F, h, w = shape
    rng = np.random.default_rng(sum(shape))
    X = rng.standard_normal((b, C, h, w)).astype(dtype)
    W = rng.standard_normal((F, C, 3, 3)).astype(dtype)
    th, tw = winograd.tile_counts(h, w)
    Y = np.full((b, F, h - 2, w - 2), np.nan, dtype)
    V = np.empty((36, C, b * th * tw), dtype)
    winograd.convolve(X, winograd.kernel_transform(W), Y, V)
    dY = rng.standard_normal(Y.shape).astype(dtype)
    dW = winograd.weight_grad(V, dY)
    assert Y.dtype == dW.dtype == dtype
    # float32: a few 1e-6 of the largest value (the transforms' constants reach 8² and 5²); float64: rounding only
    tolerance = 2e-5 if dtype == np.float32 else 1e-12
    expected, expected_dW = direct(X, W), direct_weight_grad(X, dY)
    assert np.abs(Y - expected).max() <= tolerance * np.abs(expected).max()
    assert np.abs(dW - expected_dW).max() <= tolerance * np.abs(expected_dW).max()


def test_convolve_without_keeping_the_transform_gives_the_same_output():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((2, 4, 10, 10)).astype(np.float32)
    U = winograd.kernel_transform(rng.standard_normal((6, 4, 3, 3)).astype(np.float32))
    kept, plain = np.empty((2, 6, 8, 8), np.float32), np.empty((2, 6, 8, 8), np.float32)
    winograd.convolve(X, U, kept, np.empty((36, 4, 2 * 4), np.float32))
    winograd.convolve(X, U, plain)
    np.testing.assert_array_equal(kept, plain)
