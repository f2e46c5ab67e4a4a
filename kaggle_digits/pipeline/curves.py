"""A run's learning curves, drawn by one function whoever asks (`train` at the end, `evaluate` later)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ..plots import curves_figure, save_figure
from ..runfolder.folder import CURVES_FILE
from ..runfolder.record import RunRecord


def held_out_name(record: RunRecord) -> str:
    """What a run's held-out rows are called: its dev split, every row out-of-fold, or a blend's shared rows."""
    return "shared held-out" if record.is_blend else "out-of-fold" if record.folds else "dev"


def part_name(record: RunRecord, index: int) -> str:
    """How a network of the run is labelled in a legend: '' alone, 'fold 2' or 'member 2'."""
    part = record.parts[index]
    if len(record.parts) == 1:
        return ""
    if part.kind == "fold":
        per_fold = max(1, record.members)
        fold, member = divmod(index, per_fold)
        return f"fold {fold + 1}" + (f" member {member + 1}" if per_fold > 1 else "")
    return f"member {index + 1}"


def run_curves(run_dir: Path, record: RunRecord) -> Path | None:
    """curves.png of a run (see `run_curves_figure`); None for a run with no history (a combination of runs)."""
    figure = run_curves_figure(run_dir, record)
    return None if figure is None else save_figure(figure, run_dir / CURVES_FILE)


def run_curves_figure(run_dir: Path, record: RunRecord) -> Figure | None:
    """Every network's loss and accuracy per epoch, its held-out rows named as they are, the kept epoch marked."""
    histories = [(part_name(record, i), part.history) for i, part in enumerate(record.parts) if part.history]
    if not histories:
        return None
    figure = record.estimate or record.selected
    rows = held_out_name(record)
    heading = f"{run_dir.name}: {rows} accuracy {figure.accuracy:.4f}" if figure else run_dir.name
    first = record.parts[0]
    kept = (first.best_epoch if record.config.keep == "best" else first.epochs_done) if len(histories) == 1 else None
    held_out = "fold" if record.folds else "dev"
    return curves_figure(histories, heading, record.config.unit, kept, held_out)
