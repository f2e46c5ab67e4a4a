"""The live training display both faces show (a terminal's lines and bars, or a notebook's), and the console it
writes to: rendering only, outside the library, which reports through callbacks and never prints."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from .training.config import TrainConfig
from .training.fit import TrainEvent

WIDE = 110  # terminal columns from which the progress line has room for a bar


class OutputClosed(KeyboardInterrupt):
    """The reader of stdout went away (`… | head`): the job stops as on an interrupt, and the CLI exits quietly."""

    exit_code = 141  # 128 + SIGPIPE


class ToolConsole(Console):
    """A rich Console whose closed output pipe raises BrokenPipeError (rich's own default exits with 1), so a job
    can stop as on an interrupt and the CLI can exit 141 quietly."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        raise BrokenPipeError("the reader of this output went away")


def esc(value: object) -> str:
    """User text (names, notes, paths, Kaggle's words) shown as written, never read as rich markup."""
    return escape(str(value))


class TrainingProgress:
    """A live line per network in training (part, epoch, step, loss, held-out accuracy, throughput, elapsed, ETA),
    a line for the whole run when several train side by side, and one printed line per evaluation.

    The bar is the first thing dropped on a narrow terminal; piped output gets the evaluation lines only.
    """

    def __init__(self, console: Console, config: TrainConfig, folds: int = 0, networks: int = 1):
        self.console, self.config, self.networks = console, config, networks
        self.rows = "fold" if folds else "dev"  # what the held-out accuracy is measured on
        self.unit = config.unit
        columns = [TextColumn("[bold]{task.description}")]
        if console.width >= WIDE:
            columns.append(BarColumn(bar_width=20))
        columns += [
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
        ]
        self.progress = Progress(
            *columns, console=console, transient=True, disable=not (console.is_terminal or console.is_jupyter)
        )
        self.tasks: dict[str, TaskID] = {}  # part label → its live line
        self.steps: dict[str, int] = {}  # part label → steps done, for the whole run's line
        self.overall: TaskID | None = None

    def __enter__(self) -> TrainingProgress:
        self.progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def stage(self, text: str) -> None:
        with closed_output_stops():
            if text.startswith("warning: "):  # said once, where it cannot be missed
                self.console.print(f"[yellow]warning:[/] {esc(text.removeprefix('warning: '))}", highlight=False)
            else:
                self.console.print(f"[dim]{esc(text)}…[/]")

    def __call__(self, event: TrainEvent) -> None:
        with closed_output_stops():
            self._show(event)

    def _show(self, event: TrainEvent) -> None:
        where = f"{event.part} · " if event.part else ""
        dev = "–"
        if event.record is not None:
            r = event.record
            dev = "–" if np.isnan(r.dev_accuracy) else f"{r.dev_accuracy:.4f}"
            self.console.print(
                f"{where}{self.unit} {r.epoch}/{event.epochs} · loss {r.loss:.4f} · train {r.train_accuracy:.4f} · "
                f"[bold]{self.rows} {dev}[/] · lr {r.learning_rate:.1e} · {event.elapsed:.1f} s",
                highlight=False,
                soft_wrap=True,
            )
        task = self.tasks.get(event.part)
        if task is None:  # a line appears with a network's first step: no `loss nan … 0/s` before it
            task = self.tasks[event.part] = self.progress.add_task("", total=event.total_steps, detail="")
        detail = f"loss {event.loss:.4f} {self.rows} {dev} {event.samples_per_s:,.0f}/s"
        self.progress.update(
            task,
            completed=event.step,
            total=event.total_steps,
            description=f"{where}{self.unit} {event.epoch}/{event.epochs}",
            detail=detail,
        )
        self.steps[event.part] = event.step
        if event.record is not None and event.record.epoch == event.epochs and len(self.tasks) > 1:
            self.progress.remove_task(self.tasks.pop(event.part))  # done: its line gives way
        if self.networks > 1:
            self._show_overall(event.total_steps)

    def _show_overall(self, steps_per_network: int) -> None:
        """The whole run's line: every network's steps together, with the ETA that matters."""
        total = self.networks * steps_per_network
        if self.overall is None:
            self.overall = self.progress.add_task(f"all {self.networks} networks", total=total, detail="")
        self.progress.update(self.overall, completed=sum(self.steps.values()), total=total)


@contextlib.contextmanager
def closed_output_stops() -> Iterator[None]:
    """A write to a closed stdout stops the run the way Ctrl-C does (the run is kept, resumable)."""
    try:
        yield
    except BrokenPipeError:
        raise OutputClosed() from None
