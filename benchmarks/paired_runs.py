"""Two recipes judged on the same held-out rows: paired counts of images fixed and broken, and the two combined.

Reads the held-out predictions two finished runs kept (`heldout.npz`): for `--folds` runs with the same fold count and
split seed (`--seed`, or `--split-seed` where the networks' own seeds differ) these are out-of-fold predictions over
the same folds, so every row is scored by networks of both recipes that never saw it. Prints each run's accuracy with
its 95 % interval and training time, the images the second fixes and breaks against the first with an exact two-sided
sign test on those two counts (McNemar), and the accuracy of both runs' softmax averaged (an honest out-of-fold
estimate of submitting both runs' networks together; `kaggle-digits ensemble` itself combines dev-split runs of one
preset only).

    python benchmarks/paired_runs.py runs/<recipe A> runs/<recipe B>
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

from kaggle_digits.data import load_train
from kaggle_digits.pipeline.plan import split_seed
from kaggle_digits.runfolder.folder import load_held_out, load_run
from kaggle_digits.runfolder.record import wilson_interval


def sign_test(fixed: int, broken: int) -> float:
    """Two-sided exact binomial p-value of `fixed` against `broken` when either is equally likely."""
    n = fixed + broken
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, k) for k in range(min(fixed, broken) + 1)) / 2**n
    return min(1.0, 2 * tail)


def describe(name: str, hits: np.ndarray, seconds: float | None) -> str:
    correct, n = int(hits.sum()), len(hits)
    low, high = wilson_interval(correct, n)
    took = f"{seconds / 60:.1f} min" if seconds else "–"
    return f"{name:<40} {correct:>7,} / {n:,}  {correct / n:.5f} ({low:.4f}–{high:.4f})  {took:>9}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    args = parser.parse_args()
    runs = [load_run(path) for path in (args.first, args.second)]
    train = load_train(runs[0].record.data.folder)
    kept = [load_held_out(run.path, len(train)) for run in runs]
    if any(scored is None for scored in kept):
        raise SystemExit("both runs must have kept their held-out predictions (heldout.npz)")
    first, second = kept
    if not np.array_equal(first.rows, second.rows):
        raise SystemExit("the runs held out different rows: train both with the same --seed and --folds/--dev-size")
    folds = [(run.record.folds, split_seed(run.record.config)) for run in runs]
    if folds[0] != folds[1]:
        raise SystemExit(f"the runs split differently (folds, split seed): {folds[0]} against {folds[1]}")
    labels = train.labels[first.rows]  # (M,)
    hits = [scored.proba.argmax(axis=1) == labels for scored in kept]  # 2 x (M,)
    both = (first.proba + second.proba).argmax(axis=1) == labels  # (M,)
    for run, hit in zip(runs, hits, strict=True):
        print(describe(run.path.name, hit, (run.record.timings or {}).get("total_s")))
    print(describe("both, softmax averaged", both, None))
    fixed, broken = int((hits[1] & ~hits[0]).sum()), int((hits[0] & ~hits[1]).sum())
    print(
        f"{runs[1].path.name} against {runs[0].path.name}: fixes {fixed}, breaks {broken}, net {fixed - broken:+d} "
        f"images (sign test p = {sign_test(fixed, broken):.3f})"
    )


if __name__ == "__main__":
    main()
