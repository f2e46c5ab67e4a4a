"""What test-time augmentation buys: out-of-fold accuracy of a finished `--folds` run with 1 to 9 views.

Each fold's network predicts only the rows of its own fold (exactly as the run's estimate did), averaging its softmax
over the image and 0..8 one-pixel shifts. Prints accuracy, its 95 % interval, the change against the first view count
with the images it fixes and breaks (the paired comparison: the same networks on the same rows, so a sign test on
those two counts says whether the change is more than chance), and the prediction time per 1,000 images.

    python benchmarks/tta_gain.py runs/<a --folds run> [--views 1,2,3,5,9]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from kaggle_digits.allocator import keep_large_allocations
from kaggle_digits.data import load_train
from kaggle_digits.nn.network import Ensemble, with_views
from kaggle_digits.pipeline.plan import fold_ids
from kaggle_digits.runfolder.folder import load_run
from kaggle_digits.runfolder.record import wilson_interval


def out_of_fold_hits(run_dir: Path, views_list: list[int]) -> list[tuple[int, np.ndarray, float]]:
    """(views, which rows are right, seconds) for each number of views."""
    run = load_run(run_dir)
    record = run.record
    if not record.folds:
        raise SystemExit(f"{run_dir}: not a --folds run")
    train = load_train(record.data.folder)
    fold = fold_ids(train, record.config, record.folds)
    networks = run.model.networks
    per_fold = len(networks) // record.folds
    results = []
    for views in views_list:
        hits, started = np.zeros(len(train), bool), time.perf_counter()
        for k in range(record.folds):
            members = networks[k * per_fold : (k + 1) * per_fold]
            model = with_views(members[0] if per_fold == 1 else Ensemble(members), views)
            rows = np.flatnonzero(fold == k)
            hits[rows] = model.predict(train.features(rows)) == train.labels[rows]
        results.append((views, hits, time.perf_counter() - started))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--views", default="1,2,3,5,9", help="comma-separated view counts (1..9)")
    args = parser.parse_args()
    keep_large_allocations()
    views_list = [int(v) for v in args.views.split(",")]
    results = out_of_fold_hits(args.run, views_list)
    base = results[0][1]
    n = len(base)
    print(f"{args.run.name}: out-of-fold accuracy on {n:,} rows by test-time views")
    print(
        f"{'views':>5}  {'correct':>7}  {'accuracy':>8}  {'95 % CI':>13}  {'vs first':>8}  "
        f"{'fixed':>5}  {'broken':>6}  {'s / 1,000 images':>16}"
    )
    for views, hits, seconds in results:
        correct = int(hits.sum())
        low, high = wilson_interval(correct, n)
        fixed, broken = int((hits & ~base).sum()), int((base & ~hits).sum())
        change = (fixed - broken) / n
        print(
            f"{views:>5}  {correct:>7,}  {correct / n:>8.4f}  {low:.4f}–{high:.4f}  {change:>+8.4f}  "
            f"{fixed:>5}  {broken:>6}  {seconds / n * 1000:>16.3f}"
        )


if __name__ == "__main__":
    main()
