"""Augmentation: exact resampling, zeros outside the frame, label-preserving small warps."""

import numpy as np

from kaggle_digits.nn.augment import AffineAugment, bilinear_sample


def grid() -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.divmod(np.arange(784, dtype=np.float32), 28)
    return rows[None], cols[None]


def test_identity_warp_returns_the_input():
    X = np.random.default_rng(0).random((5, 784), dtype=np.float32)
    np.testing.assert_array_equal(AffineAugment(0, 0, 0)(X, np.random.default_rng(1)), X)


def test_integer_shift_moves_pixels_and_fills_zeros():
    image = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    rows, cols = grid()
    out = bilinear_sample(image, rows, cols - 1).reshape(28, 28)  # read one column to the left: shift right
    np.testing.assert_array_equal(out[:, 1:], image[0, :, :-1])
    np.testing.assert_array_equal(out[:, 0], 0)


def test_half_pixel_reads_the_average_and_far_points_read_zero():
    image = np.random.default_rng(1).random((1, 28, 28), dtype=np.float32)
    rows, cols = grid()
    out = bilinear_sample(image, rows + 0.5, cols).reshape(28, 28)
    np.testing.assert_allclose(out[:-1], (image[0, :-1] + image[0, 1:]) / 2, rtol=1e-6)
    assert bilinear_sample(image, rows + 100, cols - 100).max() == 0


def test_random_warps_keep_ink_and_shape_and_are_seeded():
    X = np.zeros((64, 784), dtype=np.float32)
    X[:, 28 * 10 + 10 : 28 * 10 + 18] = 1.0  # a bar in the middle
    aug = AffineAugment()
    a, b = aug(X, np.random.default_rng(3)), aug(X, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    assert a.shape == X.shape and a.dtype == np.float32
    assert not np.array_equal(a, X)
    ink = a.sum(axis=1) / X.sum(axis=1)
    assert (ink > 0.7).all() and (ink < 1.3).all()
