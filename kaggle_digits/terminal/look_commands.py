"""Commands that look at saved runs: `runs`, `misclassified`, `evaluate`, `show`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from ..errors import KaggleDigitsError
from ..inspection.listing import SORTS
from ..pipeline.curves import held_out_name
from ..places import RUNS_DIR
from ..plots import show_png
from ..progress import ToolConsole, esc
from ..usecases import inspecting, training
from .app import RunArg, RunOption, RunsDir, app, chosen_run, console, given, one_of
from .digits import digit_text, top_probabilities
from .display import PIPED_WIDTH, class_report_table, confusions_table, runs_table

Sort = Literal[tuple(SORTS)]  # type: ignore[valid-type]


@app.command()
def runs(
    sort: Annotated[Sort, typer.Option(help="newest first, or best estimate first.")] = "newest",
    runs_dir: RunsDir = RUNS_DIR,
) -> None:
    """Local runs side by side: data, mode, progress, status, estimate, public score (from the last `submissions`)."""
    out = console if console.is_terminal else ToolConsole(width=PIPED_WIDTH)  # piped output is not cut to 80 columns
    out.print(runs_table(inspecting.runs(runs_dir, sort), runs_dir, out.width))


@app.command()
def misclassified(
    ctx: typer.Context,
    alias: RunArg = None,
    run: RunOption = None,
    limit: Annotated[int, typer.Option(help="Most images in the grid (default 64; 16 with --why).")] = 64,
    true: Annotated[int | None, typer.Option("--true", help="Only images of this true digit.")] = None,
    pred: Annotated[int | None, typer.Option("--pred", help="Only images predicted as this digit.")] = None,
    out: Annotated[Path | None, typer.Option("--out", help="PNG to write (default: in the run folder).")] = None,
    show: Annotated[bool, typer.Option("--show", help="Open the picture in a window when a display exists.")] = False,
    why: Annotated[
        bool,
        typer.Option(
            "--why",
            help="Beside each mistake, maps of the pixels that pushed it to the wrong digit (gradient, occlusion).",
        ),
    ] = False,
    runs_dir: RunsDir = RUNS_DIR,
) -> None:
    """A PNG grid of the held-out images the model gets wrong, most confident mistakes first."""
    loaded = inspecting.finished_run(chosen_run(ctx, alias, run), runs_dir, model=why)
    limit = limit if given(ctx, "limit") else None
    outcome, explained = inspecting.mistakes(loaded, limit, true_digit=true, predicted_digit=pred, out=out, why=why)
    rows = held_out_name(loaded.record)
    console.print(confusions_table(outcome.confusions, rows))
    console.print(
        f"{outcome.total_wrong:,} of {outcome.dev_size:,} {rows} images misclassified; {outcome.matching:,} match."
    )
    if not outcome.shown:
        console.print("Nothing to draw: no misclassified image matches.")
        return
    maps = f", each with its maps ({explained.seconds:.1f} s)" if why else ""
    console.print(f"Wrote {outcome.shown} mistakes{maps} to [bold]{esc(outcome.path)}[/]")
    if show and not show_png(outcome.path):
        console.print("No display found; open the PNG above instead.")


@app.command()
def evaluate(ctx: typer.Context, alias: RunArg = None, run: RunOption = None, runs_dir: RunsDir = RUNS_DIR) -> None:
    """Per-class precision/recall/F1 on the held-out rows; confusion.png and curves.png in the run folder."""
    loaded = inspecting.finished_run(chosen_run(ctx, alias, run), runs_dir, model=False)
    outcome = inspecting.evaluate(loaded)
    rows = held_out_name(loaded.record)
    console.print(class_report_table(outcome.report, outcome.accuracy, f"{loaded.path.name} on its {rows} rows", rows))
    for path in (outcome.confusion_path, outcome.curves_path, outcome.json_path):
        if path is not None:
            console.print(f"Wrote [bold]{esc(path)}[/]")


@app.command()
def show(
    ctx: typer.Context,
    image_id: Annotated[int, typer.Argument(metavar="ID", help="ImageId in test.csv, or 1-based row of train.csv.")],
    train: Annotated[bool, typer.Option("--train/--test", help="Read train.csv instead of test.csv.")] = False,
    run: RunOption = None,
    sample: Annotated[bool, typer.Option("--sample", help="Read the bundled sample.")] = False,
    data_dir: Annotated[
        Path | None, typer.Option("--data-dir", help="Folder with the CSVs (default: the run's own data).")
    ] = None,
    why: Annotated[
        bool,
        typer.Option("--why", help="Also write a picture of the pixels behind the prediction (in the run folder)."),
    ] = False,
    runs_dir: RunsDir = RUNS_DIR,
) -> None:
    """Draw one digit in the terminal with the model's top-3 probabilities."""
    one_of(ctx, "sample", "data_dir")
    source = training.data_source(sample, data_dir) if (sample or data_dir) else None
    found = inspecting.digit(image_id, train, source, run, runs_dir)
    console.print(esc(found.caption), highlight=False)
    console.print(digit_text(found.image, colour=console.color_system is not None), end="")
    if found.proba is None:
        if why:
            raise KaggleDigitsError("--why needs a trained run to explain; `kaggle-digits train` makes one")
        console.print("No trained run to predict with; `kaggle-digits train` makes one.")
        return
    console.print(f"model: {esc(found.run_name)}")
    console.print(top_probabilities(found.proba))
    if why:
        out, explained = inspecting.explain_digit(found, train, image_id)
        console.print(f"Wrote the maps ({explained.seconds:.1f} s) to [bold]{esc(out)}[/]")
