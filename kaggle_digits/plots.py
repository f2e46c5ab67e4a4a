"""Pictures of a run: misclassified digits, confusion matrix, learning curves (matplotlib, no display needed)."""

from __future__ import annotations

import math
import os
import sys
import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .constants import IMAGE_SIDE
from .files import atomic_path

DPI = 100
TILE_W, TILE_H = 1.6, 1.9  # inches per misclassified tile: room for a two-line title
GRID_COLUMNS = 8
MIN_HEADING_TILES = 4  # a grid of fewer tiles is still this wide, so its heading has room and is never clipped
HEADING_CHAR_PX = 7.5  # width of an average character of the 12-point heading, in pixels at DPI
WIDE_CHAR_PX = 9.0  # a wide character of an 11-point heading: lines wrapped by it never run past the picture
TITLE_CHAR_PX = 6.5  # a wide character of a 9-point panel title


def save_figure(fig: Figure, path: Path) -> Path:
    """Write a figure as a PNG, atomically."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=DPI, format="png")
    return path


def grid_shape(n: int, columns: int = GRID_COLUMNS) -> tuple[int, int]:
    """(rows, columns) of a grid of n tiles."""
    cols = max(1, min(columns, n))
    return max(1, math.ceil(n / cols)), cols


def wrapped_heading(heading: str, n: int) -> str:
    """The heading broken into lines that fit the width of a grid of n tiles, so a narrow grid never clips it."""
    width_px = max(grid_shape(n)[1], MIN_HEADING_TILES) * TILE_W * DPI
    return textwrap.fill(heading, width=max(16, int(width_px / HEADING_CHAR_PX)))


def misclassified_figure_size(n: int, heading: str = "") -> tuple[int, int]:
    """Pixel (width, height) of a grid of n tiles under its wrapped heading."""
    rows, cols = grid_shape(n)
    lines = wrapped_heading(heading, n).count("\n") + 1
    return round(max(cols, MIN_HEADING_TILES) * TILE_W * DPI), round((rows * TILE_H + 0.35 + 0.25 * lines) * DPI)


def misclassified_figure(images: np.ndarray, titles: list[str], heading: str) -> Figure:
    """A grid of digits (N, 784) uint8, each with its title, most important first."""
    rows, cols = grid_shape(len(images))
    width, height = misclassified_figure_size(len(images), heading)
    fig = Figure(figsize=(width / DPI, height / DPI), layout="constrained")
    fig.suptitle(wrapped_heading(heading, len(images)), fontsize=12)
    axes = fig.subplots(rows, cols, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k < len(images):
            ax.imshow(images[k].reshape(IMAGE_SIDE, IMAGE_SIDE), cmap="gray_r", vmin=0, vmax=255)
            ax.set_title(titles[k], fontsize=10)
    return fig


WHY_PER_ROW = 4  # mistakes per row of an attribution grid (three panels each)
WHY_TILE = 1.35  # inches per panel


def fitted(title: str, inches: float) -> str:
    """A panel title wrapped, line by line, to the width of its panel, so that it never runs into its neighbour."""
    width = max(8, int(inches * DPI / TITLE_CHAR_PX))
    return "\n".join(textwrap.fill(line, width=width) for line in title.splitlines())


def attribution_figure(
    images: np.ndarray, maps: list[tuple[str, np.ndarray]], titles: list[str], heading: str
) -> Figure:
    """Each digit (N, 784) uint8 in grey, then each (name, (N, 784) map) over it in a diverging colour map: red where
    the pixels push towards the predicted digit, blue towards the other; each map scaled to its own largest value."""
    n, panels = len(images), 1 + len(maps)
    per_row = max(1, min(WHY_PER_ROW, n))
    rows = math.ceil(n / per_row)
    width = max(per_row * panels, MIN_HEADING_TILES) * WHY_TILE
    fig = Figure(figsize=(width, rows * (WHY_TILE + 0.8) + 1.0), layout="constrained")  # titles of up to 3 lines
    fig.suptitle(textwrap.fill(heading, width=max(16, int(width * DPI / WIDE_CHAR_PX))), fontsize=11)
    axes = fig.subplots(rows, per_row * panels, squeeze=False)
    for ax in axes.flat:
        ax.set_axis_off()
    for k in range(n):
        row, first = divmod(k, per_row)
        digit = images[k].reshape(IMAGE_SIDE, IMAGE_SIDE)
        ax = axes[row, first * panels]
        ax.imshow(digit, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(fitted(titles[k], WHY_TILE), fontsize=9)
        for offset, (name, values) in enumerate(maps, start=1):
            ax = axes[row, first * panels + offset]
            heat = values[k].reshape(IMAGE_SIDE, IMAGE_SIDE)
            limit = float(np.abs(heat).max()) or 1.0
            ax.imshow(digit, cmap="gray_r", vmin=0, vmax=255 * 2.5)  # the digit faint underneath
            ax.imshow(heat, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.75)
            ax.set_title(name, fontsize=9)
    return fig


def confusion_figure(counts: np.ndarray, heading: str, rows: str = "dev") -> Figure:
    """10x10 heat map: colour is the share of each true digit (row-normalised), text is the count."""
    support = counts.sum(axis=1, keepdims=True)  # (10, 1)
    share = np.divide(counts, support, out=np.zeros(counts.shape), where=support > 0)  # (10, 10)
    fig = Figure(figsize=(7.5, 6.5), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, label=f"share of the true digit's {rows} images")
    for t in range(counts.shape[0]):
        for p in range(counts.shape[1]):
            if counts[t, p]:
                colour = "white" if share[t, p] > 0.5 else "black"
                ax.text(p, t, str(counts[t, p]), ha="center", va="center", color=colour, fontsize=9)
    ticks = range(counts.shape[0])
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title(heading)
    return fig


def curves_figure(
    histories: list[tuple[str, list[dict]]],
    heading: str,
    unit: str = "epoch",
    kept: int | None = None,
    held_out: str = "dev",
) -> Figure:
    """Loss and accuracy per evaluation of each (label, history): train (running average over the epoch) dashed,
    held-out rows solid; a line at the kept epoch; whole-number epoch ticks."""
    fig = Figure(figsize=(11, 4.2), layout="constrained")
    loss_ax, acc_ax = fig.subplots(1, 2)
    epochs_seen: set[int] = set()
    for number, (label, history) in enumerate(histories):
        epochs = [h["epoch"] for h in history]
        epochs_seen.update(epochs)
        colour = f"C{number % 10}"
        name = f"{label} " if label else ""
        train_label = f"{name}train (during the epoch)" if len(histories) == 1 else None
        for ax, train_key, eval_key in ((loss_ax, "loss", "dev_loss"), (acc_ax, "train_accuracy", "dev_accuracy")):
            ax.plot(epochs, [h[train_key] for h in history], linestyle="--", color=colour, alpha=0.6, label=train_label)
            ax.plot(epochs, [h[eval_key] for h in history], marker=".", color=colour, label=label or held_out)
    loss_ax.set_yscale("log")
    loss_ax.set_ylabel("cross-entropy")
    acc_ax.set_ylabel("accuracy")
    low, high = min(epochs_seen), max(epochs_seen)
    for ax in (loss_ax, acc_ax):
        ax.set_xlabel(unit)
        if high - low < 10:  # a few epochs: a tick on each (MaxNLocator falls back to fractions on short spans)
            ax.set_xticks(range(low, high + 1))
            ax.set_xlim(low - 0.5, high + 0.5)
        else:
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        if kept:
            ax.axvline(kept, color="grey", linestyle="--", linewidth=1, label=f"kept weights ({unit} {kept})")
        ax.legend(fontsize=8, title=f"{held_out} rows solid, train dashed" if len(histories) > 1 else None)
    fig.suptitle(heading)
    return fig


def has_display() -> bool:
    return sys.platform in ("darwin", "win32") or bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def show_png(path: Path) -> bool:
    """Open a saved PNG in a window when a display exists; False when there is none."""
    if not has_display():
        return False
    import matplotlib.image
    import matplotlib.pyplot as plt

    plt.figure(path.name)
    plt.imshow(matplotlib.image.imread(path))
    plt.axis("off")
    plt.show()
    return True
