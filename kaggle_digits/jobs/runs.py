"""Run folders (`runs/<timestamp>-<preset>/`): model.npz and metrics.json, created, found and reloaded."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import KaggleDigitsError
from ..files import atomic_write_text
from ..nn.network import Network
from ..nn.serialize import load_model
from ..training.presets import TrainConfig

MODEL_FILE = "model.npz"
METRICS_FILE = "metrics.json"


@dataclass
class Run:
    """A finished training run, reloaded from disk."""

    path: Path
    network: Network
    config: TrainConfig
    metrics: dict[str, Any]


def timestamp() -> str:
    return time.strftime("%Y%m%d-%H%M%S")


def new_run_dir(root: str | os.PathLike[str], name: str) -> Path:
    """Create `root/name`, adding -2, -3… when a run of the same second already exists."""
    root = Path(root)
    candidate, n = root / name, 1
    while True:
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            n += 1
            candidate = root / f"{name}-{n}"
        except OSError as exc:
            raise KaggleDigitsError(f"{candidate}: cannot create run folder ({exc.strerror})") from None


def write_metrics(run_dir: Path, metrics: dict[str, Any]) -> Path:
    path = run_dir / METRICS_FILE
    atomic_write_text(path, json.dumps(metrics, indent=2) + "\n")
    return path


def latest_run(root: str | os.PathLike[str]) -> Path:
    """The newest run folder under `root` that holds a model."""
    root = Path(root)
    runs = sorted(
        (p for p in root.glob("*/") if (p / MODEL_FILE).is_file()),
        key=lambda p: (p / MODEL_FILE).stat().st_mtime,
    )
    if not runs:
        raise KaggleDigitsError(f"{root}: no runs found; train one with `kaggle-digits train`")
    return runs[-1]


def resolve_run(run: str | os.PathLike[str] | None, root: str | os.PathLike[str]) -> Path:
    """A run folder from a path (folder or its model.npz), or the newest run when none is given."""
    if run is None:
        return latest_run(root)
    path = Path(run)
    if path.is_file() and path.name == MODEL_FILE:
        path = path.parent
    if not path.is_dir():
        raise KaggleDigitsError(f"{path}: run folder not found")
    return path


def load_run(run_dir: Path) -> Run:
    """Reload a run's model and metrics; a missing or corrupt file is a one-line error."""
    if not (run_dir / MODEL_FILE).is_file():
        raise KaggleDigitsError(f"{run_dir}: no {MODEL_FILE} in this folder; is it a kaggle-digits run?")
    network, info = load_model(run_dir / MODEL_FILE)
    config = TrainConfig.from_dict(info["config"])
    metrics_path = run_dir / METRICS_FILE
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise KaggleDigitsError(f"{metrics_path}: missing; the run folder is incomplete") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise KaggleDigitsError(f"{metrics_path}: corrupt JSON") from None
    return Run(run_dir, network, config, metrics)
