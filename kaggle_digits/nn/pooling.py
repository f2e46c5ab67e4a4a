"""MaxPool2D on strided views (no transposes, no im2col), batch chunks on every core."""

from __future__ import annotations

import numpy as np

from .layers import Layer
from .parallel import map_batch


class MaxPool2D(Layer):
    """Max over non-overlapping s x s windows; the gradient goes to the maximum (shared equally by ties)."""

    kind = "maxpool2d"

    def __init__(self, size: int = 2):
        super().__init__()
        self.size = size

    def _offsets(self, X: np.ndarray):
        """The s*s strided views X[:, :, a::s, b::s], one per position inside the window."""
        s = self.size
        ho, wo = X.shape[2] // s, X.shape[3] // s
        return [X[:, :, a : ho * s : s, b : wo * s : s] for a in range(s) for b in range(s)]  # each (N, C, Ho, Wo)

    def forward(self, X, training=False):
        n, c, h, w = self.shape = X.shape
        s = self.size
        Y = np.empty((n, c, h // s, w // s), X.dtype)  # (N, C, Ho, Wo)
        if training:
            self.masks = np.empty((s * s, *Y.shape), bool)  # (s*s, N, C, Ho, Wo): where each window's max sits
            self.ties = np.empty_like(Y)  # (N, C, Ho, Wo): 1 unless values tie

        def max_of_windows(rows: slice) -> None:
            views = self._offsets(X[rows])
            np.copyto(Y[rows], views[0])
            for view in views[1:]:
                np.maximum(Y[rows], view, out=Y[rows])
            if training:
                for view, mask in zip(views, self.masks[:, rows], strict=True):
                    np.equal(view, Y[rows], out=mask)
                np.add.reduce(self.masks[:, rows], axis=0, dtype=X.dtype, out=self.ties[rows])

        map_batch(max_of_windows, n, X.size)
        return Y

    def backward(self, dY, need_dX=True):
        dX = np.zeros(self.shape, dtype=dY.dtype)  # (N, C, H, W); a ragged edge gets no gradient

        def route_to_maxima(rows: slice) -> None:
            share = dY[rows] / self.ties[rows]  # (n, C, Ho, Wo)
            for view, mask in zip(self._offsets(dX[rows]), self.masks[:, rows], strict=True):
                np.multiply(share, mask, out=view)

        map_batch(route_to_maxima, len(dY), dX.size)
        return dX

    def spec(self):
        return {"type": self.kind, "size": self.size}
