"""Winograd's F(4x4, 3x3) convolution with every transform a GEMM (Lavin & Gray 2015).

Each 4x4 block of output comes from a 6x6 tile of input: d → V = Bᵀ d B, a kernel g → U = G g Gᵀ, and the block is
Aᵀ (U ⊙ V) A. Summed over C input channels the elementwise product becomes 36 GEMMs, M[ξ] = U[ξ] (F, C) @ V[ξ]
(C, tiles): 4x fewer multiplications than direct convolution. Written with Kronecker matrices the transforms are
GEMMs too — V = (Bᵀ⊗Bᵀ) d for every tile and channel at once, Y = (Aᵀ⊗Aᵀ) M — so no step is a strided add.
The weight gradient has the same form: dM = (A⊗A) dY, dU[ξ] = dM[ξ] (F, tiles) @ V[ξ]ᵀ (tiles, C), which sums over
every tile inside the GEMM, then dW = (Gᵀ⊗Gᵀ) dU. Float32 error: a few 1e-6 of the largest output (tested).
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.lib.stride_tricks import as_strided

_BT = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0],
       [0, 4, 0, -5, 0, 1]]  # fmt: skip
_G = [[1 / 4, 0, 0], [-1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6], [1 / 24, 1 / 12, 1 / 6],
      [1 / 24, -1 / 12, 1 / 6], [0, 0, 1]]  # fmt: skip
_AT = [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]]


@cache
def transforms(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Bᵀ⊗Bᵀ (36, 36), Aᵀ⊗Aᵀ (16, 36), G⊗G (36, 9)) in `dtype`: d (6x6 flat) → V, M → Y (4x4 flat), g → U."""
    kron = [np.kron(np.array(m, np.float64), np.array(m, np.float64)) for m in (_BT, _AT, _G)]
    return tuple(np.ascontiguousarray(m, dtype) for m in kron)  # type: ignore[return-value]


def tile_counts(h: int, w: int) -> tuple[int, int]:
    """Tiles down and across for the valid 3x3 convolution of an h x w input (the last ones may overhang)."""
    return -(-(h - 2) // 4), -(-(w - 2) // 4)


def kernel_transform(W: np.ndarray) -> np.ndarray:
    """U = G g Gᵀ for every filter and channel: (F, C, 3, 3) → (36, F, C)."""
    F, C = W.shape[:2]
    G2 = transforms(W.dtype)[2]
    return (G2 @ W.reshape(F * C, 9).T).reshape(36, F, C)  # (36, F, C)


def input_transform(X: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """V = Bᵀ d B for every 6x6 tile (stride 4) of X (b, C, h, w): (36, C, b*T), tiles in (image, row, column) order;
    zeros are read where the last tiles overhang the input."""
    b, C, h, w = X.shape
    th, tw = tile_counts(h, w)
    if (h, w) != (4 * th + 2, 4 * tw + 2):
        padded = np.zeros((b, C, 4 * th + 2, 4 * tw + 2), X.dtype)  # (b, C, 4th+2, 4tw+2)
        padded[:, :, :h, :w] = X
        X = padded
    sN, sC, sH, sW = X.strides
    tiles = as_strided(X, (b, C, th, tw, 6, 6), (sN, sC, 4 * sH, 4 * sW, sH, sW))  # (b, C, th, tw, 6, 6) view
    D = np.empty((6, 6, C, b, th, tw), X.dtype)  # the tiles, copied once
    np.copyto(D, tiles.transpose(4, 5, 1, 0, 2, 3))
    V = np.matmul(transforms(X.dtype)[0], D.reshape(36, -1), out=None if out is None else out.reshape(36, -1))
    return V.reshape(36, C, b * th * tw)  # (36, C, b*T)


def convolve(X: np.ndarray, U: np.ndarray, Y: np.ndarray, V_out: np.ndarray | None = None) -> None:
    """Y (b, F, h-2, w-2), C-contiguous, = X (b, C, h, w) ⋆ W, from U = kernel_transform(W); V_out (36, C, b*T)
    keeps the input transform for the weight gradient."""
    b, F, ho, wo = Y.shape
    th, tw = tile_counts(ho + 2, wo + 2)
    V = input_transform(X, V_out)  # (36, C, b*T)
    M = np.matmul(U, V)  # (36, F, b*T): the 36 GEMMs
    Z = (transforms(Y.dtype)[1] @ M.reshape(36, -1)).reshape(4, 4, F, b, th, tw)  # (4, 4, F, b, th, tw)
    exact = (ho, wo) == (4 * th, 4 * tw)
    blocks = Y if exact else np.empty((b, F, 4 * th, 4 * tw), Y.dtype)  # (b, F, 4th, 4tw)
    np.copyto(blocks.reshape(b, F, th, 4, tw, 4), Z.transpose(3, 2, 4, 0, 5, 1))
    if not exact:
        Y[...] = blocks[:, :, :ho, :wo]


def weight_grad(V: np.ndarray, dY: np.ndarray) -> np.ndarray:
    """dW (F, C, 3, 3) from the forward's V (36, C, b*T) and dY (b, F, Ho, Wo)."""
    b, F, ho, wo = dY.shape
    C = V.shape[1]
    th, tw = tile_counts(ho + 2, wo + 2)
    if (ho, wo) == (4 * th, 4 * tw):
        blocks = dY.reshape(b, F, th, 4, tw, 4)  # (b, F, th, 4, tw, 4) view
    else:
        blocks = np.zeros((b, F, th, 4, tw, 4), dY.dtype)  # overhanging outputs carry no gradient
        blocks.reshape(b, F, 4 * th, 4 * tw)[:, :, :ho, :wo] = dY
    _, A2, G2 = transforms(dY.dtype)
    dZ = np.ascontiguousarray(blocks.transpose(3, 5, 1, 0, 2, 4)).reshape(16, -1)  # (16, F*b*T)
    dM = (A2.T @ dZ).reshape(36, F, -1)  # (36, F, b*T)
    dU = np.matmul(dM, V.transpose(0, 2, 1))  # (36, F, C): summed over every tile by the GEMM
    return (G2.T @ dU.reshape(36, -1)).reshape(3, 3, F, C).transpose(2, 3, 0, 1)  # (F, C, 3, 3)
