"""Softmax and cross-entropy, stable for huge logits (shift by the row max, work in log space)."""

from __future__ import annotations

import numpy as np


def log_softmax(logits: np.ndarray) -> np.ndarray:
    """log p for each class; finite for any finite logits because the row max is subtracted first."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # (N, K)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (N, K)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Class probabilities, rows summing to 1."""
    shifted = logits - logits.max(axis=1, keepdims=True)  # (N, K)
    e = np.exp(shifted)  # (N, K)
    return e / e.sum(axis=1, keepdims=True)


def cross_entropy(logits: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels `y` under softmax(logits), and its gradient w.r.t. the logits."""
    n = len(y)
    log_p = log_softmax(logits)  # (N, K)
    loss = -float(log_p[np.arange(n), y].mean())
    delta = np.exp(log_p)  # (N, K) = softmax
    delta[np.arange(n), y] -= 1
    delta /= n
    return loss, delta
