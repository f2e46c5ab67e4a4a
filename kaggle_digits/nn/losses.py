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


def cross_entropy(logits: np.ndarray, y: np.ndarray, smoothing: float = 0.0) -> tuple[float, np.ndarray]:
    """Mean cross-entropy of integer labels `y` under softmax(logits), and its gradient w.r.t. the logits.

    With label smoothing ε the target is (1 - ε) on the true class plus ε/K on every class, so the model is not
    pushed towards infinite confidence.
    """
    n, k = logits.shape
    log_p = log_softmax(logits)  # (N, K)
    true = log_p[np.arange(n), y]  # (N,)
    loss = -float(((1 - smoothing) * true + smoothing * log_p.mean(axis=1)).mean())
    delta = np.exp(log_p)  # (N, K) = softmax
    if smoothing:
        delta -= smoothing / k
    delta[np.arange(n), y] -= 1 - smoothing
    delta /= n
    return loss, delta
