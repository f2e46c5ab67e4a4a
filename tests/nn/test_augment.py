"""Augmentation: exact resampling, zeros outside the frame, label-preserving small warps."""

import numpy as np

from kaggle_digits.nn.augment import AffineAugment, bilinear_sample, gaussian_matrix


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


def test_gaussian_matrix_is_a_zero_padded_normalised_gaussian_blur():
    sigma, side = 2.0, 28
    radius = int(4 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    signal = np.random.default_rng(2).random(side)
    expected = np.convolve(signal, kernel, mode="same")  # zeros beyond the ends
    np.testing.assert_allclose(gaussian_matrix(side, sigma) @ signal, expected, rtol=1e-5, atol=1e-6)


def test_elastic_off_draws_nothing_and_changes_nothing():
    X = np.random.default_rng(0).random((8, 784), dtype=np.float32)
    rng_a, rng_b = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(AffineAugment()(X, rng_a), AffineAugment(elastic=0.0)(X, rng_b))
    assert rng_a.random() == rng_b.random()


def test_elastic_distortion_is_smooth_seeded_and_grows_with_its_strength():
    X = np.zeros((64, 784), dtype=np.float32)
    X.reshape(64, 28, 28)[:, 12:15, 6:22] = 1.0  # a long thick bar, so a displacement shows as changed pixels
    changes = []
    for alpha in (4.0, 16.0, 48.0):
        aug = AffineAugment(0, 0, 0, elastic=alpha)
        a, b = aug(X, np.random.default_rng(3)), aug(X, np.random.default_rng(3))
        np.testing.assert_array_equal(a, b)
        ink = a.sum(axis=1) / X.sum(axis=1)
        assert alpha > 16 or ((ink > 0.6).all() and (ink < 1.4).all())  # at useful strengths a distortion, no scramble
        changes.append(np.abs(a - X).sum(axis=1).mean())
    assert 0 < changes[0] < changes[1] < changes[2]


def test_the_warp_is_the_same_on_any_number_of_threads(monkeypatch):
    X = np.random.default_rng(0).random((200, 784), dtype=np.float32)
    warped = {}
    for threads in ("1", "2", "3"):
        monkeypatch.setenv("KAGGLE_DIGITS_THREADS", threads)
        warped[threads] = AffineAugment(elastic=8.0)(X, np.random.default_rng(5))
    np.testing.assert_array_equal(warped["1"], warped["2"])
    np.testing.assert_array_equal(warped["1"], warped["3"])
