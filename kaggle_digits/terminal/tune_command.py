"""`kaggle-digits tune`: search a preset's knobs with Optuna (every trial a run), show a study, confirm its best."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich import box
from rich.table import Table

from ..errors import KaggleDigitsError
from ..places import DATA_DIR, RUNS_DIR, SUBMISSIONS_DIR
from ..progress import ToolConsole, TrainingProgress, esc
from ..search.report import StudyReport
from ..search.study import PRUNERS
from ..search.trials import TrialDone
from ..training.config import TrainConfig
from ..training.presets import preset_config
from ..usecases import training, tuning
from .app import DataDir, Sample, SubmissionsDir, app, console, flag_of, given, one_of, parse_duration
from .display import PIPED_WIDTH, summary_table
from .signals import StopOnSignals
from .train_commands import Preset

Pruner = Literal[tuple(PRUNERS)]  # type: ignore[valid-type]


@app.command()
def tune(
    ctx: typer.Context,
    preset: Annotated[Preset, typer.Option(help="The preset whose knobs to search.")] = "fast",
    trials: Annotated[
        int | None,
        typer.Option(
            help="The study's total of finished or pruned trials: run trials until it holds this many "
            "(run again, here or on another machine, to continue the same study)."
        ),
    ] = None,
    study: Annotated[str | None, typer.Option(help="The study's name (default: the preset's).")] = None,
    storage: Annotated[
        str | None,
        typer.Option(
            help="Where the study lives: an SQLAlchemy URL such as postgresql://user@host/db, shared by "
            "every machine that tunes it (default: sqlite:///<runs-dir>/tune.db)."
        ),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="KNOB=VALUE", help="Fix a knob for every trial, e.g. epochs=2 (repeatable)."),
    ] = None,
    pruner: Annotated[
        Pruner,
        typer.Option(
            help="Stops hopeless trials from their dev accuracy each epoch: median (below the median of "
            "earlier trials at the same epoch) or hyperband (successive halving)."
        ),
    ] = "median",
    timeout: Annotated[
        str | None,
        typer.Option(
            metavar="TIME",
            help="Start no new trial after this long, e.g. 2h, 90m or 600s (the trial under way finishes); "
            "--trials still caps the study.",
        ),
    ] = None,
    space: Annotated[bool, typer.Option("--space", help="Print the preset's knobs and their ranges.")] = False,
    show: Annotated[
        bool,
        typer.Option("--show", help="The study's trials, the knobs' importances, two PNGs and the best recipe's line."),
    ] = False,
    confirm: Annotated[
        bool,
        typer.Option(
            "--confirm",
            help="Train the best recipe with --folds 5 on a split seed no trial used: its "
            "estimate, beside the best trial's (selected, biased upward) value.",
        ),
    ] = False,
    data_dir: DataDir = DATA_DIR,
    sample: Sample = False,
    runs_dir: Annotated[Path, typer.Option("--runs-dir", help="Where the trials' run folders go.")] = RUNS_DIR,
    submissions_dir: SubmissionsDir = SUBMISSIONS_DIR,
) -> None:
    """Search a preset's knobs with Optuna: every trial a run scored on its dev split; one study, many machines."""
    one_of(ctx, "sample", "data_dir")
    modes = [flag for flag in ("--space", "--show", "--confirm") if given(ctx, flag[2:])]
    if len(modes) > 1 or (modes and (trials is not None or timeout is not None)):
        raise KaggleDigitsError(f"choose one of --trials (or --timeout), {', '.join(modes)}")
    if space:
        return print_space(preset)
    data = training.data_source(sample, None if sample else data_dir)
    if show or confirm:
        report = tuning.show(study, preset, storage, runs_dir)
        return print_report(report) if show else run_confirm(report, data, runs_dir, submissions_dir)
    seconds = parse_duration(timeout, "--timeout")
    if trials is None and seconds is None:
        raise KaggleDigitsError("give --trials N (the study's total) or --timeout, or --space, --show or --confirm")
    trials = tuning.MAX_TRIALS if trials is None else trials
    with StopOnSignals(restore=lambda: console.show_cursor(True)):
        tuned = tuning.tune(preset, data, trials, study=study, storage=storage, params=param or [], pruner=pruner,
                            timeout=seconds, runs_dir=runs_dir, submissions_dir=submissions_dir, display=trial_display,
                            on_trial=print_trial)  # fmt: skip
    report = tuned.report
    counted = sum(row.state in ("finished", "pruned") for row in report.rows)
    if tuned.before >= trials:
        console.print(f"Study {esc(report.name)} holds {tuned.before} trials already (--trials {trials}).")
    console.print(f"Study {esc(report.name)}: {counted} trials finished or pruned, in {esc(tuned.storage)}")
    print_best(report)


@contextlib.contextmanager
def trial_display(config: TrainConfig) -> Iterator[tuple[Any, Any]]:
    with TrainingProgress(console, config, 0, 1) as progress:
        yield progress, progress.stage


def print_trial(done: TrialDone) -> None:
    knobs = " ".join(f"{name}={shown_value(value)}" for name, value in done.values.items())
    if done.state == "finished":
        console.print(f"trial {done.number}: dev {done.value:.4f} · {esc(knobs)}")
    elif done.state == "pruned":
        console.print(f"trial {done.number}: [yellow]pruned[/] at epoch {done.epochs} · {esc(knobs)}")
    else:
        console.print(f"trial {done.number}: [red]diverged[/] · {esc(knobs)}")


def shown_value(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def print_space(preset: str) -> None:
    table = Table(title=f"Knobs tune searches for {preset}", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("knob")
    table.add_column("range")
    for name, text in tuning.space(preset):
        table.add_row(name, esc(text))
    console.print(table)


def print_report(report: StudyReport) -> None:
    knobs = sorted({name for row in report.rows for name in row.values} - set(report.fixed))
    table = Table(title=f"Study {esc(report.name)} ({esc(report.preset)})", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("trial", *knobs, "dev accuracy", "state", "time", "run"):
        table.add_column(column, justify="right" if column not in ("state", "run") else "left")
    for row in report.rows:
        value = f"{row.value:.4f}" if row.value is not None else ""
        seconds = (
            ""
            if row.seconds is None
            else f"{row.seconds:.0f} s"
            if row.seconds < 100
            else f"{row.seconds / 60:.0f} min"
        )
        cells = [shown_value(row.values[name]) if name in row.values else "" for name in knobs]
        table.add_row(str(row.number), *cells, value, row.state, seconds, esc(row.run))
    out = console if console.is_terminal else ToolConsole(width=PIPED_WIDTH)  # piped: not cut to 80 columns
    out.print(table)
    if report.importances:
        text = " · ".join(f"{name} {share:.2f}" for name, share in report.importances.items())
        console.print(f"Importance (fANOVA, of the finished trials' variance): {esc(text)}")
    for picture in report.pictures:
        console.print(f"Wrote {esc(str(picture))}")
    print_best(report)


def print_best(report: StudyReport) -> None:
    if report.best is None:
        console.print("No finished trial yet.")
        return
    finished = sum(row.state == "finished" for row in report.rows)
    console.print(
        f"Best: trial {report.best.number}, dev {report.best.value:.4f} — the best of {finished} finished trials, "
        "selected on the rows it is measured on: biased upward, not an estimate."
    )
    console.print(f"Retrain it: {esc(train_line(report))}", soft_wrap=True)
    console.print(f"Estimate it: kaggle-digits tune --study {esc(report.name)} --confirm", soft_wrap=True)


def train_line(report: StudyReport) -> str:
    """The `kaggle-digits train` command of the best trial's exact recipe."""
    parts = ["kaggle-digits", "train", "--preset", report.preset]
    for name, value in tuning.best_settings(report).items():
        parts += [flag_of(name), ",".join(map(str, value)) if isinstance(value, tuple) else repr(value)]
    return " ".join(parts)


def run_confirm(report: StudyReport, data, runs_dir: Path, submissions_dir: Path) -> None:
    with StopOnSignals(restore=lambda: console.show_cursor(True)):
        config = preset_config(report.preset, **tuning.best_settings(report))
        with TrainingProgress(console, config, tuning.CONFIRM_FOLDS, tuning.CONFIRM_FOLDS) as progress:
            confirmed = tuning.confirm(report, data, runs_dir, submissions_dir, progress, progress.stage)
    console.print(summary_table(confirmed.outcome))
    estimate = confirmed.outcome.record.estimate
    console.print(
        f"Trial {confirmed.best.number}'s recipe: estimate {estimate.accuracy:.4f} "
        f"({estimate.ci95[0]:.4f}–{estimate.ci95[1]:.4f}), {tuning.CONFIRM_FOLDS} folds on split seed "
        f"{confirmed.split_seed}; the trial itself scored {confirmed.best.value:.4f} on its dev split (selected, "
        "biased upward)."
    )
