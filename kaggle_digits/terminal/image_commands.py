"""`predict-image`: your own handwritten digits, read by a saved run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ..errors import KaggleDigitsError
from ..places import RUNS_DIR
from ..progress import esc
from ..usecases import inspecting
from .app import RunOption, RunsDir, app, console, err_console
from .digits import digit_text, top_probabilities


@app.command(name="predict-image")
def predict_image(
    files: Annotated[list[Path], typer.Argument(metavar="FILE...", help="PNG or JPEG pictures, one digit each.")],
    run: RunOption = None,
    why: Annotated[
        bool, typer.Option("--why", help="Also draw the pixels behind each reading, in the run folder.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list for scripts: file, digit, probabilities.")
    ] = False,
    runs_dir: RunsDir = RUNS_DIR,
) -> None:
    """Read photos or scans of handwritten digits, prepared the way MNIST was made (28x28, centred by mass)."""
    loaded = inspecting.finished_run(run, runs_dir)
    found, problems = inspecting.read_pictures(loaded, files, why=why)
    if as_json:
        print(json.dumps([digit.to_json() for digit in found], indent=2))
    for digit in [] if as_json else found:
        console.print(f"[bold]{esc(digit.file)}[/]: {digit.digit}  (model {esc(loaded.path.name)})", highlight=False)
        console.print(digit_text(digit.image, colour=console.color_system is not None), end="")
        console.print(top_probabilities(digit.proba))
        if digit.why is not None:
            console.print(f"Wrote its maps to [bold]{esc(digit.why)}[/]")
    if len(problems) == 1 and not found:
        raise KaggleDigitsError(problems[0])
    for problem in problems:  # the others were read all the same
        err_console.print(Text.assemble(("error: ", "bold red"), problem), highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(1)
