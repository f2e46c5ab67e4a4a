"""Which networks a run trains and on which rows: a dev split, K stratified folds, or every row; seeds for each.

All of it is a pure function of the labels, the configuration and the seeds, so a resumed run and `evaluate` rebuild
exactly the rows a run was trained and scored on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..data import Digits, split_dev, stratified_folds
from ..training.config import TrainConfig


@dataclass(frozen=True)
class Part:
    """One network to train: its seed, the rows it learns from and the held-out rows it is scored on."""

    index: int
    kind: str  # "single", "member" or "fold"
    label: str  # "", "member 2/3", "fold 2/5" or "fold 2/5 · member 1/2"
    seed: int
    fold: int  # 0 unless the run is a k-fold one
    train_idx: np.ndarray
    held_out_idx: np.ndarray


def generators(seed: int) -> tuple[np.random.Generator, np.random.Generator, np.random.Generator]:
    """Independent streams for the data split, weight init and training (shuffles, dropout, augmentation)."""
    split, init, train = np.random.SeedSequence(seed).spawn(3)
    return np.random.default_rng(split), np.random.default_rng(init), np.random.default_rng(train)


def split_seed(config: TrainConfig) -> int:
    return config.seed if config.split_seed is None else config.split_seed


def dev_split(train: Digits, config: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """The run's (train, dev) row indices; with --dev-size 0, every row trains and none is held out."""
    rng = generators(split_seed(config))[0]
    if config.dev_size == 0:
        return rng.permutation(len(train)), np.zeros(0, np.int64)
    return split_dev(train.labels, config.dev_size, rng)


def fold_ids(train: Digits, config: TrainConfig, folds: int) -> np.ndarray:
    """The fold of every row of train.csv, stratified and seeded by the split seed."""
    return stratified_folds(train.labels, folds, generators(split_seed(config))[0])


def plan_parts(train: Digits, config: TrainConfig, members: int, folds: int) -> list[Part]:
    """`members` networks (seeds seed, seed+1, …) on one dev split, or on each of `folds` folds in turn."""
    if not folds:
        train_idx, dev_idx = dev_split(train, config)
        kind = "member" if members > 1 else "single"
        return [
            Part(m, kind, f"member {m + 1}/{members}" if members > 1 else "", config.seed + m, 0, train_idx, dev_idx)
            for m in range(members)
        ]
    fold_of = fold_ids(train, config, folds)
    order = generators(split_seed(config))[0]  # one shuffle of the training rows per fold, as for a dev split
    parts = []
    for k in range(folds):
        held_out = np.flatnonzero(fold_of == k)
        train_idx = order.permutation(np.flatnonzero(fold_of != k))
        for m in range(members):
            label = f"fold {k + 1}/{folds}" + (f" · member {m + 1}/{members}" if members > 1 else "")
            parts.append(Part(len(parts), "fold", label, config.seed + len(parts), k, train_idx, held_out))
    return parts
