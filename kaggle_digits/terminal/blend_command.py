"""`kaggle-digits ensemble`: blend finished runs into one run, scored on the rows every member held out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..places import RUNS_DIR, SUBMISSIONS_DIR
from ..progress import esc
from ..usecases.blending import ensemble
from .app import RunsDir, SubmissionsDir, app, console
from .display import blend_table
from .signals import StopOnSignals


@app.command(name="ensemble")
def ensemble_runs(
    runs: Annotated[
        list[Path],
        typer.Argument(metavar="RUN...", help="Two or more finished runs (folders or names), of any kind or preset."),
    ],
    select: Annotated[
        bool, typer.Option("--select", help="Weights by Caruana's selection, its estimate scored nested.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show members, shared rows, estimate and weights; write nothing.")
    ] = False,
    name: Annotated[str | None, typer.Option("--name", help="Name of the blend's run folder and CSV.")] = None,
    runs_dir: RunsDir = RUNS_DIR,
    submissions_dir: SubmissionsDir = SUBMISSIONS_DIR,
) -> None:
    """Blend finished runs: average (or select) their softmax, estimate on rows every member held out, write a run."""
    with StopOnSignals(restore=lambda: None):  # SIGTERM and SIGHUP too: a half-written blend is removed, one line
        blended = ensemble(runs, runs_dir, submissions_dir, select=select, dry_run=dry_run, name=name)
    for warning in blended.plan.notes:
        console.print(f"[yellow]warning:[/] {esc(warning)}")
    console.print(blend_table(blended.plan, blended.outcome))
    if blended.outcome is None:
        console.print("Dry run: nothing written.")
    else:
        console.print(f"Wrote [bold]{esc(blended.outcome.submission_path)}[/]")
