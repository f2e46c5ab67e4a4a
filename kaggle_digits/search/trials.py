"""Trials as runs: each trial of a study trains one run of its knob values, named after the study and the trial,
reports its dev accuracy each epoch to the study's pruner, and leaves its run finished, pruned or interrupted."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..pipeline.parts import OnEvent, Stage
from ..pipeline.start import TrainRequest
from ..pipeline.train import RunInterrupted, RunPruned, train_run
from ..training.config import TrainConfig
from ..training.fit import TrainEvent, TrainingDiverged
from ..training.presets import preset_config
from .space import settings, suggest
from .study import optuna

# The live display of one trial: given its configuration, a context that yields its progress callbacks.
Display = Callable[[TrainConfig], AbstractContextManager[tuple[OnEvent | None, Stage | None]]]


@dataclass(frozen=True)
class TrialDone:
    """What one trial came to, for the face to print as it goes."""

    number: int
    values: dict[str, Any]
    state: str  # "finished", "pruned", "diverged"
    value: float | None
    run_dir: Path | None
    epochs: int  # epochs trained


@contextlib.contextmanager
def silent(_: TrainConfig) -> Iterator[tuple[None, None]]:
    yield None, None


def objective(
    base: TrainRequest, fixed: dict[str, Any], display: Display, on_trial: Callable[[TrialDone], None]
) -> Callable[[Any], float]:
    """Optuna's objective: train the trial's run, return its dev accuracy at the last epoch."""
    opt = optuna()

    def run_trial(trial: Any) -> float:
        values = suggest(trial, base.config, fixed)
        config = base.config.replace(**settings(preset_config(base.config.preset), values))  # sizes from the preset's
        request = replace(base, config=config, study=trial.study.study_name, trial=trial.number,
                          name=f"{trial.study.study_name}-trial{trial.number}")  # fmt: skip
        trial.set_user_attr("split_seed", config.split_seed if config.split_seed is not None else config.seed)
        epochs = 0

        def report(event: TrainEvent) -> None:
            nonlocal epochs
            if event.record is None:
                return
            epochs = event.epoch
            trial.report(event.record.dev_accuracy, event.epoch)
            if trial.should_prune():
                raise RunPruned(f"trial {trial.number} pruned at epoch {event.epoch}")

        with display(config) as (on_event, stage):

            def both(event: TrainEvent) -> None:
                if on_event is not None:
                    on_event(event)
                report(event)

            try:
                outcome = train_run(request, both, stage)
            except RunPruned as pruned:
                trial.set_user_attr("run", str(pruned.run_dir))
                on_trial(TrialDone(trial.number, values, "pruned", None, pruned.run_dir, epochs))
                raise opt.TrialPruned() from None
            except RunInterrupted as stop:
                trial.set_user_attr("run", str(stop.run_dir))
                trial.set_user_attr("interrupted", True)
                raise
            except TrainingDiverged:
                trial.set_user_attr("diverged", True)
                on_trial(TrialDone(trial.number, values, "diverged", None, None, epochs))
                raise
        value = outcome.record.estimate.accuracy if outcome.record.estimate else 0.0
        trial.set_user_attr("run", str(outcome.run_dir))
        on_trial(TrialDone(trial.number, values, "finished", value, outcome.run_dir, epochs))
        return value

    return run_trial


def counted(study: Any) -> int:
    """Trials that count toward `--trials`: finished or pruned (failed and interrupted ones do not)."""
    opt = optuna()
    states = (opt.trial.TrialState.COMPLETE, opt.trial.TrialState.PRUNED)
    return len(study.get_trials(deepcopy=False, states=states))


def run_study(study: Any, trials: int, run_trial: Callable[[Any], float], timeout: float | None = None) -> None:
    """Run trials until the study holds `trials` finished or pruned ones (other processes' included) or no new one
    may start after `timeout` seconds; a diverged trial fails and the study goes on."""
    opt = optuna()
    stop = opt.study.MaxTrialsCallback(trials, states=(opt.trial.TrialState.COMPLETE, opt.trial.TrialState.PRUNED))
    study.optimize(run_trial, timeout=timeout, callbacks=[stop], catch=(TrainingDiverged,), gc_after_trial=False)
