"""Checkpoints: everything a `Trainer` needs to continue bit for bit, in one pickle-free .npz written atomically.

Weights and buffers, the optimiser's moments and step, the state of every random generator, the history, the best
weights so far and the moving average of the weights. Written after every finished epoch, so a killed process loses
at most the epoch under way.
"""

from __future__ import annotations

import contextlib
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import KaggleDigitsError
from ..files import atomic_path
from .fit import FitState, Trainer

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike[str], trainer: Trainer, extra: dict[str, Any]) -> None:
    """Write `trainer`'s complete state plus the caller's JSON-able `extra` (which part of a run this is)."""
    header = {
        "format_version": FORMAT_VERSION,
        "state": trainer.state.to_dict(),
        "generators": [g.bit_generator.state for g in trainer.generators],
        "extra": extra,
    }
    arrays = {f"weights.{k}": v for k, v in trainer.network.state().items()}
    arrays |= {f"optimizer.{k}": v for k, v in trainer.optimizer.state().items()}
    if trainer.best_weights is not None:
        arrays |= {f"best.{k}": v for k, v in trainer.best_weights.items()}
    if trainer.average is not None:
        arrays |= {f"average.{k}": v for k, v in trainer.average.averaged.items()}
    with atomic_path(path) as tmp, tmp.open("wb") as handle:
        np.savez(handle, header=np.array(json.dumps(header)), **arrays)


def read_extra(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The caller's `extra` of a checkpoint, without touching any trainer."""
    with _opened(path) as stored:
        extra = json.loads(str(stored["header"]))["extra"]
        if not isinstance(extra, dict):
            raise TypeError("extra")
        return extra


def read_state(path: str | os.PathLike[str]) -> FitState:
    """Where a checkpoint's fit stands (epoch, history, timing), without touching any trainer."""
    try:
        with _opened(path) as stored:
            return FitState.from_dict(json.loads(str(stored["header"]))["state"])
    except (KeyError, ValueError, TypeError) as exc:
        raise KaggleDigitsError(f"{path}: not a readable checkpoint ({exc})") from None


def load_checkpoint(path: str | os.PathLike[str], trainer: Trainer) -> dict[str, Any]:
    """Restore `trainer` (built as for a fresh start) to the checkpointed epoch; returns the saved `extra`."""
    path = Path(path)
    try:
        with _opened(path) as stored:
            header = json.loads(str(stored["header"]))
            if header.get("format_version") != FORMAT_VERSION:
                raise KaggleDigitsError(f"{path}: unsupported checkpoint format {header.get('format_version')!r}")
            groups: dict[str, dict[str, np.ndarray]] = {"weights": {}, "optimizer": {}, "best": {}, "average": {}}
            for key in stored.files:
                group, _, name = key.partition(".")
                if group in groups:
                    groups[group][name] = stored[key]
        generators = trainer.generators
        if len(header["generators"]) != len(generators):
            raise ValueError("the checkpoint's random generators do not match the network")
        trainer.network.load_state(groups["weights"])
        trainer.optimizer.load_state(groups["optimizer"])
        trainer.best_weights = groups["best"] or None
        if trainer.average is not None:
            trainer.average.load_state(groups["average"])
        for generator, state in zip(generators, header["generators"], strict=True):
            generator.bit_generator.state = state
        trainer.state = FitState.from_dict(header["state"])
    except KaggleDigitsError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise KaggleDigitsError(f"{path}: checkpoint does not match this run ({exc})") from None
    return header["extra"]


@contextlib.contextmanager
def _opened(path: str | os.PathLike[str]) -> Iterator[Any]:
    """np.load of a checkpoint, its read failures as one-line errors."""
    try:
        with np.load(path, allow_pickle=False) as stored:
            yield stored
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError, zipfile.BadZipFile) as exc:
        raise KaggleDigitsError(f"{path}: not a readable checkpoint ({type(exc).__name__})") from None
