"""Rich rendering for the CLI: live training progress and summary tables (the library itself never prints)."""

from __future__ import annotations

from pathlib import Path

from rich import box
from rich.table import Table
from rich.text import Text

from ..blending.blend import BlendPlan
from ..competition.submit import SubmissionRow
from ..inspection.evaluation import ClassReport
from ..inspection.listing import RunRow
from ..pipeline.finish import TrainOutcome
from ..progress import esc
from ..training.config import TrainConfig

WIDE_TABLE = 170  # terminal columns from which the runs table fits on one line a run; narrower: two lines a run
PIPED_WIDTH = 200  # columns of the runs table when the output goes to a file or a pipe


def describe(config: TrainConfig) -> str:
    """784-512-256-10, conv32-conv32-pool-conv64-conv64-pool-fc256-10, conv24(5x5)-pool-conv32-pool-fc256-10, or
    32C3-32C3-32C5S2-…-fc128-10."""
    if config.architecture == "cnn":
        k = config.first_kernel
        convs = [
            f"conv{c}"
            + (f"({k}x{k})" if i == 0 and k != 3 else "")
            + ("-pool" if (i + 1) % config.pool_every == 0 else "")
            for i, c in enumerate(config.conv_channels)
        ]
        return "-".join([*convs, *(f"fc{h}" for h in config.hidden_sizes), "10"])
    if config.architecture == "strided":
        convs = [f"{c}C5S2" if i % 3 == 2 else f"{c}C3" for i, c in enumerate(config.conv_channels)]
        return "-".join([*convs, *(f"fc{h}" for h in config.hidden_sizes), "10"])
    return "-".join(map(str, [784, *config.hidden_sizes, 10]))


def parameter_count(record) -> str:
    """101,770 parameters, or 3 × 101,770 parameters for three networks alike."""
    networks = len(record.parts) if not record.combined_from else 1
    if networks > 1 and record.parameters % networks == 0:
        return f"{networks} × {record.parameters // networks:,} parameters"
    return f"{record.parameters:,} parameters"


def summary_table(outcome: TrainOutcome) -> Table:
    """The end-of-run table: what was trained, how it scored, how long it took, where the files are."""
    r = outcome.record
    title = "Ensemble summary" if r.combined_from else "Training summary"
    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    table.add_row("preset", f"{r.preset}  ({describe(r.config)}, {parameter_count(r)})")
    data = r.data
    if r.folds:
        table.add_row("data", f"{esc(data.label)}  ({data.dev_rows:,} rows in {r.folds} stratified folds)")
        table.add_row("folds", "accuracy on its own fold: " + ", ".join(f"{a:.4f}" for a in r.fold_accuracies))
    else:
        table.add_row("data", f"{esc(data.label)}  ({data.train_rows:,} train / {data.dev_rows:,} dev)")
    if r.estimate is not None:
        table.add_row("estimate", f"[bold green]{r.estimate.text()}[/]")
    else:
        table.add_row("estimate", "none: no held-out rows (trained on every row; see --estimate-from)")
    if r.selected is not None:
        table.add_row("selected", f"{r.selected.text()}; optimistic, not an estimate")
    if r.combined_from:
        table.add_row("runs", esc(", ".join(Path(p).name for p in r.combined_from)) + "; softmax averaged")
    elif len(r.parts) > 1 and not r.folds:
        accuracies = ", ".join(f"{p.last_accuracy:.4f}" for p in r.parts if p.last_accuracy is not None)
        table.add_row("members", f"{len(r.parts)} (last-epoch dev accuracy {accuracies}); softmax averaged")
    if r.tta > 1:
        shifts = f"{r.tta - 1} one-pixel shift" + ("s" if r.tta > 2 else "")
        gain = r.views_gain
        effect = (
            f": {gain['correct']:,} of {gain['rows']:,} held-out rows right, {gain['correct_one_view']:,} with the "
            f"image alone ({gain['correct'] - gain['correct_one_view']:+,})"
            if gain
            else ""
        )
        table.add_row("test-time", f"{r.tta} views (the image and {shifts}), softmax averaged{effect}")
    t = r.timings
    if t:
        train = f"train {t['train_s']:.1f} s"
        if r.jobs > 1 and "train_wall_s" in t:
            train = f"train {t['train_wall_s']:.1f} s ({r.jobs} networks at a time; {t['train_s']:.1f} s each summed)"
        timing = f"load {t['load_s']:.1f} s · {train} · predict {t['predict_s']:.1f} s"
        if t.get("sessions", 1) > 1:
            timing += f" · {t['total_s']:.1f} s in all, over {t['sessions']:.0f} sessions"
        table.add_row("time", f"{timing} · {t['samples_per_s']:,.0f} img/s")
    table.add_row("model", esc(outcome.model_path))
    table.add_row("submission", esc(outcome.submission_path))
    return table


def blend_table(plan: BlendPlan, outcome: TrainOutcome | None) -> Table:
    """A blend: each member with its weight, the rows they share, the estimate, and where the blend went."""
    table = Table(title="Blend", title_justify="left", box=box.SIMPLE_HEAD)
    table.add_column("run", no_wrap=True)
    for column in ("preset", "kind", "estimate", "weight"):
        table.add_column(column, justify="left" if column in ("preset", "kind") else "right", no_wrap=True)
    for member, weight in zip(plan.members, plan.weights, strict=True):
        r = member.run.record
        own = r.estimate or r.selected
        views = f", {r.tta} views" if r.tta > 1 else ""
        table.add_row(
            esc(member.run.path.name),
            r.preset,
            member.kind + views,
            f"{own.accuracy:.4f}" if own else "",
            f"{weight:.3f}",
        )
    lines = [f"shared: {len(plan.rows):,} rows every member held out"] if len(plan.rows) else []
    if plan.estimate is not None:
        lines.append(f"estimate: [bold green]{plan.estimate.text()}[/]")
    else:
        lines.append(f"estimate: none ({esc(plan.no_estimate)})")
    if plan.selected is not None:
        lines.append(f"selected: {plan.selected.text()}; optimistic, not an estimate")
    again = [m.run.path.name for m in plan.members if m.predicted_again]
    if again:
        lines.append(f"test.csv predicted again from the model of {esc(', '.join(again))} (kept no test softmax)")
    compute = sum(m.run.record.timings.get("total_s", 0.0) for m in plan.members)
    if compute:
        lines.append(f"compute: the members took {compute / 60:,.1f} min to train and predict")
    if outcome is not None:
        lines.append(f"run: {esc(outcome.run_dir)}")
    table.caption = "\n".join(lines)
    table.caption_justify = "left"
    return table


def submissions_table(rows: list[SubmissionRow], competition: str) -> Table:
    """Remote submissions with their local run: leaderboard score beside the run's estimate."""
    table = Table(title=f"Submissions to {esc(competition)}", title_justify="left")
    for column in ("date", "file", "message", "status", "public score", "preset", "estimate"):
        table.add_column(column, justify="right" if column in ("public score", "estimate") else "left")
    colours = {"COMPLETE": "green", "PENDING": "yellow", "ERROR": "red"}
    for row in rows:
        remote, record = row.remote, row.run.record if row.run else None
        figure = record.estimate or record.selected if record else None
        table.add_row(
            remote.date.strftime("%Y-%m-%d %H:%M") if remote.date else "",
            esc(remote.file_name),
            esc(remote.description),
            f"[{colours.get(remote.status, 'white')}]{esc(remote.status.lower())}[/]",
            esc(remote.public_score or (remote.error if remote.status == "ERROR" else "")),
            record.preset if record else "",
            f"{figure.accuracy:.4f}" if figure else "",
        )
    if not rows:
        table.caption = "no submissions yet"
    return table


def run_cells(row: RunRow) -> dict[str, str]:
    """The runs table's cells for one run (markup only where this code adds it; user text escaped)."""
    r = row.record
    if r is None:
        return {"run": esc(row.path.name), "preset": "", "data": "", "mode": "", "epochs": "",
                "status": "[red]unreadable[/]", "estimate": esc(row.reason), "public": "", "time": "",
                "submission file": ""}  # fmt: skip
    modes = [f"{r.folds} folds"] if r.folds else []
    modes += [f"x{r.members}"] if r.members > 1 and not r.is_blend else []
    modes += [f"tta {r.tta}"] if r.tta > 1 and not r.is_blend else []
    modes = [f"blend of {len(r.combined_from)}"] if r.is_blend else modes
    modes += [f"trial {r.trial} of {esc(r.study)}"] if r.study else []
    figure = r.estimate
    seconds = r.timings.get("total_s", 0.0)
    colour = {"finished": "green", "failed": "red"}.get(row.status, "yellow")
    return {
        "run": esc(r.name) + (f" [dim]{esc(r.note)}[/]" if r.note else ""),
        "preset": "blend" if r.is_blend else esc(r.preset),
        "data": r.data.source,
        "mode": " ".join(modes) or "single",
        "epochs": f"{r.epochs_done}/{r.epochs_planned}" if r.epochs_planned else "",
        "status": f"[{colour}]{row.status}[/]",
        "estimate": f"{figure.accuracy:.4f} ± {(figure.ci95[1] - figure.ci95[0]) / 2:.4f}" if figure else "none",
        "public": esc(row.public_score) or "–",
        "time": f"{seconds / 60:.1f} min" if seconds else "",
        "submission file": esc(Path(r.submission).name) if r.submission and r.status == "finished" else "",
    }


def runs_table(rows: list[RunRow], runs_root: Path, width: int) -> Table | Text:
    """Local runs, newest first: a table where there is room, two lines a run on a narrow terminal."""
    cells = [run_cells(row) for row in rows]
    if not cells:
        return Text(f"No runs in {runs_root}/ yet: `kaggle-digits train` makes one.")
    if width < WIDE_TABLE:
        text = Text()
        for c in cells:
            if c["status"] == "[red]unreadable[/]":
                text.append_text(Text.from_markup(f"[bold]{c['run']}[/]  {c['status']}: {c['estimate']}\n"))
                continue
            text.append_text(Text.from_markup(f"[bold]{c['run']}[/]  {c['preset']} · {c['data']} · {c['mode']} · "))
            text.append_text(Text.from_markup(f"{c['epochs']} epochs · {c['status']}\n"))
            text.append_text(Text.from_markup(f"    estimate {c['estimate']} · public {c['public']} · {c['time']}\n"))
        return text
    title = f"{len(rows)} run{'s' if len(rows) != 1 else ''} under {esc(runs_root)}/"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in cells[0]:
        right = column in ("epochs", "estimate", "public", "time")
        table.add_column(column, justify="right" if right else "left", no_wrap=column == "run", overflow="fold")
    for c in cells:
        table.add_row(*c.values())
    return table


def confusions_table(confusions: list[tuple[int, int, int]], rows: str = "dev") -> Table:
    table = Table(title=f"Most frequent confusions ({rows})", title_justify="left")
    table.add_column("true → predicted")
    table.add_column("count", justify="right")
    for t, p, n in confusions:
        table.add_row(f"{t} → {p}", str(n))
    return table


def class_report_table(report: ClassReport, accuracy: float, title: str, rows: str = "dev") -> Table:
    table = Table(title=esc(title), title_justify="left", caption=f"{rows} accuracy {accuracy:.4f}")
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
