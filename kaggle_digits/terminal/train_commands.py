"""Commands that train or predict: `train` (and `--resume`), `predict`."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Annotated, Literal

import typer

from ..errors import KaggleDigitsError
from ..nn.optim import OPTIMIZERS, SCHEDULES
from ..places import DATA_DIR, RUNS_DIR, SUBMISSIONS_DIR
from ..progress import TrainingProgress, esc
from ..training.config import KEEP, TrainConfig
from ..training.presets import PRESETS
from ..usecases import inspecting, training
from .app import (
    DataDir,
    NewRunsDir,
    RunArg,
    RunOption,
    RunsDir,
    Sample,
    SubmissionsDir,
    app,
    chosen_run,
    console,
    given,
    one_of,
    parse_betas,
    parse_dev_size,
    parse_sizes,
)
from .display import summary_table
from .signals import StopOnSignals

# The choices help lists and the shell completes, from the one place each is declared.
Preset = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
Optimizer = Literal[tuple(OPTIMIZERS)]  # type: ignore[valid-type]
Schedule = Literal[tuple(SCHEDULES)]  # type: ignore[valid-type]
Keep = Literal[tuple(KEEP)]  # type: ignore[valid-type]


@app.command()
def train(
    ctx: typer.Context,
    preset: Annotated[Preset, typer.Option(help="Starting configuration.")] = "mlp",
    sample: Sample = False,
    data_dir: DataDir = DATA_DIR,
    epochs: Annotated[int | None, typer.Option(help="Epochs (full-batch presets: iterations).")] = None,
    lr: Annotated[float | None, typer.Option("--lr", help="Peak learning rate.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Mini-batch size; 0 for full batch.")] = None,
    hidden: Annotated[str | None, typer.Option(help="Hidden layer sizes, e.g. 512,256.")] = None,
    channels: Annotated[
        str | None, typer.Option(help="cnn: channels of the 2 or 4 convolutions, e.g. 32,32,64,64.")
    ] = None,
    dropout: Annotated[float | None, typer.Option(help="Dropout rate after each hidden layer.")] = None,
    optimizer: Annotated[Optimizer | None, typer.Option(help="The update rule.")] = None,
    schedule: Annotated[
        Schedule | None, typer.Option(help="Learning rate: constant, cosine after warm-up, or one-cycle.")
    ] = None,
    betas: Annotated[str | None, typer.Option(help="Adam's two moment decays, e.g. 0.9,0.999.")] = None,
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
    weight_decay: Annotated[
        float | None, typer.Option(help="L2 weight decay (decoupled with adam), e.g. 0.0001; 0 is off.")
    ] = None,
    keep: Annotated[
        Keep | None, typer.Option(help="Weights to keep: the last epoch's, or the best on the held-out rows.")
    ] = None,
    average: Annotated[
        float | None,
        typer.Option(help="Keep a moving average of the weights with this decay, e.g. 0.999 (0: the last weights)."),
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Seed for split, init and shuffling.")] = None,
    split_seed: Annotated[
        int | None, typer.Option(help="Seed of the dev split or folds only (default: --seed).")
    ] = None,
    dev_size: Annotated[
        str | None,
        typer.Option(help="Held-out rows: a fraction in (0, 1) like 0.1, a whole row count like 4200, or 0 for none."),
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
    jobs: Annotated[
        int | None,
        typer.Option(
            help="Networks (folds, members) trained side by side, each in its own process on its share of the "
            "cores. Default: one per core, at most one per network.",
            show_default=False,
        ),
    ] = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            help="Train the networks on the workers of this Dask scheduler (tcp://HOST:8786; default: "
            "DASK_SCHEDULER_ADDRESS when set); the run's files stay here. Needs kaggle-digits[cluster] here and on "
            "every worker.",
            show_default=False,
        ),
    ] = None,
    name: Annotated[str, typer.Option(help="A name for the run's folder and submission (default: the preset).")] = "",
    note: Annotated[str, typer.Option(help="A free-text note kept in the run's record.")] = "",
    resume: Annotated[
        Path | None,
        typer.Option(help="Continue this interrupted run folder with its own settings and data (no other option)."),
    ] = None,
    runs_dir: NewRunsDir = RUNS_DIR,
    submissions_dir: SubmissionsDir = SUBMISSIONS_DIR,
) -> None:
    """Train, save the run (checkpointed as it goes) with its honest estimate, and write a submission CSV."""
    if resume is not None:
        if others := [flag for flag in given(ctx) if flag not in ("--resume", "--jobs", "--cluster")]:
            raise KaggleDigitsError(f"--resume continues a run with its own settings; drop {', '.join(others)}")
        record = training.stopped_run(resume)
        job = functools.partial(training.resume, resume, jobs, cluster=cluster)
        return show_training(job, record.config, record.folds, record.networks)
    one_of(ctx, "sample", "data_dir")
    request = training.train_request(
        preset,
        training.data_source(sample, None if sample else data_dir),
        **{option: ctx.params[option] for option in training.RUN_OPTIONS},
        epochs=epochs,
        learning_rate=lr,
        batch_size=batch_size,
        hidden_sizes=parse_sizes(hidden, "--hidden"),
        conv_channels=parse_sizes(channels, "--channels"),
        dropout=dropout,
        optimizer=optimizer,
        adam_betas=parse_betas(betas),
        schedule=schedule,
        augment=augment,
        elastic=elastic,
        keep=keep,
        label_smoothing=label_smoothing,
        weight_decay=weight_decay,
        average=average,
        tta=tta,
        seed=seed,
        split_seed=split_seed,
        dev_size=parse_dev_size(dev_size),
    )
    show_training(functools.partial(training.train, request), request.config, request.folds, request.networks)


def show_training(job, config: TrainConfig, folds: int, networks: int) -> None:
    """Run a train job with the live display, stopping on a signal, then print the run's summary."""
    stop = StopOnSignals(restore=lambda: console.show_cursor(True))
    with stop, TrainingProgress(console, config, folds, networks) as progress:
        outcome = job(progress, progress.stage)
    console.print(summary_table(outcome))


@app.command()
def predict(
    ctx: typer.Context,
    alias: RunArg = None,
    run: RunOption = None,
    out: Annotated[Path | None, typer.Option("--out", help="Submission CSV to write (replaced if it exists).")] = None,
    sample: Annotated[bool, typer.Option("--sample", help="Predict the bundled sample's test.csv.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder with test.csv (default: the run's own data).")
    ] = None,
    tta: Annotated[
        int | None, typer.Option("--tta", help="Test-time views, 1 to 9 (default: what the run used).")
    ] = None,
    runs_dir: RunsDir = RUNS_DIR,
    submissions_dir: Annotated[
        Path, typer.Option("--submissions-dir", help="Where the CSV goes when --out is not given.")
    ] = SUBMISSIONS_DIR,
) -> None:
    """Write a submission CSV for test.csv from a saved run."""
    one_of(ctx, "sample", "data_dir")
    one_of(ctx, "out", "submissions_dir")
    loaded = inspecting.finished_run(chosen_run(ctx, alias, run), runs_dir)
    source = training.data_source(sample, data_dir) if (sample or data_dir) else None
    path, labels = inspecting.predict(loaded, source, out, views=tta, submissions_dir=submissions_dir)
    console.print(f"Wrote {len(labels):,} predictions to [bold]{esc(path)}[/]")
