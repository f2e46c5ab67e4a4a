"""Try a training recipe: a preset with any config fields changed, run as `kaggle-digits train` runs it, timed.

Prints one line for the README's recipe table: the overrides, the estimate (the last epoch on held-out rows, or the
out-of-fold accuracy with --folds) with its 95 % interval, and the wall time of the whole job (load, train, predict).
Runs go to a scratch folder unless --runs-root says otherwise.

    python benchmarks/recipe_trial.py --preset fast --dev-size 10000 epochs=16 conv_channels=24,24,48,48
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
import typing
from pathlib import Path
from typing import Any

from kaggle_digits.allocator import keep_large_allocations
from kaggle_digits.pipeline.start import TrainRequest
from kaggle_digits.pipeline.train import train_run
from kaggle_digits.runfolder.record import DataSource
from kaggle_digits.training.config import TrainConfig
from kaggle_digits.training.presets import preset_config


def parse_override(text: str) -> tuple[str, Any]:
    """`field=value` for a TrainConfig field, the value converted to the field's type (tuples comma-separated)."""
    name, sep, raw = text.partition("=")
    hints = typing.get_type_hints(TrainConfig)
    if not sep or name not in {f.name for f in dataclasses.fields(TrainConfig)}:
        raise SystemExit(f"{text!r}: write field=value with a TrainConfig field, e.g. epochs=16")
    kind = hints[name]
    if kind == tuple[int, ...]:
        return name, tuple(int(v) for v in raw.split(",") if v)
    if kind is bool:
        return name, raw.lower() in ("1", "true", "yes")
    if kind == int | None:
        return name, int(raw)
    return name, kind(raw)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--dev-size", default="10000", help="held-out rows (or a fraction); ignored with --folds")
    parser.add_argument("--folds", type=int, default=0)
    parser.add_argument("--runs-root", default="")
    parser.add_argument("overrides", nargs="*", help="field=value pairs of TrainConfig")
    args = parser.parse_args()
    keep_large_allocations()
    overrides = dict(parse_override(o) for o in args.overrides)
    if not args.folds:
        overrides.setdefault("dev_size", float(args.dev_size))
    config: TrainConfig = preset_config(args.preset, **overrides)
    root = Path(args.runs_root or tempfile.mkdtemp(prefix="recipe-"))
    request = TrainRequest(
        config=config,
        data=DataSource.full(Path(args.data_dir).resolve()),
        runs_root=root / "runs",
        submissions_dir=root / "submissions",
        folds=args.folds,
        name="trial",
    )
    started = time.perf_counter()
    outcome = train_run(request)
    seconds = time.perf_counter() - started
    estimate = outcome.record.estimate
    low, high = estimate.ci95
    shown = " ".join(args.overrides) or "(preset as is)"
    print(
        f"{args.preset} {shown} | {estimate.accuracy:.4f} ({low:.4f}–{high:.4f}) on {estimate.rows:,} rows, "
        f"{estimate.method} | {int(seconds // 60)}:{int(seconds % 60):02d} whole job | {outcome.run_dir}"
    )


if __name__ == "__main__":
    main()
