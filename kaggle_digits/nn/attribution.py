"""Why a network reads a digit as it does: which pixels push it towards one class and away from another.

Both maps are of the *margin* between two classes, logit[towards] − logit[away] (for a mistake: the predicted digit
against the true one), computed by the project's own layers:

- `saliency`: the margin's gradient with respect to every pixel, by a backward pass down to the input, averaged over
  a few noisy copies of the image (SmoothGrad, Smilkov et al. 2017), which keeps the map's shape and drops its
  speckle. Positive: more ink there would raise the margin.
- `occlusion`: the margin's drop when a small grey patch covers the pixel (Zeiler & Fergus 2014), averaged over every
  patch covering it. No gradient involved, so it checks the saliency map. Positive: what is there now raises the
  margin.

An ensemble's map is the mean of its members' maps.
"""

from __future__ import annotations

import numpy as np

from ..constants import IMAGE_SIDE, N_CLASSES
from .network import Classifier, Ensemble, Network

PATCH = 4  # occlusion patch side, pixels
STRIDE = 2
GREY = 0.5


def members(model: Classifier) -> list[Network]:
    """The networks whose maps are averaged: the model itself, or an ensemble's members."""
    if isinstance(model, Ensemble):
        return model.networks
    if isinstance(model, Network):
        return [model]
    return members(model.model)  # test-time views: the underlying model, seen once


def contrast(towards: np.ndarray, away: np.ndarray) -> np.ndarray:
    """(N, 10): +1 on each row's `towards` class, −1 on its `away` class."""
    direction = np.zeros((len(towards), N_CLASSES), np.float32)
    rows = np.arange(len(towards))
    direction[rows, towards] += 1
    direction[rows, away] -= 1
    return direction


def saliency(
    model: Classifier,
    X: np.ndarray,
    towards: np.ndarray,
    away: np.ndarray,
    samples: int = 8,
    noise: float = 0.1,
    rng: np.random.Generator | None = None,
) -> np.ndarray:
    """SmoothGrad of the margin logit[towards] − logit[away], (N, 784); `samples` 1 and `noise` 0 give the plain
    gradient. X is (N, 784) in [0, 1]."""
    rng = rng or np.random.default_rng(0)
    direction = contrast(towards, away)  # (N, 10)
    total = np.zeros(X.shape, np.float64)  # (N, 784)
    for network in members(model):
        for _ in range(samples):
            noisy = X + rng.normal(0, noise, X.shape).astype(X.dtype) if noise else X  # (N, 784)
            total += network.input_gradient(noisy, direction)[0]
    return (total / (samples * len(members(model)))).astype(np.float32)


def margin(model: Classifier, X: np.ndarray, towards: np.ndarray, away: np.ndarray) -> np.ndarray:
    """logit[towards] − logit[away] of each row, averaged over an ensemble's members. (N,)"""
    rows = np.arange(len(X))
    values = []
    for network in members(model):
        logits = network.forward(X)  # (N, 10)
        values.append(logits[rows, towards] - logits[rows, away])
    return np.mean(values, axis=0)


def occlusion(model: Classifier, X: np.ndarray, towards: np.ndarray, away: np.ndarray) -> np.ndarray:
    """The margin's drop when a PATCH x PATCH grey square covers each pixel, averaged over the patches that cover
    it (stride STRIDE). (N, 784)"""
    n = len(X)
    images = X.reshape(n, IMAGE_SIDE, IMAGE_SIDE)  # (N, 28, 28)
    base = margin(model, X, towards, away)  # (N,)
    drop = np.zeros((n, IMAGE_SIDE, IMAGE_SIDE), np.float64)  # (N, 28, 28)
    covered = np.zeros((IMAGE_SIDE, IMAGE_SIDE), np.float64)  # (28, 28)
    corners = range(0, IMAGE_SIDE - PATCH + 1, STRIDE)
    for top in corners:
        for left in corners:
            hidden = images.copy()
            hidden[:, top : top + PATCH, left : left + PATCH] = GREY
            change = base - margin(model, hidden.reshape(n, -1), towards, away)  # (N,)
            drop[:, top : top + PATCH, left : left + PATCH] += change[:, None, None]
            covered[top : top + PATCH, left : left + PATCH] += 1
    return (drop / covered).reshape(n, -1).astype(np.float32)
