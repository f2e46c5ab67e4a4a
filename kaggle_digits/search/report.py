"""What a study found: its trials as rows, the knobs' importances, two pictures drawn with matplotlib, and the best
trial's recipe as settings to retrain it."""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..files import atomic_path
from .study import optuna


@dataclass(frozen=True)
class TrialRow:
    number: int
    values: dict[str, Any]
    value: float | None
    state: str  # finished, pruned, failed, interrupted, running
    seconds: float | None
    run: str
    split_seed: int = 0  # the dev split it was scored on


@dataclass(frozen=True)
class StudyReport:
    name: str
    preset: str
    fixed: dict[str, Any]
    rows: list[TrialRow]
    importances: dict[str, float]  # empty until two finished trials differ
    best: TrialRow | None
    pictures: list[Path]


def state_of(trial: Any) -> str:
    name = trial.state.name
    if name == "FAIL":
        return "interrupted" if trial.user_attrs.get("interrupted") else "failed"
    return {"COMPLETE": "finished", "PRUNED": "pruned", "RUNNING": "running", "WAITING": "waiting"}.get(name, name)


def study_report(study: Any, picture_dir: Path | None) -> StudyReport:
    """The study's trials, importances, best trial and (into `picture_dir`) its history and parallel coordinates."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        seconds = (trial.datetime_complete - trial.datetime_start).total_seconds() if trial.datetime_complete else None
        run, split_seed = Path(trial.user_attrs.get("run", "")).name, int(trial.user_attrs.get("split_seed", 0))
        rows.append(TrialRow(trial.number, dict(trial.params), trial.value, state_of(trial), seconds, run, split_seed))
    finished = [row for row in rows if row.state == "finished" and row.value is not None]
    best = max(finished, key=lambda row: (row.value, -row.number)) if finished else None
    attrs = study.user_attrs
    pictures = draw(study, picture_dir) if picture_dir is not None and finished else []
    return StudyReport(study.study_name, attrs.get("preset", ""), attrs.get("fixed", {}), rows, importances(study),
                       best, pictures)  # fmt: skip


def importances(study: Any) -> dict[str, float]:
    """fANOVA importances of the knobs over the finished trials, or {} while they cannot be computed."""
    opt = optuna()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            found = opt.importance.get_param_importances(study)
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}
    return {name: value for name, value in found.items() if not math.isnan(value)}


def draw(study: Any, folder: Path) -> list[Path]:
    """The optimisation history and the parallel coordinates of the study, as PNGs named after it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    opt = optuna()
    folder.mkdir(parents=True, exist_ok=True)
    drawn = []
    plots = {"history": opt.visualization.matplotlib.plot_optimization_history,
             "parallel": opt.visualization.matplotlib.plot_parallel_coordinate}  # fmt: skip
    for what, plot in plots.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna marks its matplotlib plots experimental
            axes = plot(study)
        figure = axes.figure if hasattr(axes, "figure") else axes.flat[0].figure
        figure.set_size_inches(9, 5)
        figure.tight_layout()
        path = folder / f"tune-{study.study_name}-{what}.png"
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=100, format="png")
        plt.close(figure)
        drawn.append(path)
    return drawn
