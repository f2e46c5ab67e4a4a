"""Softmax and cross-entropy stay finite and exact for extreme logits."""

import numpy as np
import pytest

from kaggle_digits.nn.losses import cross_entropy, log_softmax, softmax


def test_softmax_rows_sum_to_one_and_preserve_order():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    p = softmax(logits)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    assert list(np.argsort(p[0])) == [0, 1, 2]


def test_huge_logits_do_not_overflow():
    logits = np.array([[1e4, 0.0, -1e4], [-1e30, 1e30, 0.0]], dtype=np.float32)
    loss, delta = cross_entropy(logits, np.array([0, 1]))
    assert np.isfinite(loss) and np.isfinite(delta).all()
    assert loss == 0.0
    wrong, _ = cross_entropy(logits, np.array([2, 0]))
    assert np.isfinite(wrong) and wrong > 1e3


def test_cross_entropy_of_uniform_prediction_is_log_k():
    loss, delta = cross_entropy(np.zeros((4, 10)), np.array([0, 3, 5, 9]))
    np.testing.assert_allclose(loss, np.log(10))
    np.testing.assert_allclose(delta.sum(axis=1), 0.0, atol=1e-12)


def test_log_softmax_matches_naive_formula_in_safe_range():
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((5, 10))
    naive = np.log(np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(log_softmax(logits), naive, rtol=1e-12)


def test_label_smoothing_gradient_matches_finite_differences_and_reduces_to_plain_at_zero():
    rng = np.random.default_rng(0)
    logits, y = rng.normal(size=(5, 10)), rng.integers(0, 10, 5)
    np.testing.assert_allclose(cross_entropy(logits, y, 0.0)[1], cross_entropy(logits, y)[1])
    loss, delta = cross_entropy(logits, y, 0.1)
    numeric = np.zeros_like(logits)
    for index in np.ndindex(*logits.shape):
        bumped = [logits.copy(), logits.copy()]
        bumped[0][index] += 1e-6
        bumped[1][index] -= 1e-6
        numeric[index] = (cross_entropy(bumped[0], y, 0.1)[0] - cross_entropy(bumped[1], y, 0.1)[0]) / 2e-6
    np.testing.assert_allclose(delta, numeric, rtol=1e-5, atol=1e-9)
    assert np.isfinite(loss) and loss > 0
    uniform = np.zeros((2, 10))
    assert cross_entropy(uniform, np.array([1, 2]), 0.1)[0] == pytest.approx(np.log(10))
