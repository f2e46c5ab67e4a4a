"""Test helpers: synthetic digits in Kaggle's format and a snapshot of a folder's files."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from PIL import Image

from kaggle_digits.data import PIXEL_COLUMNS


def blob_digits(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Easy synthetic 'digits': class k lights a 6x6 patch at a class-specific place, plus noise."""
    labels = np.arange(n) % 10
    images = rng.integers(0, 40, size=(n, 28, 28))
    for i, k in enumerate(labels):
        r, c = 2 + (k // 5) * 12, 1 + (k % 5) * 5
        images[i, r : r + 6, c : c + 6] = 255
    return images.reshape(n, 784).astype(np.uint8), labels


def write_csv(path: Path, images: np.ndarray, labels: np.ndarray | None) -> Path:
    header = ("label," if labels is not None else "") + ",".join(PIXEL_COLUMNS)
    body = images if labels is None else np.column_stack([labels, images])
    np.savetxt(path, body, fmt="%d", delimiter=",", header=header, comments="")
    return path


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` with its bytes, to assert that nothing was created or clobbered."""
    if not folder.exists():
        return {}
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def photo_of(image: np.ndarray, path, scale: int = 3, offset=(40, 7), size=(160, 130)) -> None:
    """A 28x28 MNIST digit drawn `scale` times larger, dark ink on white paper, off-centre, saved as `path`."""
    big = np.kron(image.reshape(28, 28), np.ones((scale, scale)))  # (84, 84)
    paper = np.full(size, 255.0)
    top, left = offset
    paper[top : top + big.shape[0], left : left + big.shape[1]] -= big * 0.9  # dark grey ink
    Image.fromarray(paper.clip(0, 255).astype(np.uint8)).convert("RGB").save(path, quality=90)
