"""Your own handwriting as MNIST: a photo or scan of one digit prepared the way MNIST's digits were made.

LeCun et al.'s recipe: the digit in grey levels, light on dark; cropped to its ink; scaled so that its longer side is
20 pixels, keeping its aspect ratio; placed in a 28x28 field so that its centre of mass sits at the centre.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .constants import IMAGE_SIDE
from .errors import KaggleDigitsError

BOX = 20  # the longer side of the digit, in pixels
INK = 0.25  # a pixel is ink when it is this far from the background, as a share of the darkest-to-lightest range
MAX_PIXELS = 64_000_000  # a picture larger than this (read from its header) is refused before it is decoded
WORKING_SIDE = 1_024  # larger pictures are read reduced to about this side: a digit needs far fewer pixels
MAX_FILE_BYTES = 200 * 2**20  # a file larger than this is refused before it is read


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A picture file as grey levels in [0, 1] (H, W), of any bit depth; one line naming the file when it is not a
    regular file, not a readable picture, or larger than MAX_PIXELS (checked from its header, before decoding)."""
    path = Path(path)
    if not path.exists():
        raise KaggleDigitsError(f"{path}: file not found")
    if not path.is_file():
        raise KaggleDigitsError(f"{path}: not a regular file (a folder, a pipe or a device); give a picture file")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise KaggleDigitsError(f"{path}: {path.stat().st_size:,} bytes; pictures up to {MAX_FILE_BYTES:,} are read")
    pillows_limit, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None  # the check below is ours, with our words
    try:
        with Image.open(path) as picture:
            Image.MAX_IMAGE_PIXELS = pillows_limit
            width, height = picture.size
            if width * height > MAX_PIXELS:
                raise KaggleDigitsError(
                    f"{path}: {width:,} × {height:,} pixels; pictures up to {MAX_PIXELS:,} pixels are read — "
                    "crop or shrink it to the digit"
                )
            grey = _grey(_reduced(picture))  # (H, W)
    except KaggleDigitsError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise KaggleDigitsError(f"{path}: not a picture this tool can read (PNG, JPEG, …): {exc}") from None
    finally:
        Image.MAX_IMAGE_PIXELS = pillows_limit
    if grey.size == 0:
        raise KaggleDigitsError(f"{path}: an empty picture (0 pixels)")
    return grey


def _reduced(picture: Image.Image) -> Image.Image:
    """A large picture read at about WORKING_SIDE pixels a side (JPEGs decode reduced), upright."""
    if max(picture.size) > WORKING_SIDE and picture.format == "JPEG":
        picture.draft(picture.mode, (WORKING_SIDE, WORKING_SIDE))  # the decoder skips detail: less memory, less time
    picture = ImageOps.exif_transpose(picture)  # phones store photos sideways, with a rotation tag
    if max(picture.size) > WORKING_SIDE:
        picture = picture.copy()
        picture.thumbnail((WORKING_SIDE, WORKING_SIDE))
    return picture


def _grey(picture: Image.Image) -> np.ndarray:
    """Grey levels in [0, 1] (H, W): 8-bit pictures as they are, 16-bit, 32-bit and float ones by their range."""
    if picture.mode in ("I", "F") or picture.mode.startswith("I;"):
        values = np.asarray(picture, dtype=np.float64)  # (H, W)
        values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
        low, high = float(values.min(initial=0.0)), float(values.max(initial=0.0))
        return ((values - low) / (high - low) if high > low else np.zeros_like(values)).astype(np.float32)
    if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
        backdrop = Image.new("RGBA", picture.size, "white")  # transparent means paper, not black
        picture = Image.alpha_composite(backdrop, picture.convert("RGBA"))
    return np.asarray(picture.convert("L"), dtype=np.float32) / 255


def light_on_dark(grey: np.ndarray) -> np.ndarray:
    """Ink bright on a dark background, as MNIST: a picture whose border is light (paper) is inverted."""
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])  # (2H + 2W,)
    return 1 - grey if np.median(border) > 0.5 else grey


def prepare(grey: np.ndarray, name: str = "image") -> np.ndarray:
    """MNIST's recipe on a grey picture of one digit: (28, 28) uint8, ink 255, background 0."""
    image = light_on_dark(grey)  # (H, W) in [0, 1]
    border = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]])
    background = float(np.median(border))
    ink = np.clip(image - background, 0, None)  # (H, W): paper removed
    if ink.max() <= 0.05:
        raise KaggleDigitsError(f"{name}: no ink found (the picture is one flat shade); photograph one dark digit")
    ink /= ink.max()
    rows = np.flatnonzero((ink > INK).any(axis=1))
    cols = np.flatnonzero((ink > INK).any(axis=0))
    crop = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]  # (h, w): the digit's bounding box
    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))  # PIL wants (width, height)
    small = Image.fromarray((crop * 255).astype(np.uint8)).resize(size, Image.Resampling.LANCZOS)
    digit = np.asarray(small, dtype=np.float32)  # (≤20, ≤20)
    field = np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.float32)  # (28, 28)
    top, left = (IMAGE_SIDE - digit.shape[0]) // 2, (IMAGE_SIDE - digit.shape[1]) // 2
    field[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return np.clip(centred(field), 0, 255).round().astype(np.uint8)


def centre_of_mass(image: np.ndarray) -> tuple[float, float]:
    """(row, column) of an image's intensity-weighted centre."""
    total = image.sum()
    rows, cols = np.indices(image.shape)
    return float((rows * image).sum() / total), float((cols * image).sum() / total)


def centred(field: np.ndarray) -> np.ndarray:
    """The field shifted by whole pixels so that its centre of mass lands within half a pixel of the centre."""
    row, col = centre_of_mass(field)
    centre = (IMAGE_SIDE - 1) / 2
    down, right = round(centre - row), round(centre - col)
    shifted = np.zeros_like(field)
    src_rows = slice(max(0, -down), IMAGE_SIDE - max(0, down))
    dst_rows = slice(max(0, down), IMAGE_SIDE - max(0, -down))
    src_cols = slice(max(0, -right), IMAGE_SIDE - max(0, right))
    dst_cols = slice(max(0, right), IMAGE_SIDE - max(0, -right))
    shifted[dst_rows, dst_cols] = field[src_rows, src_cols]
    return shifted


def load_digit_picture(path: str | os.PathLike[str]) -> np.ndarray:
    """A picture file of one handwritten digit, prepared as MNIST: (784,) uint8."""
    return prepare(read_image(path), str(path)).reshape(-1)
