"""Networks one after another against side by side: whole `kaggle-digits train` commands, timed.

    python benchmarks/side_by_side.py --preset fast --folds 5 --jobs 1,2 [--cores 0,1] [--keep DIR] [-- --epochs 2]

Each configuration runs as its own process (pinned with taskset to the listed cores when --cores is given), one
after another, never beside one another, so each timing has the machine to itself. Prints, per run: jobs, cores,
threads per network, wall seconds, peak resident memory of the whole process tree (sampled twice a second), and
the run's estimate with its count of correct rows, so that runs of the same seeds compare image for image.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CLI = str(Path(sys.executable).with_name("kaggle-digits"))


def tree_rss_kib(pid: int) -> int:
    """Resident memory of a process and all its descendants, from /proc (KiB)."""
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                stack += [int(child) for child in (task / "children").read_text().split()]
        except (OSError, StopIteration, ValueError):
            continue
    return total


def run_once(args: list[str], jobs: int, cores: str, root: Path, one_thread: bool) -> dict:
    """One whole train command; returns its measures."""
    folder = root / f"jobs{jobs}-cores{cores or 'all'}{'-1t' if one_thread else ''}"
    command = [CLI, "train", *args, "--jobs", str(jobs), "--runs-dir", str(folder / "runs"),
               "--submissions-dir", str(folder / "subs")]  # fmt: skip
    if cores:
        command = ["taskset", "-c", cores, *command]
    env = os.environ | ({"KAGGLE_DIGITS_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"} if one_thread else {})
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    peak_kib = 0
    while process.poll() is None:
        peak_kib = max(peak_kib, tree_rss_kib(process.pid))
        time.sleep(0.5)
    wall = time.perf_counter() - started
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{process.stderr.read()}")
    run_dir = max((folder / "runs").iterdir())  # the newest: run names begin with their start time
    record = json.loads((run_dir / "metrics.json").read_text())
    estimate = record["estimate"] or {}
    correct = round(estimate.get("accuracy", 0) * estimate.get("rows", 0))
    return {
        "jobs": jobs,
        "cores": cores or "all",
        "threads": "1" if one_thread else "auto",
        "wall_s": round(wall, 1),
        "peak_tree_mib": round(peak_kib / 1024),
        "estimate": estimate.get("accuracy"),
        "correct": correct,
        "rows": estimate.get("rows"),
        "train_wall_s": record["timings"].get("train_wall_s"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--jobs", default="1,2", help="comma-separated --jobs values to time")
    parser.add_argument("--cores", default="", help="taskset core list, e.g. 0 or 0,1 (default: all)")
    parser.add_argument("--one-thread", action="store_true", help="jobs=1 runs hold each network to one thread")
    parser.add_argument("--keep", type=Path, help="keep the runs under this folder (default: a temporary one)")
    parser.add_argument("extra", nargs="*", help="more train options, after --")
    options = parser.parse_args()
    args = ["--preset", options.preset, "--folds", str(options.folds), *options.extra]
    root = options.keep or Path(tempfile.mkdtemp(prefix="side-by-side-"))
    root.mkdir(parents=True, exist_ok=True)
    try:
        print(f"kaggle-digits train {' '.join(args)}  (cores: {options.cores or 'all'})", flush=True)
        for jobs in (int(j) for j in options.jobs.split(",")):
            one_thread = options.one_thread and jobs == 1
            print(json.dumps(run_once(args, jobs, options.cores, root, one_thread)), flush=True)
    finally:
        if not options.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
