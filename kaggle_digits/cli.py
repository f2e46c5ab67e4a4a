"""The `kaggle-digits` command line: parse options, call the library, print the result."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import data as data_module
from .allocator import keep_large_allocations
from .competition import (
    download_data,
    limits_or_none,
    newest_submission,
    submissions_with_runs,
    validate_for_upload,
    wait_for_score,
)
from .display import TrainingProgress, submissions_table, summary_table
from .errors import KaggleDigitsError
from .kaggle_api import COMPETITION, KaggleClient
from .presets import PRESETS, preset_config
from .runs import resolve_run
from .workflow import predict_run, train_run

app = typer.Typer(
    help="Kaggle Digit Recognizer from zero to a scored submission, with NumPy networks written from scratch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder holding Kaggle's train.csv and test.csv.")]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Where run folders (model.npz, metrics.json) go.")]


@app.callback()
def setup() -> None:
    """Kaggle Digit Recognizer from zero to a scored submission, with NumPy networks written from scratch."""
    keep_large_allocations()


def user_errors(command):
    """Turn the project's exception into one red line on stderr and exit code 1 (no traceback)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except KaggleDigitsError as exc:
            err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
            raise typer.Exit(1) from None

    return wrapper


def parse_hidden(text: str | None) -> tuple[int, ...] | None:
    """'512,256' → (512, 256)."""
    if text is None:
        return None
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise KaggleDigitsError(f"--hidden {text!r}: give layer sizes separated by commas, e.g. 512,256") from None
    if not sizes:
        raise KaggleDigitsError(f"--hidden {text!r}: give at least one layer size, e.g. 512,256")
    return sizes


@app.command()
@user_errors
def train(
    preset: Annotated[str, typer.Option(help=f"Starting configuration: {', '.join(PRESETS)}.")] = "mlp",
    sample: Annotated[bool, typer.Option("--sample", help="Use the bundled 5,000-row sample (offline).")] = False,
    data_dir: DataDir = Path("data"),
    epochs: Annotated[int | None, typer.Option(help="Epochs (full-batch presets: iterations).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Mini-batch size; 0 for full batch.")] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer sizes, e.g. 512,256.")] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout rate after each hidden layer.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="gd, momentum or adam.")] = None,
    schedule: Annotated[str | None, typer.Option(help="constant or cosine (with warm-up).")] = None,
    augment: Annotated[
        bool | None, typer.Option("--augment/--no-augment", help="Random shifts, rotations, zoom.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for split, init and shuffling.")] = None,
    dev_size: Annotated[float | None, typer.Option(help="Dev split: a fraction like 0.1, or a row count.")] = None,
    runs_dir: RunsDir = Path("runs"),
    submissions_dir: Annotated[Path, typer.Option(help="Where submission CSVs go.")] = Path("submissions"),
) -> None:
    """Train on a stratified dev split, keep the best weights, save the run and write a submission CSV."""
    config = preset_config(
        preset,
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch_size,
        hidden_sizes=parse_hidden(hidden),
        dropout=dropout,
        optimizer=optimizer,
        schedule=schedule,
        augment=augment,
        seed=seed,
        dev_size=dev_size,
    )
    source = data_module.sample_dir() if sample else data_dir
    label = "bundled sample" if sample else str(data_dir)
    with TrainingProgress(console, config) as progress:
        outcome = train_run(config, source, runs_dir, submissions_dir, progress, progress.stage, label)
    console.print(summary_table(outcome))


@app.command()
@user_errors
def predict(
    model: Annotated[Path, typer.Argument(help="A model.npz, or a run folder holding one.")],
    out: Annotated[Path | None, typer.Option("--out", help="Submission CSV to write.")] = None,
    data_dir: DataDir = Path("data"),
    sample: Annotated[bool, typer.Option("--sample", help="Predict the bundled sample's test.csv.")] = False,
) -> None:
    """Write a submission CSV for test.csv from a saved model."""
    run_dir = resolve_run(model, Path("runs"))
    out = out or Path("submissions") / f"{run_dir.name}-predict.csv"
    path, labels = predict_run(run_dir / "model.npz", data_module.sample_dir() if sample else data_dir, out)
    console.print(f"Wrote {len(labels):,} predictions to [bold]{path}[/]")


Competition = Annotated[str, typer.Option(help="Kaggle competition slug.")]


@app.command()
@user_errors
def download(
    competition: Competition = COMPETITION,
    data_dir: DataDir = Path("data"),
    force: Annotated[bool, typer.Option("--force", help="Download again even if valid files are present.")] = False,
) -> None:
    """Download the competition files with the official Kaggle client, check them, extract atomically."""
    outcome = download_data(KaggleClient(competition), data_dir, force)
    counts = ", ".join(f"{name} {n:,} rows" for name, n in outcome.rows.items())
    if outcome.downloaded:
        console.print(f"Downloaded {competition} into [bold]{data_dir}[/]: {counts}")
    else:
        console.print(f"{data_dir} already holds valid competition files ({counts}); nothing to do (--force to redo)")


@app.command()
@user_errors
def submit(
    file: Annotated[Path | None, typer.Argument(help="Submission CSV (default: newest in submissions/).")] = None,
    message: Annotated[str, typer.Option("-m", "--message", help="Description shown on Kaggle.")] = "",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until Kaggle has scored it.")] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 600.0,
    poll: Annotated[float, typer.Option(help="Seconds between checks while waiting.")] = 5.0,
    competition: Competition = COMPETITION,
    data_dir: DataDir = Path("data"),
    submissions_dir: Annotated[Path, typer.Option(help="Where to look for the newest CSV.")] = Path("submissions"),
) -> None:
    """Check a submission CSV, upload it to Kaggle, and optionally wait for its public score."""
    path = file or newest_submission(submissions_dir)
    rows = validate_for_upload(path, data_dir)
    client = KaggleClient(competition)
    ref, reply = client.submit(path, message or f"kaggle-digits {path.name}")
    console.print(f"Submitted [bold]{path}[/] ({rows:,} rows) as #{ref}: {reply}")
    if limits := limits_or_none(client):
        console.print(f"Submissions today: {limits.used_today}; Kaggle accepts {limits.allowed_now} more now.")
    if wait:
        scored = wait_for_score(client, ref, timeout, poll)
        console.print(f"Public score of #{ref}: [bold green]{scored.public_score}[/]")


@app.command()
@user_errors
def submissions(
    limit: Annotated[int, typer.Option(help="How many recent submissions to show.")] = 20,
    competition: Competition = COMPETITION,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Your recent Kaggle submissions, beside the local run (preset, dev accuracy) that wrote each file."""
    rows = submissions_with_runs(KaggleClient(competition), runs_dir, limit)
    console.print(submissions_table(rows, competition))


def main() -> None:
    app()
