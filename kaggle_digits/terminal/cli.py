"""The `kaggle-digits` command line: parse options, call the library, print the result."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text
from typer.core import TyperGroup

from .. import __version__
from ..allocator import keep_large_allocations
from ..competition.download import download_data
from ..competition.kaggle_api import COMPETITION, KaggleClient, credentials_source
from ..errors import KaggleDigitsError
from ..jobs.ensemble import combine_runs
from ..jobs.evaluation import evaluate_run, misclassified_picture
from ..jobs.inspect import digit_with_prediction
from ..jobs.overview import list_runs, remember_scores
from ..jobs.record import DataSource, read_record
from ..jobs.runs import load_run, resolve_run
from ..jobs.start import TrainRequest
from ..jobs.submit import check_daily_limit, limits_or_none, plan_submission, submissions_with_runs, wait_for_score
from ..jobs.train import predict_run, resume_run, train_run
from ..plots import show_png
from ..training.presets import KEEP, PRESETS, preset_config, preset_members
from .display import (
    PIPED_WIDTH,
    TrainingProgress,
    class_report_table,
    confusions_table,
    digit_text,
    runs_table,
    submissions_table,
    summary_table,
    top_probabilities,
)
from .signals import StopOnSignals

console = Console()
err_console = Console(stderr=True)


def plain_flags(command, ctx):
    """Flags take no value, so their help shows no type (Typer would print `<bool>`)."""
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return command


class HandledGroup(TyperGroup):
    """Every command's KaggleDigitsError becomes one line on stderr and its exit code (1, or 130/143 on a signal)."""

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        return command if command is None else plain_flags(command, ctx)

    def format_help(self, ctx, formatter):
        plain_flags(self, ctx)
        return super().format_help(ctx, formatter)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except KaggleDigitsError as exc:
            console.show_cursor(True)
            err_console.print(Text.assemble(("error: ", "bold red"), str(exc)), highlight=False, soft_wrap=True)
            raise typer.Exit(getattr(exc, "exit_code", 1)) from None


app = typer.Typer(
    cls=HandledGroup,
    help="Kaggle Digit Recognizer from zero to a scored submission, with NumPy networks written from scratch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder holding Kaggle's train.csv and test.csv.")]
Sample = Annotated[bool, typer.Option("--sample", help="Use the bundled 5,000-row sample (offline).")]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder of run folders.")]
NewRunsDir = Annotated[Path, typer.Option("--runs-dir", help="Where the new run folder goes.")]
SubmissionsDir = Annotated[Path, typer.Option("--submissions-dir", help="Where submission CSVs go.")]
RunArg = Annotated[Path | None, typer.Argument(help="A run folder (default: the newest under --runs-dir).")]
Tta = Annotated[
    int,
    typer.Option(
        "--tta",
        help="Test-time augmentation: average the softmax over N views (the image and N-1 one-pixel shifts); 1 is off.",
    ),
]


def show_version(value: bool) -> None:
    if value:
        console.print(f"kaggle-digits {__version__}")
        raise typer.Exit()


@app.callback()
def setup(
    version: Annotated[
        bool, typer.Option("--version", callback=show_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Kaggle Digit Recognizer from zero to a scored submission, with NumPy networks written from scratch."""
    keep_large_allocations()


def parse_hidden(text: str | None, option: str = "--hidden") -> tuple[int, ...] | None:
    """'512,256' → (512, 256): layer sizes (or conv channels for --channels)."""
    if text is None:
        return None
    example = "32,32,64,64" if option == "--channels" else "512,256"
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise KaggleDigitsError(f"{option} {text!r}: give sizes separated by commas, e.g. {example}") from None
    if not sizes:
        raise KaggleDigitsError(f"{option} {text!r}: give at least one size, e.g. {example}")
    return sizes


def parse_dev_size(text: str | None) -> float | None:
    """'0.1' → a fraction, '4200' → a row count, '0' → no dev rows; '1.0' or '2.5' is neither."""
    if text is None:
        return None
    fix = "use a fraction strictly between 0 and 1 (e.g. 0.1), a whole row count (e.g. 4200), or 0"
    try:
        value = float(text)
    except ValueError:
        raise KaggleDigitsError(f"--dev-size {text!r}: not a number; {fix}") from None
    whole = text.strip().isdigit()
    if not whole and not 0 < value < 1:
        raise KaggleDigitsError(f"--dev-size {text}: a fraction must lie strictly between 0 and 1; {fix}")
    return value


def data_source(sample: bool, data_dir: Path) -> DataSource:
    return DataSource.sample() if sample else DataSource.full(data_dir)


@app.command()
def train(
    preset: Annotated[str, typer.Option(help=f"Starting configuration: {', '.join(PRESETS)}.")] = "mlp",
    sample: Sample = False,
    data_dir: DataDir = Path("data"),
    epochs: Annotated[int | None, typer.Option(help="Epochs (full-batch presets: iterations).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Mini-batch size; 0 for full batch.")] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer sizes, e.g. 512,256.")] = None,
    channels: Annotated[
        str | None, typer.Option(help="cnn: channels of the 2 or 4 convolutions, e.g. 32,32,64,64.")
    ] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout rate after each hidden layer.")] = None,
    optimizer: Annotated[str | None, typer.Option(help="gd, momentum or adam.")] = None,
    schedule: Annotated[str | None, typer.Option(help="constant or cosine (with warm-up).")] = None,
    augment: Annotated[
        bool | None, typer.Option("--augment/--no-augment", help="Random shifts, rotations, zoom.", show_default=False)
    ] = None,
    elastic: Annotated[
        float | None,
        typer.Option(help="With --augment: elastic distortion of this strength (Simard's alpha, e.g. 24); 0 is off."),
    ] = None,
    label_smoothing: Annotated[
        float | None, typer.Option(help="Share of the target spread over all classes, e.g. 0.1.")
    ] = None,
    keep: Annotated[
        str | None, typer.Option(help=f"Weights to keep: {' or '.join(KEEP)} (best is chosen on the dev rows).")
    ] = None,
    average: Annotated[
        float | None,
        typer.Option(help="Keep a moving average of the weights with this decay, e.g. 0.999 (0: the last weights)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for split, init and shuffling.")] = None,
    split_seed: Annotated[int | None, typer.Option(help="Seed of the dev split only (default: --seed).")] = None,
    dev_size: Annotated[
        str | None,
        typer.Option(help="Dev split: a fraction in (0, 1) like 0.1, a whole row count like 4200, or 0 for none."),
    ] = None,
    ensemble: Annotated[
        int | None,
        typer.Option(
            help="Train K models (seeds seed..seed+K-1), average their softmax. Default: the preset's (1, best: 3).",
            show_default=False,
        ),
    ] = None,
    folds: Annotated[
        int,
        typer.Option(
            help="K-fold cross-validation: K models, each scored on the fold it never saw; the out-of-fold accuracy "
            "over every row is the estimate, the K models averaged make the submission. 0: a dev split."
        ),
    ] = 0,
    tta: Annotated[
        int | None,
        typer.Option(
            "--tta",
            help="Test-time augmentation for the estimate and the submission: average the softmax over N views (the "
            "image and N-1 one-pixel shifts), 1 to 9; 1 is off. Default: the preset's (fast: 5, others: 1).",
        ),
    ] = None,
    estimate_from: Annotated[
        Path | None,
        typer.Option(
            help="With --dev-size 0 (a final fit on every row, which has no held-out rows): take the estimate from "
            "this earlier run of the same configuration, e.g. its --folds 5 run."
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="A label for the run, used in its folder name.")] = "",
    note: Annotated[str, typer.Option(help="A free-text note kept in the run's record.")] = "",
    resume: Annotated[
        Path | None, typer.Option(help="Continue this interrupted run folder with its own configuration and data.")
    ] = None,
    runs_dir: NewRunsDir = Path("runs"),
    submissions_dir: SubmissionsDir = Path("submissions"),
) -> None:
    """Train on a stratified dev split, save the run (checkpointed every epoch) and write a submission CSV."""
    overrides = dict(
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch_size,
        hidden_sizes=parse_hidden(hidden),
        conv_channels=parse_hidden(channels, "--channels"),
        dropout=dropout,
        optimizer=optimizer,
        schedule=schedule,
        augment=augment,
        elastic=elastic,
        keep=keep,
        label_smoothing=label_smoothing,
        average=average,
        tta=tta,
        seed=seed,
        split_seed=split_seed,
        dev_size=parse_dev_size(dev_size),
    )
    if resume is not None:
        modes = {
            "--ensemble": ensemble is not None,
            "--folds": folds != 0,
            "--estimate-from": estimate_from,
        }
        given = [k for k, v in overrides.items() if v is not None] + [k for k, v in modes.items() if v]
        if given:
            raise KaggleDigitsError(f"--resume takes the run's own configuration; drop {', '.join(given)}")
        config, request = read_record(resume).config, None
    else:
        config = preset_config(preset, **overrides)
        request = TrainRequest(
            config=config,
            data=data_source(sample, data_dir),
            runs_root=runs_dir,
            submissions_dir=submissions_dir,
            members=preset_members(preset) if ensemble is None else ensemble,
            folds=folds,
            estimate_from=estimate_from,
            name=name,
            note=note,
        )
    with StopOnSignals(restore=lambda: console.show_cursor(True)), TrainingProgress(console, config) as progress:
        if request is None:
            outcome = resume_run(resume, progress, progress.stage)
        else:
            outcome = train_run(request, progress, progress.stage)
    console.print(summary_table(outcome))


@app.command()
def predict(
    run: Annotated[Path | None, typer.Argument(help="A run folder or its model.npz (default: the newest run).")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Submission CSV to write.")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Predict the bundled sample's test.csv.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder with test.csv (default: the run's own data).")
    ] = None,
    tta: Annotated[
        int | None, typer.Option("--tta", help="Test-time views, 1 to 9 (default: what the run used).")
    ] = None,
    runs_dir: RunsDir = Path("runs"),
    submissions_dir: SubmissionsDir = Path("submissions"),
) -> None:
    """Write a submission CSV for test.csv from a saved run."""
    loaded = load_run(resolve_run(run, runs_dir))
    folder = data_source(sample, data_dir).folder if (sample or data_dir) else loaded.record.data.folder
    path, labels = predict_run(
        loaded.path / "model.npz", folder, out or submissions_dir / f"{loaded.path.name}-predict.csv"
    )
    console.print(f"Wrote {len(labels):,} predictions to [bold]{path}[/]")


Competition = Annotated[str, typer.Option(help="Kaggle competition slug.")]
Verbose = Annotated[bool, typer.Option("--verbose", help="Say where credentials come from (never their values).")]


def kaggle_client(competition: str, verbose: bool) -> KaggleClient:
    """The Kaggle adapter; with --verbose, first say which credentials it will use."""
    if verbose:
        console.print(f"Kaggle competition {competition!r}; credentials from {credentials_source()}", highlight=False)
    return KaggleClient(competition)


@app.command()
def download(
    competition: Competition = COMPETITION,
    data_dir: DataDir = Path("data"),
    force: Annotated[bool, typer.Option("--force", help="Download again even if valid files are present.")] = False,
    verbose: Verbose = False,
) -> None:
    """Download the competition files with the official Kaggle client, check them, extract atomically."""
    outcome = download_data(kaggle_client(competition, verbose), data_dir, force=force)
    counts = ", ".join(f"{name} {n:,} rows" for name, n in outcome.rows.items())
    if outcome.downloaded:
        console.print(f"Downloaded {competition} into [bold]{data_dir}[/]: {counts}")
    else:
        console.print(f"{data_dir} already holds valid competition files ({counts}); nothing to do (--force to redo)")


@app.command()
def submit(
    target: Annotated[
        Path | None,
        typer.Argument(
            metavar="[FILE | RUN]",
            help="A submission CSV or a run folder (default: the newest finished run on the full data).",
        ),
    ] = None,
    message: Annotated[str, typer.Option("-m", "--message", help="Description shown on Kaggle.")] = "",
    wait: Annotated[bool, typer.Option("--wait", help="Wait until Kaggle has scored it.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Do every check, print the plan, send nothing.")] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send a file from a --sample or unfinished run, named explicitly.")
    ] = False,
    timeout: Annotated[float, typer.Option(help="Seconds --wait waits at most.")] = 600.0,
    poll: Annotated[float, typer.Option(help="Seconds between checks while waiting.")] = 5.0,
    competition: Competition = COMPETITION,
    data_dir: DataDir = Path("data"),
    runs_dir: RunsDir = Path("runs"),
    verbose: Verbose = False,
) -> None:
    """Check a submission against the competition's test ids, upload it to Kaggle, optionally wait for its score."""
    plan = plan_submission(target, data_dir=data_dir, runs_root=runs_dir, force=force)
    console.print(f"{'Would submit' if dry_run else 'Submitting'} {plan.line()}", highlight=False)
    if dry_run:
        return
    client = kaggle_client(competition, verbose)
    check_daily_limit(client)
    ref, reply = client.submit(plan.path, message or f"kaggle-digits {plan.path.name}")
    console.print(f"Submitted [bold]{plan.path}[/] as #{ref}: {reply}")
    if limits := limits_or_none(client):
        console.print(f"Submissions today: {limits.used_today}; Kaggle accepts {limits.allowed_now} more now.")
    if wait:
        scored = wait_for_score(client, ref, timeout=timeout, poll=poll)
        console.print(f"Public score of #{ref}: [bold green]{scored.public_score}[/]")


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


@app.command()
def runs(
    sort: Annotated[str, typer.Option(help="newest (first) or estimate (best first).")] = "newest",
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Local runs side by side: data, mode, progress, status, estimate, public score (from the last `submissions`)."""
    out = console if console.is_terminal else Console(width=PIPED_WIDTH)  # piped output is not cut to 80 columns
    out.print(runs_table(list_runs(runs_dir, sort), runs_dir, out.width))


@app.command(name="ensemble")
def ensemble_runs(
    runs: Annotated[list[Path], typer.Argument(help="Two or more run folders trained on the same dev split.")],
    tta: Tta = 1,
    runs_dir: NewRunsDir = Path("runs"),
    submissions_dir: SubmissionsDir = Path("submissions"),
) -> None:
    """Combine saved runs: average their softmax, score the ensemble on dev, write its run and submission."""
    loaded = [load_run(resolve_run(r, runs_dir)) for r in runs]
    outcome = combine_runs(loaded, runs_root=runs_dir, submissions_dir=submissions_dir, views=tta)
    console.print(summary_table(outcome))


@app.command()
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
    outcome = misclassified_picture(
        load_run(resolve_run(run, runs_dir)), limit=limit, true_digit=true, predicted_digit=pred, out=out
    )
    console.print(confusions_table(outcome.confusions))
    console.print(f"{outcome.total_wrong} of {outcome.dev_size:,} dev images misclassified; {outcome.matching} match.")
    if not outcome.shown:
        console.print("Nothing to draw: no misclassified image matches.")
        return
    console.print(f"Wrote {outcome.shown} tiles to [bold]{outcome.path}[/]")
    if show and not show_png(outcome.path):
        console.print("No display found; open the PNG above instead.")


@app.command()
def evaluate(run: RunArg = None, runs_dir: RunsDir = Path("runs")) -> None:
    """Per-class precision/recall/F1 on the dev split; confusion.png and curves.png beside the model."""
    loaded = load_run(resolve_run(run, runs_dir))
    outcome = evaluate_run(loaded)
    console.print(class_report_table(outcome.report, outcome.accuracy, f"{loaded.path.name} on its dev split"))
    for path in (outcome.confusion_path, outcome.curves_path, outcome.json_path):
        if path is not None:
            console.print(f"Wrote [bold]{path}[/]")


@app.command()
def show(
    image_id: Annotated[int, typer.Argument(metavar="ID", help="ImageId in test.csv, or 1-based row of train.csv.")],
    train: Annotated[bool, typer.Option("--train/--test", help="Read train.csv instead of test.csv.")] = False,
    run: Annotated[Path | None, typer.Option(help="Run whose model predicts (default: the newest).")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Read the bundled sample.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder with the CSVs (default: the run's own data).")
    ] = None,
    runs_dir: RunsDir = Path("runs"),
) -> None:
    """Draw one digit in the terminal with the model's top-3 probabilities."""
    folder = data_source(sample, data_dir).folder if (sample or data_dir) else None
    found = digit_with_prediction(image_id, from_train=train, folder=folder, run=run, runs_root=runs_dir)
    console.print(found.caption, highlight=False)
    console.print(digit_text(found.image, colour=console.color_system is not None), end="")
    if found.proba is None:
        console.print("No trained run to predict with; `kaggle-digits train` makes one.")
        return
    console.print(f"model: {found.run_name}")
    console.print(top_probabilities(found.proba))
