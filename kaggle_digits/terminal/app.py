"""The Typer app every command hangs on: one error handler, the options commands share, and option rules.

Every KaggleDigitsError becomes one line on stderr and exit code 1; a setting's error names its flag; an interrupt
is not an error (130/143, no `error:`); a closed output pipe ends the command quietly (141).
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text
from typer.core import TyperGroup

try:  # Typer 0.29 carries its own copy of click
    from typer._click.exceptions import BadParameter, MissingParameter, UsageError
except ImportError:  # pragma: no cover - Typer on click
    from click.exceptions import BadParameter, MissingParameter, UsageError

from ..allocator import keep_large_allocations
from ..errors import ConfigError, KaggleDigitsError
from ..progress import ToolConsole
from ..training.config import FIELD_RULES
from ..version import __version__

console = ToolConsole()
err_console = ToolConsole(stderr=True)
PIPE_CLOSED = 141  # 128 + SIGPIPE, as a shell reports a pipeline stage whose reader went away

# Config fields whose flag is not `--` + the field's name with dashes.
FIELD_FLAGS = {
    "learning_rate": "--lr",
    "hidden_sizes": "--hidden",
    "conv_channels": "--channels",
    "adam_betas": "--betas",
    "members": "--ensemble",
    "tta": "--tta",
    "true_digit": "--true",
    "predicted_digit": "--pred",
}
WITHOUT_FLAG = {
    "architecture", "init", "momentum", "warmup_epochs", "eval_every", "batchnorm", "first_kernel",
    "pool_every",
}  # fmt: skip


def flag_of(field: str) -> str:
    """The flag that sets a config field (fields only presets set keep their own name)."""
    if field in WITHOUT_FLAG:
        return field
    return FIELD_FLAGS.get(field, "--" + field.replace("_", "-"))


# The word help shows for each value, by option name, else by type: never a Python type name.
VALUE_WORDS = {
    "data_dir": "DIR", "runs_dir": "DIR", "submissions_dir": "DIR", "out": "FILE", "resume": "RUN",
    "estimate_from": "RUN", "run": "RUN", "dev_size": "FRACTION|ROWS", "lr": "RATE", "hidden": "SIZES",
    "channels": "SIZES", "betas": "B1,B2", "name": "NAME", "competition": "SLUG", "timeout": "SECONDS",
    "poll": "SECONDS", "dropout": "RATE", "label_smoothing": "SHARE", "average": "DECAY", "elastic": "ALPHA",
    "tta": "VIEWS", "image_id": "ID", "files": "FILE", "runs": "RUN", "target": "FILE|RUN", "true_digit": "DIGIT",
    "pred_digit": "DIGIT",
}  # fmt: skip
TYPE_WORDS = {"int": "N", "float": "NUMBER", "str": "TEXT", "Path": "PATH"}


def readable_help(command, ctx):
    """Help in words: a flag shows no type (Typer would print `<bool>`), a value a word such as DIR, RUN or N,
    an argument its word in the usage line (`[RUN]`, `RUN...`) and no type column."""
    for param in command.get_params(ctx):
        if getattr(param, "is_flag", False):
            param.metavar = param.metavar or ""
        elif getattr(param, "type_descriptor", None) is not None and param.type_descriptor.is_choice:
            continue
        elif param.param_type_name == "argument" and getattr(param, "hidden", False):
            param._usage_display_name = lambda: ""  # an alias kept for scripts: not shown
            param.metavar = "RUN"
        elif param.param_type_name == "argument":
            word = VALUE_WORDS.get(param.name, param.name.upper())
            param.metavar = f"{word}..." if param.nargs != 1 else word
            usage = param.metavar if param.required else f"[{param.metavar}]"
            param._usage_display_name = lambda usage=usage: usage  # Typer's own: {RUN...}..., [[RUN]]
            param.display_type_rich = lambda ctx: None
        elif param.metavar is None:
            param.metavar = VALUE_WORDS.get(param.name) or TYPE_WORDS.get(param.bare_type().split("[")[0], "VALUE")
    return command


def _parses(param, text: str) -> bool:
    """Whether `text` is a value of the argument's type (to find, among the words typed, the one it refused)."""
    kind = {"int": int, "float": float}.get(param.bare_type())
    try:
        return kind is None or kind(text) is not None
    except ValueError:
        return False


def value_error(exc: BadParameter, args: list[str]) -> str:
    """A value the parser refused, in our words: the option, the value as typed, what it takes."""
    param = exc.param
    if param is not None and param.param_type_name == "argument":
        flag = param.metavar or param.name.upper()
        typed = next((arg for arg in args[1:] if not arg.startswith("-") and not _parses(param, arg)), "")
    else:
        flag = max(param.opts, key=len) if param is not None and param.opts else "the value"
        typed = next(
            (args[i + 1] for i, arg in enumerate(args[:-1]) if arg == flag),
            next((arg.split("=", 1)[1] for arg in args if arg.startswith(flag + "=")), ""),
        )
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and descriptor.is_choice:
        choices = [str(c) for c in descriptor.choices or ()]
        allowed = f"choose {', '.join(choices[:-1])} or {choices[-1]}" if len(choices) > 1 else f"use {choices[0]}"
    else:
        kind = param.bare_type().split("[")[0] if param is not None else ""
        allowed = {"int": "give a whole number, e.g. 20", "float": "give a number, e.g. 0.5"}.get(kind)
        allowed = allowed or exc.message
    return f"{flag} {typed}: {allowed}" if typed else f"{flag}: {allowed}"


def silence_stdout() -> None:
    """After the reader of stdout went away: point it at /dev/null so the exit flush does not complain."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


class HandledGroup(TyperGroup):
    """Every command's errors become one line on stderr and a documented exit code."""

    def get_command(self, ctx, cmd_name):
        command = super().get_command(ctx, cmd_name)
        return command if command is None else readable_help(command, ctx)

    def format_help(self, ctx, formatter):
        readable_help(self, ctx)
        return super().format_help(ctx, formatter)

    def invoke(self, ctx):
        args = [*getattr(ctx, "_protected_args", []), *ctx.args]  # the command line, for a refused value as typed
        try:
            return super().invoke(ctx)
        except BadParameter as exc:
            if isinstance(exc, MissingParameter):
                raise
            raise UsageError(value_error(exc, args), exc.ctx) from None
        except KaggleDigitsError as exc:
            code = getattr(exc, "exit_code", 1)
            if code == PIPE_CLOSED:
                silence_stdout()
                raise typer.Exit(code) from None
            console.show_cursor(True)
            message = exc.worded(flag_of) if isinstance(exc, ConfigError) else str(exc)
            prefix = ("error: ", "bold red") if code == 1 else ""
            with contextlib.suppress(OSError):  # a terminal that hung up takes no more lines
                err_console.print(Text.assemble(prefix, message), highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None
        except BrokenPipeError:
            silence_stdout()
            raise typer.Exit(PIPE_CLOSED) from None
        except KeyboardInterrupt as stop:  # a command with no run to keep: the same one line as every interrupt
            console.show_cursor(True)
            code = getattr(stop, "exit_code", 130)
            if code != PIPE_CLOSED:
                with contextlib.suppress(OSError):
                    err_console.print("interrupted", highlight=False)
            raise typer.Exit(code) from None
        except OSError as exc:  # a file the tool could not read or write, named by the system
            where = f"{exc.filename}: " if exc.filename else ""
            err_console.print(Text.assemble(("error: ", "bold red"), f"{where}{exc.strerror or exc}"), soft_wrap=True)
            raise typer.Exit(1) from None


app = typer.Typer(
    cls=HandledGroup,
    help="Kaggle Digit Recognizer from zero to a scored submission, with NumPy networks written from scratch.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder holding Kaggle's train.csv and test.csv.")]
Sample = Annotated[bool, typer.Option("--sample", help="Use the bundled 5,000-row sample (offline).")]
RunsDir = Annotated[Path, typer.Option("--runs-dir", help="Folder of run folders (where a RUN name is looked up).")]
NewRunsDir = Annotated[Path, typer.Option("--runs-dir", help="Where the new run folder goes.")]
SubmissionsDir = Annotated[Path, typer.Option("--submissions-dir", help="Where submission CSVs go.")]
RunOption = Annotated[
    Path | None,
    typer.Option(
        "--run", help="A run folder, or its name under --runs-dir (default: the newest finished).", show_default=False
    ),
]
RunArg = Annotated[Path | None, typer.Argument(hidden=True)]  # `COMMAND RUN`, as 0.2 took it: `--run RUN` now


def chosen_run(ctx: typer.Context, positional: Path | None, option: Path | None) -> Path | None:
    """The run a command was given, as `--run RUN` (every command's way) or as its shipped positional alias."""
    if positional is not None and option is not None:
        raise KaggleDigitsError(f"{positional} and --run {option}: name one run")
    return option if option is not None else positional


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


def given(ctx: typer.Context, *names: str) -> list[str]:
    """The flags among `names` (all of the command's when none) that the command line set."""
    found = []
    for param in ctx.command.params:
        if (not names or param.name in names) and param.name and ctx.get_parameter_source(param.name).name != "DEFAULT":
            found.append(max(param.opts, key=len) if param.opts else param.name)
    return found


def one_of(ctx: typer.Context, *names: str) -> None:
    """Refuse options that cannot be used together, by their flags."""
    flags = given(ctx, *names)
    if len(flags) > 1:
        raise KaggleDigitsError(f"{' and '.join(flags)}: choose one")


def needs(ctx: typer.Context, option: str, *dependents: str) -> None:
    """Refuse `dependents` given without `option`, which they only change."""
    flags = given(ctx, *dependents)
    if flags and not given(ctx, option):
        flag = next(max(p.opts, key=len) for p in ctx.command.params if p.name == option)
        raise KaggleDigitsError(f"{' and '.join(flags)}: only used with {flag}; add it or drop them")


def parse_sizes(text: str | None, option: str) -> tuple[int, ...] | None:
    """'512,256' → (512, 256): the sizes of --hidden or the channels of --channels; an empty part is refused."""
    if text is None:
        return None
    example = "32,32,64,64" if option == "--channels" else "512,256"
    parts = [part.strip() for part in text.split(",")]
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise KaggleDigitsError(f"{option} {text}: give whole numbers separated by commas, e.g. {example}")
    return tuple(int(part) for part in parts)


DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_duration(text: str | None, option: str) -> float | None:
    """'2h' → 7200.0, '90m' → 5400.0, '45s' or '45' → 45.0: seconds, for options such as --timeout."""
    if text is None:
        return None
    number, unit = (text[:-1], text[-1]) if text[-1:].lower() in DURATION_UNITS else (text, "s")
    try:
        seconds = float(number) * DURATION_UNITS[unit.lower()]
    except ValueError:
        seconds = float("nan")
    if not seconds > 0 or seconds == float("inf"):
        raise KaggleDigitsError(f"{option} {text}: give a time above zero such as 2h, 90m or 600s")
    return seconds


def parse_betas(text: str | None) -> tuple[float, float] | None:
    """'0.7,0.9' → (0.7, 0.9), Adam's two decays; the config's rule judges the values."""
    if text is None:
        return None
    parts = text.split(",")
    try:
        betas = tuple(float(part) for part in parts)
    except ValueError:
        betas = ()
    if len(betas) != 2:
        raise ConfigError({"adam_betas": text}, FIELD_RULES["adam_betas"][1])
    return betas


def parse_dev_size(text: str | None) -> float | int | None:
    """'0.1' → a fraction, '4200' → a row count (an int), '0' → no dev rows; the config's rule judges the value."""
    if text is None:
        return None
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    accepts, fix = FIELD_RULES["dev_size"]
    try:
        value = float(text)
    except ValueError:
        raise ConfigError({"dev_size": text}, f"not a number; {fix}") from None
    if not accepts(value):  # judged here only to show the value as typed: 1.0 is not the row count 1
        raise ConfigError({"dev_size": text}, fix)
    return value
