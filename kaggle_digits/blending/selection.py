"""Weights for a blend of runs: the plain average, Caruana's ensemble selection, and the nested score that keeps
selection honest.

Caruana et al. (2004), *Ensemble selection from libraries of models*: start from nothing and add, with replacement,
the member whose addition scores best on the rows at hand; the weights are how often each was added. The accuracy
this reaches on the rows it chose on is biased upward, so the estimate comes from `nested_selection`: choose on some
groups of rows, score on the group left out, rotate.
"""

from __future__ import annotations

import numpy as np

SELECTION_STEPS = 20  # additions tried; the best prefix is kept
NESTED_GROUPS = 5  # groups of shared rows for the nested score
NESTED_SEED = 0  # which rows fall in which group: fixed, so a blend's estimate repeats


def blended(P: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Σ_k w_k P_k in float64, members added in their given order (the same order gives the same bits)."""
    out = np.zeros(P.shape[1:], np.float64)  # (M, 10)
    for w_k, P_k in zip(w, P, strict=True):
        if w_k:
            out += w_k * P_k.astype(np.float64)
    return out


def _score(p: np.ndarray, y: np.ndarray) -> tuple[int, float]:
    """(rows right, −mean log-likelihood): accuracy first, ties broken by how sure the blend is of the truth."""
    right = int((p.argmax(axis=1) == y).sum())
    nll = float(-np.log(np.clip(p[np.arange(len(y)), y], 1e-12, None)).mean()) if len(y) else 0.0
    return right, -nll


def caruana(P: np.ndarray, y: np.ndarray, steps: int = SELECTION_STEPS) -> np.ndarray:
    """Weights (K,) summing to 1: greedy forward selection with replacement on rows y (P is (K, M, 10)); ties go to
    the earlier member, and the shortest best prefix of additions is kept."""
    K = len(P)
    total = np.zeros(P.shape[1:], np.float64)  # (M, 10): sum of the members added so far
    counts, best_counts, best = np.zeros(K, np.int64), None, None
    for step in range(1, steps + 1):
        scores = [_score((total + P[k]) / step, y) for k in range(K)]
        k = max(range(K), key=lambda j: (scores[j], -j))
        total += P[k]
        counts[k] += 1
        if best is None or scores[k] > best:
            best, best_counts = scores[k], counts.copy()
    return best_counts / best_counts.sum()


def nested_groups(n: int, groups: int = NESTED_GROUPS) -> np.ndarray:
    """Group (0..groups-1) of each of n rows: a seeded shuffle cut into near-equal parts."""
    order = np.random.default_rng(NESTED_SEED).permutation(n)  # (n,)
    group = np.empty(n, np.int64)
    group[order] = np.arange(n) % groups
    return group


def nested_selection(P: np.ndarray, y: np.ndarray, groups: int = NESTED_GROUPS) -> np.ndarray:
    """Each row's blended softmax (M, 10) under weights chosen without its group: what selection is worth on rows
    it never saw."""
    group = nested_groups(len(y), groups)
    out = np.zeros(P.shape[1:], np.float64)  # (M, 10)
    for g in range(groups):
        fit, held = group != g, group == g
        w = caruana(P[:, fit], y[fit])
        out[held] = blended(P[:, held], w)
    return out
