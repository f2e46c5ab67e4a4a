"""Rich rendering for the CLI: live training progress and summary tables (the library itself never prints)."""

from __future__ import annotations

import numpy as np
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..constants import IMAGE_SIDE
from ..jobs.evaluation import ClassReport
from ..jobs.submit import SubmissionRow
from ..jobs.train import TrainOutcome, curve_unit
from ..training.fit import TrainEvent
from ..training.presets import TrainConfig


class TrainingProgress:
    """A live bar (step, loss, dev accuracy, throughput, ETA) plus one line per dev evaluation."""

    def __init__(self, console: Console, config: TrainConfig):
        self.console = console
        self.config = config
        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            TextColumn("loss {task.fields[loss]:.4f}  dev {task.fields[dev]}  {task.fields[speed]:,.0f} img/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self.task = None

    def __enter__(self) -> TrainingProgress:
        self.progress.__enter__()
        self.unit = unit = curve_unit(self.config)
        self.task = self.progress.add_task(
            f"{unit} 1/{self.config.epochs}", total=None, loss=float("nan"), dev="–", speed=0.0
        )
        return self

    def __exit__(self, *exc) -> None:
        self.progress.__exit__(*exc)

    def stage(self, text: str) -> None:
        self.console.print(f"[dim]{text}…[/]")

    def __call__(self, event: TrainEvent) -> None:
        fields = {"loss": event.loss, "speed": event.samples_per_s}
        if event.record is not None:
            r = event.record
            fields["dev"] = f"{r.dev_accuracy:.4f}"
            self.progress.console.print(
                f"{self.unit} {r.epoch}/{event.epochs} · loss {r.loss:.4f} · train {r.train_accuracy:.4f} · "
                f"[bold]dev {r.dev_accuracy:.4f}[/] · lr {r.learning_rate:.1e} · {event.elapsed:.1f} s",
                highlight=False,
            )
        self.progress.update(
            self.task,
            completed=event.step,
            total=event.total_steps,
            description=f"{self.unit} {event.epoch}/{event.epochs}",
            **fields,
        )


def describe(config: dict) -> str:
    """784-512-256-10, or conv32-conv32-pool-conv64-conv64-pool-fc256-10."""
    if config.get("architecture") == "cnn":
        convs = [f"conv{c}" + ("-pool" if i % 2 else "") for i, c in enumerate(config["conv_channels"])]
        return "-".join([*convs, *(f"fc{h}" for h in config["hidden_sizes"]), "10"])
    return "-".join(map(str, [784, *config["hidden_sizes"], 10]))


def summary_table(outcome: TrainOutcome) -> Table:
    """The end-of-run table: what was trained, how it scored, how long it took, where the files are."""
    m = outcome.metrics
    t = m["timings"]
    table = Table(title="Training summary", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    config = m["config"]
    table.add_row("preset", f"{m['preset']}  ({describe(config)}, {m['parameters']:,} parameters)")
    table.add_row("data", f"{m['data']['label']}  ({m['data']['train_rows']:,} train / {m['data']['dev_rows']:,} dev)")
    best = f" (best at {m['best_epoch']})" if m["best_epoch"] else ""
    table.add_row("dev accuracy", f"[bold green]{m['dev_accuracy']:.4f}[/]{best}")
    if "members" in m:
        accuracies = ", ".join(f"{member['dev_accuracy']:.4f}" for member in m["members"])
        table.add_row("members", f"{len(m['members'])} (dev accuracy {accuracies}); softmax averaged")
    if m["interrupted"]:
        table.add_row("stopped", "[yellow]interrupted: best weights so far were kept[/]")
    if t["train_s"]:
        timing = f"load {t['load_s']:.1f} s · train {t['train_s']:.1f} s · predict {t['predict_s']:.1f} s"
        table.add_row("time", f"{timing} · {t['samples_per_s']:,.0f} img/s")
    table.add_row("model", str(outcome.model_path))
    table.add_row("submission", str(outcome.submission_path))
    return table


def submissions_table(rows: list[SubmissionRow], competition: str) -> Table:
    """Remote submissions with their local run: leaderboard score beside dev accuracy."""
    table = Table(title=f"Submissions to {competition}", title_justify="left")
    for column in ("date", "file", "message", "status", "public score", "preset", "dev accuracy"):
        table.add_column(column, justify="right" if column in ("public score", "dev accuracy") else "left")
    colours = {"COMPLETE": "green", "PENDING": "yellow", "ERROR": "red"}
    for row in rows:
        r = row.remote
        table.add_row(
            r.date.strftime("%Y-%m-%d %H:%M") if r.date else "",
            r.file_name,
            r.description,
            f"[{colours.get(r.status, 'white')}]{r.status.lower()}[/]",
            r.public_score or (r.error if r.status == "ERROR" else ""),
            row.preset or "",
            f"{row.dev_accuracy:.4f}" if row.dev_accuracy is not None else "",
        )
    if not rows:
        table.caption = "no submissions yet"
    return table


SHADES = " ░▒▓█"


def digit_text(image: np.ndarray, colour: bool = True) -> Text:
    """A 28x28 uint8 digit as 14 lines: half blocks in true colour, or shade characters on a plain terminal."""
    grid = image.reshape(IMAGE_SIDE, IMAGE_SIDE)
    text = Text()
    if not colour:
        pairs = (grid[0::2].astype(np.int64) + grid[1::2]) // 2  # (14, 28) mean of each vertical pair
        for row in pairs:
            text.append("".join(SHADES[v * (len(SHADES) - 1) // 255] for v in row) + "\n")
        return text
    for r in range(0, IMAGE_SIDE, 2):
        for upper, lower in zip(grid[r], grid[r + 1], strict=True):
            top, bottom = 255 - int(upper), 255 - int(lower)  # ink dark on a light card
            text.append("▀", style=f"rgb({top},{top},{top}) on rgb({bottom},{bottom},{bottom})")
        text.append("\n")
    return text


def top_probabilities(proba: np.ndarray, k: int = 3) -> Table:
    """The k most likely digits with their probabilities as bars."""
    table = Table(show_header=True, box=None)
    table.add_column("digit", justify="right")
    table.add_column("probability", justify="right")
    table.add_column("")
    for d in np.argsort(-proba)[:k]:
        table.add_row(str(d), f"{proba[d]:.2%}", "█" * max(1, round(proba[d] * 30)))
    return table


def confusions_table(confusions: list[tuple[int, int, int]]) -> Table:
    table = Table(title="Most frequent confusions (dev)", title_justify="left")
    table.add_column("true → predicted")
    table.add_column("count", justify="right")
    for t, p, n in confusions:
        table.add_row(f"{t} → {p}", str(n))
    return table


def class_report_table(report: ClassReport, accuracy: float, title: str) -> Table:
    table = Table(title=title, title_justify="left", caption=f"dev accuracy {accuracy:.4f}")
    for column in ("digit", "precision", "recall", "F1", "support"):
        table.add_column(column, justify="right")
    for d in range(len(report.support)):
        table.add_row(
            str(d),
            f"{report.precision[d]:.4f}",
            f"{report.recall[d]:.4f}",
            f"{report.f1[d]:.4f}",
            str(int(report.support[d])),
        )
    return table
