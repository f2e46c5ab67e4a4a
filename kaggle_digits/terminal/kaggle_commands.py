"""Commands that talk to Kaggle through the official client: `download`, `submit`, `submissions`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ..competition.kaggle_api import COMPETITION, KaggleClient
from ..errors import KaggleDigitsError
from ..places import DATA_DIR, RUNS_DIR
from ..progress import esc
from ..usecases import kaggle
from .app import DataDir, RunsDir, app, console, needs, one_of
from .display import submissions_table

Competition = Annotated[str, typer.Option(help="Kaggle competition slug.")]
Verbose = Annotated[bool, typer.Option("--verbose", help="Say where credentials come from (never their values).")]


def say_credentials(competition: str) -> KaggleClient:
    """--verbose: the Kaggle adapter, after saying where its credentials come from (never their values)."""
    client, source = kaggle.client(competition)
    console.print(f"Kaggle competition {esc(competition)}; credentials from {esc(source)}", highlight=False)
    return client


@app.command()
def download(
    ctx: typer.Context,
    competition: Competition = COMPETITION,
    data_dir: DataDir = DATA_DIR,
    force: Annotated[bool, typer.Option("--force", help="Download again even if valid files are present.")] = False,
    source: Annotated[
        Path | None,
        typer.Option(
            "--from",
            metavar="PATH",
            help="Take the files from the zip Kaggle's website saved, or a folder of its CSVs (a Kaggle notebook's "
            "/kaggle/input/digit-recognizer); no credentials needed.",
        ),
    ] = None,
    verbose: Verbose = False,
) -> None:
    """Download the competition files with the official Kaggle client, check them, extract atomically."""
    one_of(ctx, "source", "competition")
    one_of(ctx, "source", "verbose")
    client = say_credentials(competition) if verbose else None
    outcome = kaggle.download(data_dir, competition, force=force, source=source, kaggle=client)
    counts = ", ".join(f"{name} {n:,} rows" for name, n in outcome.rows.items())
    if outcome.downloaded and source is not None:
        console.print(
            f"Checked and copied the competition files from {esc(source)} into [bold]{esc(data_dir)}[/]: {counts}"
        )
    elif outcome.downloaded:
        console.print(f"Downloaded {esc(competition)} into [bold]{esc(data_dir)}[/]: {counts}")
    else:
        console.print(
            f"{esc(data_dir)} already holds valid competition files ({counts}); nothing to do (--force to redo)"
        )


@app.command()
def submit(
    ctx: typer.Context,
    target: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE | RUN]",
            help="A submission CSV, or a run folder or name (default: the newest finished run on the full data).",
        ),
    ] = None,
    message: Annotated[str, typer.Option("-m", "--message", help="Description shown on Kaggle.")] = "",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until Kaggle has scored it.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Do every check, print the plan, send nothing.")] = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Send a file no finished full-data run wrote: a --sample or unfinished run's, or one edited by hand.",
        ),
    ] = False,
    timeout: Annotated[float, typer.Option(help="With --wait: seconds to wait at most.")] = 600.0,
    poll: Annotated[float, typer.Option(help="With --wait: seconds between checks.")] = 5.0,
    competition: Competition = COMPETITION,
    data_dir: DataDir = DATA_DIR,
    runs_dir: RunsDir = RUNS_DIR,
    verbose: Verbose = False,
) -> None:
    """Check a submission against the competition's test ids, upload it to Kaggle, optionally wait for its score."""
    needs(ctx, "wait", "timeout", "poll")
    if dry_run and wait:
        raise KaggleDigitsError("--dry-run and --wait: choose one; a dry run sends nothing to wait for")
    plan = kaggle.submission_plan(target, data_dir, runs_dir, force=force, dry_run=dry_run)
    text = message or kaggle.default_message(plan)
    if dry_run:
        console.print(rehearsal(plan, competition, text), highlight=False)
        if verbose:
            console.print("No credentials needed: a dry run contacts nothing.")
        return
    client = say_credentials(competition) if verbose else kaggle.client(competition)[0]
    console.print(f"Submitting {esc(plan.line())}", highlight=False)
    sent = kaggle.send(plan, client, text)
    console.print(f"Submitted [bold]{esc(plan.path)}[/] as #{sent.ref}: {esc(sent.reply)}")
    if sent.limits:
        console.print(
            f"Submissions today: {sent.limits.used_today}; Kaggle accepts {sent.limits.allowed_now} more now."
        )
    if wait:
        scored = kaggle.score(client, sent.ref, timeout=timeout, poll=poll)
        console.print(f"Public score of #{sent.ref}: [bold green]{esc(scored.public_score)}[/]")


def rehearsal(plan, competition: str, text: str) -> Text:
    """What a real submit would do with this file, every check walked: send it, or refuse it and why."""
    lines = Text()
    lines.append(f"Dry run (nothing is sent): {plan.line()}\n")
    lines.append(f"Checked: {plan.rows:,} rows, ids and labels against {plan.checked_against}\n")
    if plan.refused:
        lines.append("Would refuse it: ", style="yellow")
        lines.append(plan.refused)
    else:
        lines.append(f"Would submit it to {competition} as {text!r}")
    return lines


@app.command()
def submissions(
    limit: Annotated[int, typer.Option(help="How many recent submissions to show.")] = 20,
    competition: Competition = COMPETITION,
    runs_dir: RunsDir = RUNS_DIR,
    verbose: Verbose = False,
) -> None:
    """Your recent Kaggle submissions, beside the local run (preset, estimate) that wrote each file."""
    client = say_credentials(competition) if verbose else None
    rows = kaggle.submissions(limit, competition, runs_dir, kaggle=client)
    console.print(submissions_table(rows, competition))
