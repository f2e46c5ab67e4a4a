"""The `kaggle-digits` command line: parse options, call the library, print the result."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated

import numpy as np
import typer
from rich.console import Console
from rich.text import Text

from .. import data as data_module
from ..allocator import keep_large_allocations
from ..competition.download import download_data
from ..competition.kaggle_api import COMPETITION, KaggleClient, credentials_source
from ..errors import KaggleDigitsError
from ..jobs.ensemble import combine_runs
from ..jobs.evaluation import evaluate_run, misclassified_picture
from ..jobs.runs import load_run, resolve_run
from ..jobs.submit import (
    limits_or_none,
    newest_submission,
    submissions_with_runs,
    validate_for_upload,
    wait_for_score,
)
from ..jobs.train import predict_run, train_run
from ..plots import show_png
from ..training.presets import PRESETS, preset_config
from .display import (
    TrainingProgress,
    class_report_table,
    confusions_table,
    digit_text,
    submissions_table,
    summary_table,
    top_probabilities,
)

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
SubmissionsDir = Annotated[Path, typer.Option("--submissions-dir", help="Where submission CSVs go.")]


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
            err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False, soft_wrap=True)
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
    split_seed: Annotated[int | None, typer.Option(help="Seed of the dev split only (default: --seed).")] = None,
    dev_size: Annotated[float | None, typer.Option(help="Dev split: a fraction like 0.1, or a row count.")] = None,
    ensemble: Annotated[int, typer.Option(help="Train K models (seeds seed..seed+K-1), average their softmax.")] = 1,
    runs_dir: RunsDir = Path("runs"),
    submissions_dir: SubmissionsDir = Path("submissions"),
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
        split_seed=split_seed,
        dev_size=dev_size,
    )
    source = data_module.sample_dir() if sample else data_dir
    label = "bundled sample" if sample else str(data_dir)
    with TrainingProgress(console, config) as progress:
        outcome = train_run(config, source, runs_dir, submissions_dir, progress, progress.stage, label, ensemble)
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
Verbose = Annotated[bool, typer.Option("--verbose", help="Say where credentials come from (never their values).")]


def kaggle_client(competition: str, verbose: bool) -> KaggleClient:
    """The Kaggle adapter; with --verbose, first say which credentials it will use."""
    if verbose:
        console.print(f"Kaggle competition {competition!r}; credentials from {credentials_source()}", highlight=False)
    return KaggleClient(competition)


@app.command()
@user_errors
def download(
    competition: Competition = COMPETITION,
    data_dir: DataDir = Path("data"),
    force: Annotated[bool, typer.Option("--force", help="Download again even if valid files are present.")] = False,
    verbose: Verbose = False,
) -> None:
    """Download the competition files with the official Kaggle client, check them, extract atomically."""
    outcome = download_data(kaggle_client(competition, verbose), data_dir, force)
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
    verbose: Verbose = False,
) -> None:
    """Check a submission CSV, upload it to Kaggle, and optionally wait for its public score."""
    path = file or newest_submission(submissions_dir)
    rows = validate_for_upload(path, data_dir)
    client = kaggle_client(competition, verbose)
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
    verbose: Verbose = False,
) -> None:
    """Your recent Kaggle submissions, beside the local run (preset, dev accuracy) that wrote each file."""
    rows = submissions_with_runs(kaggle_client(competition, verbose), runs_dir, limit)
    console.print(submissions_table(rows, competition))


@app.command(name="ensemble")
@user_errors
def ensemble_runs(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders trained on the same dev split.")],
    runs_dir: RunsDir = Path("runs"),
    submissions_dir: SubmissionsDir = Path("submissions"),
) -> None:
    """Combine saved runs: average their softmax, score the ensemble on dev, write its run and submission."""
    outcome = combine_runs([load_run(resolve_run(r, runs_dir)) for r in runs], runs_dir, submissions_dir)
    console.print(summary_table(outcome))


RunArg = Annotated[Path | None, typer.Argument(help="A run folder (default: the newest under --runs-dir).")]


@app.command()
@user_errors
def misclassified(
    run: RunArg = None,
    limit: Annotated[int, typer.Option(help="Most tiles in the grid.")] = 64,
    true: Annotated[int | None, typer.Option("--true", help="Only images of this true digit.")] = None,
    pred: Annotated[int | None, typer.Option("--pred", help="Only images predicted as this digit.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="PNG to write (default: in the run folder).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Open the picture in a window when a display exists.")] = False,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """A PNG grid of the dev images the model gets wrong, most confident mistakes first."""
    outcome = misclassified_picture(load_run(resolve_run(run, runs_dir)), limit, true, pred, out)
    console.print(confusions_table(outcome.confusions))
    console.print(f"{outcome.total_wrong} of {outcome.dev_size:,} dev images misclassified; {outcome.matching} match.")
    if not outcome.shown:
        console.print("Nothing to draw: no misclassified image matches.")
        return
    console.print(f"Wrote {outcome.shown} tiles to [bold]{outcome.path}[/]")
    if show and not show_png(outcome.path):
        console.print("No display found; open the PNG above instead.")


@app.command()
@user_errors
def evaluate(run: RunArg = None, runs_dir: RunsDir = Path("runs")) -> None:
    """Per-class precision/recall/F1 on the dev split; confusion.png and curves.png beside the model."""
    loaded = load_run(resolve_run(run, runs_dir))
    outcome = evaluate_run(loaded)
    console.print(class_report_table(outcome.report, outcome.accuracy, f"{loaded.path.name} on its dev split"))
    for path in (outcome.confusion_path, outcome.curves_path, outcome.json_path):
        if path is not None:
            console.print(f"Wrote [bold]{path}[/]")


@app.command()
@user_errors
def show(
    image_id: Annotated[int, typer.Argument(metavar="ID", help="ImageId in test.csv, or 1-based row of train.csv.")],
    train: Annotated[bool, typer.Option("--train/--test", help="Read train.csv instead of test.csv.")] = False,
    run: Annotated[Path | None, typer.Option(help="Run whose model predicts (default: the newest).")] = None,
    data_dir: DataDir = Path("data"),
    sample: Annotated[bool, typer.Option("--sample", help="Read the bundled sample.")] = False,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Draw one digit in the terminal with the model's top-3 probabilities."""
    folder = data_module.sample_dir() if sample else data_dir
    digits = data_module.load_train(folder) if train else data_module.load_test(folder)
    if not 1 <= image_id <= len(digits):
        raise KaggleDigitsError(f"ID {image_id}: {digits.path} has images 1..{len(digits)}")
    image = digits.images[image_id - 1]
    label = f", label {digits.labels[image_id - 1]}" if digits.labels is not None else ""
    console.print(f"{digits.path} #{image_id}{label}")
    console.print(digit_text(image, colour=console.color_system is not None), end="")
    if run is None and not any(runs_dir.glob("*/model.npz")):
        console.print("No trained run to predict with; `kaggle-digits train` makes one.")
        return
    loaded = load_run(resolve_run(run, runs_dir))
    console.print(f"model: {loaded.path.name}")
    console.print(top_probabilities(loaded.network.predict_proba(digits.features(np.array([image_id - 1])))[0]))


def main() -> None:
    app()
