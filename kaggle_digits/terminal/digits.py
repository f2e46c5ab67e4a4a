"""A digit drawn in the terminal with half blocks, and a model's most likely digits beside it."""

from __future__ import annotations

import numpy as np
from rich.table import Table
from rich.text import Text

from ..constants import IMAGE_SIDE

SHADES = " ░▒▓█"


def digit_text(image: np.ndarray, colour: bool = True) -> Text:
    """A 28x28 uint8 digit as 14 lines: half blocks in true colour, or shade characters on a plain terminal."""
    grid = image.reshape(IMAGE_SIDE, IMAGE_SIDE)
    text = Text()
    if not colour:
        pairs = (grid[0::2].astype(np.int64) + grid[1::2]) // 2  # (14, 28) mean of each vertical pair
        for row in pairs:
            text.append("".join(SHADES[v * (len(SHADES) - 1) // 255] for v in row) + "\n")
        return text
    for r in range(0, IMAGE_SIDE, 2):
        for upper, lower in zip(grid[r], grid[r + 1], strict=True):
            top, bottom = 255 - int(upper), 255 - int(lower)  # ink dark on a light card
            text.append("▀", style=f"rgb({top},{top},{top}) on rgb({bottom},{bottom},{bottom})")
        text.append("\n")
    return text


def top_probabilities(proba: np.ndarray, k: int = 3) -> Table:
    """The k most likely digits with their probabilities as bars."""
    table = Table(show_header=True, box=None)
    table.add_column("digit", justify="right")
    table.add_column("probability", justify="right")
    table.add_column("")
    for d in np.argsort(-proba)[:k]:
        table.add_row(str(d), f"{proba[d]:.2%}", "█" * max(1, round(proba[d] * 30)))
    return table
