"""Caruana's ensemble selection and its nested score, on hand-made softmax where the right weights are known."""

from __future__ import annotations

import numpy as np
import pytest

from kaggle_digits.blending.selection import blended, caruana, nested_groups, nested_selection


def one_hot(labels: np.ndarray, sure: float = 0.9) -> np.ndarray:
    """Softmax that puts `sure` on each label and spreads the rest."""
    p = np.full((len(labels), 10), (1 - sure) / 9)  # (M, 10)
    p[np.arange(len(labels)), labels] = sure
    return p


def test_a_useless_member_gets_no_weight():
    y = np.arange(40) % 10
    good, useless = one_hot(y), one_hot((y + 1) % 10)
    assert caruana(np.stack([useless, good]), y).tolist() == [0.0, 1.0]


def test_two_members_that_err_on_different_rows_are_averaged():
    y = np.arange(40) % 10
    a, b = one_hot(y, 0.6), one_hot(y, 0.6)
    a[:10] = one_hot((y[:10] + 1) % 10, 0.4)  # a unsure and wrong on the first ten rows, b on the last ten
    b[30:] = one_hot((y[30:] + 1) % 10, 0.4)
    w = caruana(np.stack([a, b]), y)
    assert w.tolist() == [0.5, 0.5]
    assert (blended(np.stack([a, b]), w).argmax(axis=1) == y).all()  # each alone gets 30 of 40


def test_ties_go_to_the_earlier_member_and_weights_sum_to_one():
    y = np.arange(20) % 10
    same = one_hot(y)
    w = caruana(np.stack([same, same, same]), y)
    assert w.tolist() == [1.0, 0.0, 0.0]


def test_groups_are_near_equal_and_fixed():
    group = nested_groups(103)
    assert np.bincount(group).tolist() == [21, 21, 21, 20, 20]
    assert np.array_equal(group, nested_groups(103))


def test_a_row_scored_nested_never_sees_its_own_label():
    """Changing the labels of one group's rows changes nothing the nested score predicts for them."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 200)
    P = rng.dirichlet(np.ones(10), size=(4, 200))  # (K, M, 10)
    P[1] = 0.5 * P[1] + 0.5 * one_hot(y)
    out = nested_selection(P, y)
    held = nested_groups(len(y)) == 2
    y2 = y.copy()
    y2[held] = (y2[held] + 3) % 10
    assert np.array_equal(nested_selection(P, y2)[held], out[held])


@pytest.mark.parametrize("order", [[0, 1, 2], [2, 0, 1]])
def test_a_blend_is_a_convex_combination(order):
    rng = np.random.default_rng(1)
    P = rng.dirichlet(np.ones(10), size=(3, 50))
    w = np.array([0.2, 0.3, 0.5])
    p = blended(P[order], w[order])
    assert p.sum(axis=1) == pytest.approx(np.ones(50))
    assert p == pytest.approx(np.einsum("k,kmc->mc", w, P))
