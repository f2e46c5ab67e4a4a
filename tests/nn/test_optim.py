"""Optimisers move parameters downhill; schedules have the promised shape."""

import itertools
import math

import numpy as np
import pytest

from kaggle_digits.nn.optim import Adam, GradientDescent, learning_rate_at, make_optimizer


def minimise(optimizer_name: str, steps: int, lr: float) -> np.ndarray:
    """Minimise ||p - target||^2 with the named optimiser; returns the final p."""
    target = np.array([[3.0, -2.0], [0.5, 1.0]])
    p = np.zeros((2, 2))
    g = np.zeros((2, 2))
    opt = make_optimizer(optimizer_name, [(p, g)])
    for _ in range(steps):
        g[...] = 2 * (p - target)
        opt.step(lr)
    return p - target


@pytest.mark.parametrize(("name", "lr"), [("gd", 0.1), ("momentum", 0.05), ("adam", 0.1)])
def test_each_optimizer_converges_on_a_quadratic(name, lr):
    assert np.abs(minimise(name, 300, lr)).max() < 1e-3


def test_plain_gradient_descent_step_is_exact():
    p, g = np.array([1.0, 2.0]), np.array([0.5, -1.0])
    GradientDescent([(p, g)]).step(0.1)
    np.testing.assert_allclose(p, [0.95, 2.1])


def test_adam_first_step_moves_each_weight_by_lr():
    p, g = np.array([1.0, -1.0]), np.array([1e-3, -50.0])
    Adam([(p, g)]).step(0.01)
    np.testing.assert_allclose(p, [0.99, -0.99], rtol=1e-5)


def test_weight_decay_shrinks_matrices_but_not_biases():
    W, gW = np.ones((2, 2)), np.zeros((2, 2))
    b, gb = np.ones(2), np.zeros(2)
    Adam([(W, gW), (b, gb)], weight_decay=0.5).step(0.1)
    np.testing.assert_allclose(W, 0.95)
    np.testing.assert_allclose(b, 1.0)


def test_cosine_schedule_warms_up_then_decays_to_zero():
    lrs = [learning_rate_at("cosine", 1.0, s, 100, warmup_steps=10) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in itertools.pairwise(lrs[9:]))
    assert lrs[-1] < 1e-3
    assert learning_rate_at("cosine", 1.0, 55, 100, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.5)))
    assert learning_rate_at("constant", 0.3, 99, 100) == 0.3


def test_unknown_names_are_refused():
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", [])
    with pytest.raises(ValueError, match="unknown schedule"):
        learning_rate_at("step", 1.0, 0, 10)


def test_one_cycle_rises_from_a_25th_to_the_peak_over_30_percent_then_falls_to_a_250000th():
    total = 200
    lrs = [learning_rate_at("one-cycle", 1.0, s, total) for s in range(total)]
    peak = round(0.3 * total - 1)  # step 59: torch's OneCycleLR with pct_start 0.3
    assert lrs[0] == pytest.approx(1 / 25) and lrs[peak] == pytest.approx(1.0) and max(lrs) == lrs[peak]
    assert all(a < b for a, b in itertools.pairwise(lrs[: peak + 1]))
    assert all(a > b for a, b in itertools.pairwise(lrs[peak:]))
    assert lrs[-1] == pytest.approx(1 / 25 / 1e4)
    halfway_up = learning_rate_at("one-cycle", 1.0, 59 // 2, total)  # a cosine: halfway in steps is halfway in rate
    assert halfway_up == pytest.approx(1 / 25 + (1 - 1 / 25) * 0.5 * (1 - math.cos(math.pi * 29 / 59)))


@pytest.mark.parametrize("total", [1, 2, 3, 4])
def test_one_cycle_on_a_few_steps_stays_finite_and_within_the_peak(total):
    lrs = [learning_rate_at("one-cycle", 0.5, s, total) for s in range(total)]
    assert all(math.isfinite(lr) and 0 < lr <= 0.5 for lr in lrs)


def test_adams_betas_are_the_moment_decays():
    p, g = np.array([1.0]), np.array([2.0])
    opt = make_optimizer("adam", [(p, g)], betas=(0.7, 0.9))
    opt.step(0.1)
    opt.step(0.1)
    state = opt.state()
    m = 0.7 * (0.3 * 2.0) + 0.3 * 2.0  # two steps of the same gradient
    v = 0.9 * (0.1 * 4.0) + 0.1 * 4.0
    np.testing.assert_allclose([state["m0"][0], state["v0"][0]], [m, v])
    np.testing.assert_allclose(p, 1.0 - 0.2, rtol=1e-6)  # bias-corrected: each step moves by lr on a steady gradient
