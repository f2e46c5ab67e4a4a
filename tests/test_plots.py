"""The PNGs: valid files of the promised size, written atomically."""

import numpy as np
import pytest

from kaggle_digits.plots import (
    DPI,
    HEADING_CHAR_PX,
    MIN_HEADING_TILES,
    TILE_H,
    confusion_figure,
    curves_figure,
    grid_shape,
    misclassified_figure,
    misclassified_figure_size,
    save_figure,
    wrapped_heading,
)

from helpers import png_size


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (8, (1, 8)), (9, (2, 8)), (64, (8, 8)), (65, (9, 8))])
def test_grid_shape(n, shape):
    assert grid_shape(n) == shape


@pytest.mark.parametrize("n", [1, 5, 17])
def test_misclassified_grid_grows_with_its_tiles_and_is_written_atomically(tmp_path, n):
    images = np.random.default_rng(0).integers(0, 256, (n, 784)).astype(np.uint8)
    path = save_figure(
        misclassified_figure(images, [f"{i} → 0 (50%)\nrow {i}" for i in range(n)], "heading"), tmp_path / "m.png"
    )
    width, height = png_size(path)
    rows, cols = grid_shape(n)
    one = png_size(save_figure(misclassified_figure(images[:1], ["t"], "heading"), tmp_path / "one.png"))[0]
    assert width == max(cols, MIN_HEADING_TILES) / MIN_HEADING_TILES * one  # a single tile keeps room for a heading
    assert height > rows * TILE_H * DPI  # tiles are taller than wide: room for their two-line titles
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.png", "one.png"]


def test_a_long_heading_over_few_tiles_wraps_instead_of_being_clipped(tmp_path):
    heading = "20261127-120000-cnn: 1 of 1 misclassified dev images matching the filter (13 wrong of 4200), most first"
    lines = wrapped_heading(heading, 1).splitlines()
    assert len(lines) > 1 and " ".join(lines) == heading
    assert all(
        len(line) * HEADING_CHAR_PX
        <= png_size(
            save_figure(misclassified_figure(np.zeros((1, 784), np.uint8), ["t"], heading), tmp_path / "m.png")
        )[0]
        for line in lines
    )
    assert misclassified_figure_size(1, heading)[1] > misclassified_figure_size(1, "short")[1]


def test_confusion_is_square_and_curves_mark_the_kept_epoch(tmp_path):
    counts = np.diag(np.full(10, 40)) + 1
    width, height = png_size(save_figure(confusion_figure(counts, "title"), tmp_path / "c.png"))
    assert abs(width - height) < 0.2 * width
    history = [
        {"epoch": e, "loss": 1 / e, "dev_loss": 1.2 / e, "train_accuracy": 1 - 0.5 / e, "dev_accuracy": 1 - 0.6 / e}
        for e in range(1, 6)
    ]
    plain = save_figure(curves_figure([("", history)], "title"), tmp_path / "k.png")
    marked = save_figure(curves_figure([("", history)], "title", kept=3), tmp_path / "kept.png")
    assert png_size(plain)[0] > png_size(plain)[1]  # two panels side by side
    assert plain.read_bytes() != marked.read_bytes()


@pytest.mark.parametrize("n", [1, 4, 6])
def test_the_why_pictures_titles_fit_side_by_side_and_inside_the_picture(n):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    from kaggle_digits.plots import attribution_figure

    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 784), dtype=np.uint8)
    maps = [("gradient\n(SmoothGrad)", rng.normal(size=(n, 784))), ("occlusion\n4x4 patch", rng.normal(size=(n, 784)))]
    titles = [f"bundled sample test.csv #{i + 5}\n4 (12%) vs 0 (12%)" for i in range(n)]  # show --why's longest
    heading = "20261206-130907-mlp — red: pixels pushing towards the predicted digit · blue: towards the other"
    fig = attribution_figure(images, maps, titles, heading)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    boxes = [ax.title.get_window_extent(renderer) for ax in fig.axes if ax.get_title()]
    boxes.append(fig._suptitle.get_window_extent(renderer))
    width, height = fig.bbox.width, fig.bbox.height
    assert all(b.x0 >= 0 and b.x1 <= width and b.y0 >= 0 and b.y1 <= height for b in boxes)
    for a in boxes:  # no two titles overlap
        for b in boxes:
            if a is not b:
                assert a.x1 <= b.x0 or b.x1 <= a.x0 or a.y1 <= b.y0 or b.y1 <= a.y0
