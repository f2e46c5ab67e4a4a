"""`tune`: search a preset's knobs with Optuna, every trial a run; show what a study found; confirm its best recipe on
folds no trial scored on (the best trial's value is a selected maximum, never the recipe's estimate)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..pipeline.finish import TrainOutcome
from ..pipeline.parts import OnEvent, Stage
from ..pipeline.train import train_run
from ..places import RUNS_DIR, SUBMISSIONS_DIR
from ..runfolder.folder import check_run_name
from ..runfolder.record import DataSource
from ..search.report import StudyReport, TrialRow, study_report
from ..search.space import describe_space, parse_params, settings
from ..search.study import PRUNERS, default_storage, open_storage, open_study, shown
from ..search.trials import Display, TrialDone, counted, objective, run_study, silent
from ..training.presets import PRESETS, preset_config
from .training import train_request

PathLike = str | os.PathLike[str]
MAX_TRIALS = 10_000
CONFIRM_FOLDS = 5


@dataclass(frozen=True)
class Tuned:
    """A study after `tune`: where it is, how many trials it held before, and what it holds now."""

    storage: str  # printable (no password)
    before: int
    report: StudyReport


def space(preset: str) -> list[tuple[str, str]]:
    """The knobs `tune` searches for `preset`, each with its range."""
    check_preset(preset)
    return describe_space(preset)


def tune(
    preset: str,
    data: DataSource,
    trials: int,
    *,
    study: str | None = None,
    storage: str | None = None,
    params: list[str] | tuple[str, ...] = (),
    pruner: str = "median",
    timeout: float | None = None,
    runs_dir: PathLike = RUNS_DIR,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
    display: Display = silent,
    on_trial: Callable[[TrialDone], None] = lambda _: None,
) -> Tuned:
    """Run trials of `preset` until its study holds `trials` finished or pruned ones, here or in any process that
    shares the storage, or until `timeout` seconds have passed (the trial under way finishes); each trial is a run
    in `runs_dir`."""
    check_preset(preset)
    if not (isinstance(trials, int) and 1 <= trials <= MAX_TRIALS):
        raise ConfigError({"trials": trials}, f"give the study's total, 1 to {MAX_TRIALS:,}, e.g. 40")
    if pruner not in PRUNERS:
        raise ConfigError({"pruner": pruner}, f"choose {' or '.join(PRUNERS)}")
    if timeout is not None and not 0 < timeout < float("inf"):
        raise ConfigError({"timeout": timeout}, "give the seconds after which no new trial starts, above zero")
    name = study_name(study, preset)
    fixed = parse_params(list(params), preset)
    base = train_request(preset, data, runs_dir=runs_dir, submissions_dir=submissions_dir,
                         **settings(preset_config(preset), fixed))  # fmt: skip
    url = storage or default_storage(Path(runs_dir))
    found = open_study(open_storage(url, Path(runs_dir)), name, preset, fixed, pruner)
    before = counted(found)
    if before < trials:
        run_study(found, trials, objective(base, fixed, display, on_trial), timeout)
    return Tuned(shown(url), before, study_report(found, None))


def show(study: str | None, preset: str | None, storage: str | None, runs_dir: PathLike = RUNS_DIR) -> StudyReport:
    """A study's trials, the knobs' importances and its best trial; its two pictures drawn into `runs_dir`."""
    name = study_name(study, preset or "")
    url = storage or default_storage(Path(runs_dir))
    found = open_study(open_storage(url, Path(runs_dir), create=False), name, "", {}, "median", create=False)
    return study_report(found, Path(runs_dir))


def best_settings(report: StudyReport) -> dict[str, Any]:
    """The best trial's recipe as TrainConfig settings (with the study's fixed knobs), to retrain it."""
    if report.best is None:
        raise ConfigError({"study": report.name}, "has no finished trial yet; run more trials with tune")
    return settings(preset_config(report.preset), report.fixed | report.best.values)


@dataclass(frozen=True)
class Confirmed:
    best: TrialRow
    split_seed: int
    outcome: TrainOutcome


def confirm(
    report: StudyReport,
    data: DataSource,
    runs_dir: PathLike = RUNS_DIR,
    submissions_dir: PathLike = SUBMISSIONS_DIR,
    on_event: OnEvent | None = None,
    stage: Stage | None = None,
) -> Confirmed:
    """Train the best recipe with 5 folds on a split seed no trial used: an estimate of the recipe itself."""
    recipe = best_settings(report)
    seed = max(row.split_seed for row in report.rows) + 1
    request = train_request(report.preset, data, runs_dir=runs_dir, submissions_dir=submissions_dir,
                            folds=CONFIRM_FOLDS, name=f"{report.name}-confirm", split_seed=seed,
                            note=f"tune --confirm: trial {report.best.number} of {report.name}", **recipe)  # fmt: skip
    return Confirmed(report.best, seed, train_run(request, on_event, stage))


def study_name(study: str | None, preset: str) -> str:
    """The study's name (default: the preset's), usable in its trials' run names."""
    name = study or preset
    if not name:
        raise ConfigError({"study": None}, "name the study (or the preset whose study it is)")
    check_run_name(name)
    return name


def check_preset(preset: str) -> None:
    if preset not in PRESETS:
        raise ConfigError({"preset": preset}, f"choose one of {', '.join(PRESETS)}")
