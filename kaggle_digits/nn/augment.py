"""Augmentation: a random small affine warp (optionally elastic) per image for training, one-pixel shifts for tests."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from ..constants import IMAGE_SIDE
from .parallel import map_batch


@dataclass(frozen=True)
class AffineAugment:
    """Random shift (pixels), rotation (degrees) and zoom per image, bilinear resampling, zeros outside.

    `elastic` > 0 adds Simard et al.'s (2003) elastic distortion to the same warp: a random displacement per pixel,
    uniform in [-1, 1], smoothed by a Gaussian of `elastic_sigma` pixels and scaled by `elastic` (their alpha). It
    draws its randoms only when on, so runs without it keep their exact random streams.
    """

    max_shift: float = 2.0
    max_rotation: float = 10.0
    max_zoom: float = 0.1
    elastic: float = 0.0
    elastic_sigma: float = 4.0

    def __call__(self, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Warp a batch of flattened 28x28 images (N, 784); returns a new array of the same shape and dtype."""
        n, side = len(X), IMAGE_SIDE
        theta = np.deg2rad(rng.uniform(-self.max_rotation, self.max_rotation, n))  # (N,)
        zoom = rng.uniform(1 - self.max_zoom, 1 + self.max_zoom, n)  # (N,)
        shift = rng.uniform(-self.max_shift, self.max_shift, (n, 2))  # (N, 2)
        cos = (np.cos(theta) / zoom).astype(np.float32)  # (N,) inverse map: rotate back, un-zoom
        sin = (np.sin(theta) / zoom).astype(np.float32)
        shift = shift.astype(np.float32)
        centre = np.float32((side - 1) / 2)
        rows, cols = np.divmod(np.arange(side * side, dtype=np.float32), side)
        dy, dx = rows - centre, cols - centre  # (784,)
        src_y = cos[:, None] * dy - sin[:, None] * dx + centre - shift[:, :1]  # (N, 784)
        src_x = sin[:, None] * dy + cos[:, None] * dx + centre - shift[:, 1:]  # (N, 784)
        if self.elastic:
            smooth = gaussian_matrix(side, self.elastic_sigma)  # (28, 28)
            field = rng.uniform(-self.elastic, self.elastic, (2, n, side, side)).astype(np.float32)  # (2, N, 28, 28)
            field = smooth @ field @ smooth.T  # (2, N, 28, 28) blurred down the columns, then along the rows
            src_y = src_y + field[0].reshape(n, -1)  # (N, 784)
            src_x = src_x + field[1].reshape(n, -1)
        images = X.reshape(n, side, side)  # (N, 28, 28) view
        out = np.empty(X.shape, X.dtype)  # (N, 784)

        def warp(rows: slice) -> None:
            out[rows] = bilinear_sample(images[rows], src_y[rows], src_x[rows])  # per image: same bits, any split

        map_batch(warp, n, 8 * out.size, gemm=False)
        return out


@cache
def gaussian_matrix(side: int, sigma: float) -> np.ndarray:
    """(side, side) matrix that blurs a vector with a normalised Gaussian, zeros beyond the edges (as SciPy's
    `gaussian_filter(mode="constant", truncate=4)`); built once per size and sigma, read-only."""
    radius = int(4 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)  # (2r+1,)
    taps /= taps.sum()
    offset = np.arange(side)[None, :] - np.arange(side)[:, None]  # (side, side) j - i
    matrix = np.where(np.abs(offset) <= radius, taps[np.clip(offset + radius, 0, 2 * radius)], 0).astype(np.float32)
    matrix.flags.writeable = False  # shared by every call through the cache
    return matrix


def bilinear_sample(images: np.ndarray, src_y: np.ndarray, src_x: np.ndarray) -> np.ndarray:
    """Sample (N, S, S) images at fractional coordinates (N, P); points outside the image read 0."""
    n, side, _ = images.shape
    pad = 2  # a zero border wide enough that both neighbours of a clipped coordinate read zero
    width = side + 2 * pad
    padded = np.zeros((n, width, width), dtype=np.float32)  # (N, S+4, S+4)
    padded[:, pad:-pad, pad:-pad] = images
    src_y, src_x = src_y.astype(np.float32), src_x.astype(np.float32)
    y0, x0 = np.floor(src_y), np.floor(src_x)  # (N, P)
    wy, wx = src_y - y0, src_x - x0  # (N, P) fractional parts
    offsets = (np.arange(n, dtype=np.float32) * (width * width) + pad * (width + 1))[:, None]  # (N, 1)
    base = np.clip(y0, -pad, side) * width + np.clip(x0, -pad, side) + offsets  # (N, P) exact in float32
    base = base.astype(np.intp)  # top-left neighbour's flat index into the padded batch
    flat = padded.reshape(-1)  # (N*(S+4)^2,)
    right, below, below_right = flat[1:], flat[width:], flat[width + 1 :]  # shifted views share one index
    top = flat[base] * (1 - wx) + right[base] * wx  # (N, P)
    bottom = below[base] * (1 - wx) + below_right[base] * wx
    return top * (1 - wy) + bottom * wy  # (N, P)


TTA_SHIFTS = ((0, 0), (0, 1), (0, -1), (1, 0), (-1, 0), (1, 1), (-1, -1), (1, -1), (-1, 1))  # (down, right) pixels


def shift_images(X: np.ndarray, down: int, right: int) -> np.ndarray:
    """Flattened 28x28 images (N, 784) moved by whole pixels, zeros flowing in at the edges."""
    side = IMAGE_SIDE
    images = X.reshape(len(X), side, side)  # (N, 28, 28) view
    out = np.zeros_like(images)
    rows_to, rows_from = slice(max(down, 0), side + min(down, 0)), slice(max(-down, 0), side - max(down, 0))
    cols_to, cols_from = slice(max(right, 0), side + min(right, 0)), slice(max(-right, 0), side - max(right, 0))
    out[:, rows_to, cols_to] = images[:, rows_from, cols_from]
    return out.reshape(len(X), side * side)  # (N, 784)
