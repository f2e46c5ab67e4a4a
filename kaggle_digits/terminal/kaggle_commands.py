"""Commands that talk to Kaggle through the official client: `download`, `submit`, `submissions`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ..competition.download import data_from, download_data
from ..competition.kaggle_api import COMPETITION, KaggleClient, credentials_source
from ..competition.submit import (
    check_daily_limit,
    limits_or_none,
    plan_submission,
    submissions_with_runs,
    wait_for_score,
)
from ..errors import KaggleDigitsError
from ..progress import esc
from ..runfolder.listing import remember_scores
from .app import DataDir, RunsDir, app, console, needs, one_of
from .display import submissions_table

Competition = Annotated[str, typer.Option(help="Kaggle competition slug.")]
Verbose = Annotated[bool, typer.Option("--verbose", help="Say where credentials come from (never their values).")]


def kaggle_client(competition: str, verbose: bool) -> KaggleClient:
    """The Kaggle adapter, after checking that credentials exist; with --verbose, say where they come from."""
    source = credentials_source()
    if verbose:
        console.print(f"Kaggle competition {esc(competition)}; credentials from {esc(source)}", highlight=False)
    return KaggleClient(competition)


@app.command()
def download(
    ctx: typer.Context,
    competition: Competition = COMPETITION,
    data_dir: DataDir = Path("data"),
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
    if source is not None:
        outcome = data_from(source, data_dir, force=force)
    else:
        outcome = download_data(kaggle_client(competition, verbose), data_dir, force=force)
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
    data_dir: DataDir = Path("data"),
    runs_dir: RunsDir = Path("runs"),
    verbose: Verbose = False,
) -> None:
    """Check a submission against the competition's test ids, upload it to Kaggle, optionally wait for its score."""
    needs(ctx, "wait", "timeout", "poll")
    if dry_run and wait:
        raise KaggleDigitsError("--dry-run and --wait: choose one; a dry run sends nothing to wait for")
    plan = plan_submission(target, data_dir=data_dir, runs_root=runs_dir, force=force, rehearse=dry_run)
    text = message or f"kaggle-digits {plan.path.name}"
    if dry_run:
        console.print(rehearsal(plan, competition, text), highlight=False)
        if verbose:
            console.print("No credentials needed: a dry run contacts nothing.")
        return
    client = kaggle_client(competition, verbose)
    console.print(f"Submitting {esc(plan.line())}", highlight=False)
    check_daily_limit(client)
    ref, reply = client.submit(plan.path, text)
    console.print(f"Submitted [bold]{esc(plan.path)}[/] as #{ref}: {esc(reply)}")
    if limits := limits_or_none(client):
        console.print(f"Submissions today: {limits.used_today}; Kaggle accepts {limits.allowed_now} more now.")
    if wait:
        scored = wait_for_score(client, ref, timeout=timeout, poll=poll)
        console.print(f"Public score of #{ref}: [bold green]{esc(scored.public_score)}[/]")


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
    runs_dir: RunsDir = Path("runs"),
    verbose: Verbose = False,
) -> None:
    """Your recent Kaggle submissions, beside the local run (preset, estimate) that wrote each file."""
    rows = submissions_with_runs(kaggle_client(competition, verbose), runs_root=runs_dir, limit=limit)
    remember_scores(runs_dir, [row.remote for row in rows])
    console.print(submissions_table(rows, competition))
