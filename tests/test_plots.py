"""The PNGs: valid files of the promised size, written atomically."""

import numpy as np
import pytest

from kaggle_digits.plots import (
    grid_shape,
    misclassified_figure_size,
    plot_confusion,
    plot_curves,
    plot_misclassified,
)

from helpers import png_size


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (8, (1, 8)), (9, (2, 8)), (64, (8, 8)), (65, (9, 8))])
def test_grid_shape(n, shape):
    assert grid_shape(n) == shape


@pytest.mark.parametrize("n", [1, 5, 17])
def test_misclassified_grid_has_the_expected_size(tmp_path, n):
    images = np.random.default_rng(0).integers(0, 256, (n, 784)).astype(np.uint8)
    path = plot_misclassified(images, [f"{i} → 0 (50%)\nrow {i}" for i in range(n)], "heading", tmp_path / "m.png")
    assert png_size(path) == misclassified_figure_size(n)
    assert [p.name for p in tmp_path.iterdir()] == ["m.png"]


def test_confusion_and_curves_are_readable_sizes(tmp_path):
    counts = np.diag(np.full(10, 40)) + 1
    assert png_size(plot_confusion(counts, "title", tmp_path / "c.png")) == (750, 650)
    history = [
        {"epoch": e, "loss": 1 / e, "dev_loss": 1.2 / e, "train_accuracy": 1 - 0.5 / e, "dev_accuracy": 1 - 0.6 / e}
        for e in range(1, 6)
    ]
    assert png_size(plot_curves(history, "title", tmp_path / "k.png")) == (1100, 420)
