"""One run's networks four ways, one after another: serial, `--jobs 2`, a Dask LocalCluster, a cluster on loopback.

    python benchmarks/bench_cluster.py --data-dir data [--preset fast --folds 5] [-- --epochs 4]

Each configuration is a whole `kaggle-digits train` command, run alone (never beside another), on the same seeds:
  serial      --jobs 1: one network at a time on every core
  jobs2       --jobs 2: the home-made pool (two one-thread workers; a short last round alone on every core)
  localcluster  --cluster to Dask's LocalCluster(n_workers=2, threads_per_worker=1) started by this script
  loopback    --cluster to a `dask scheduler` and two `dask worker --nthreads 1` processes started by this script
Prints wall seconds with the throughput each network trained at (img/s, the mean over networks), the estimate's
correct rows (the same seeds give the same images right), and then what travels: the images scattered to each
worker and a network's checkpoint (sent to a worker and back once an epoch). `--overhead N` adds Dask's cost per
stretch: 2 tiny networks whose epochs take milliseconds, for N epochs and for 1, on loopback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

BIN = Path(sys.executable).parent
CLI = str(BIN / "kaggle-digits")


@contextlib.contextmanager
def loopback_cluster(folder: Path, workers: int = 2) -> Iterator[str]:
    """A scheduler and `workers` one-thread workers as separate processes, each worker in its own folder."""
    file = folder / "scheduler.json"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    processes = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                   "--no-dashboard", "--scheduler-file", str(file)], cwd=folder, **quiet)]  # fmt: skip
    try:
        while not (file.is_file() and "address" in file.read_text()):
            time.sleep(0.1)
        address = json.loads(file.read_text())["address"]
        for i in range(workers):
            (folder / f"worker{i}").mkdir()
            processes.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--no-dashboard",
                 "--local-directory", str(folder / f"worker{i}")], cwd=folder / f"worker{i}", **quiet,
            ))  # fmt: skip
        yield wait_for_workers(address, workers)
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextlib.contextmanager
def local_cluster(workers: int = 2) -> Iterator[str]:
    from distributed import LocalCluster

    with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield wait_for_workers(cluster.scheduler_address, workers)


def wait_for_workers(address: str, workers: int) -> str:
    from distributed import Client

    with Client(address, set_as_default=False) as client:
        client.wait_for_workers(workers, timeout=120)
    return address


def train(folder: Path, args: list[str], extra: list[str]) -> dict:
    """One whole train command; its wall time and record."""
    command = [CLI, "train", *args, *extra, "--runs-dir", str(folder / "runs"), "--submissions-dir", str(folder)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr}")
    run_dir = next((folder / "runs").iterdir())
    return {"wall": wall, "record": json.loads((run_dir / "metrics.json").read_text()), "run_dir": run_dir}


def row(name: str, measured: dict) -> str:
    record = measured["record"]
    speeds = [part["samples_per_s"] for part in record["parts"]]
    threads = sorted({part["threads"] for part in record["parts"]})
    estimate = record["estimate"]
    right = round(estimate["accuracy"] * estimate["rows"])
    return (f"{name:<13} {measured['wall']:8.1f} s  {sum(speeds) / len(speeds):8.0f} img/s per network  "
            f"threads {threads}  correct {right:,} of {estimate['rows']:,}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default="data")
    parser.add_argument("--sample", action="store_true", help="the bundled sample instead of --data-dir")
    parser.add_argument("--preset", default="fast")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", default="serial,jobs2,localcluster,loopback")
    parser.add_argument("--overhead", type=int, default=0, help="epochs of the tiny network (0: skip)")
    parser.add_argument("extra", nargs="*", help="more train options, after --")
    options = parser.parse_args()
    data = ["--sample"] if options.sample else ["--data-dir", options.data_dir]
    args = [*data, "--preset", options.preset, "--folds", str(options.folds), *options.extra]
    print(f"kaggle-digits train {' '.join(args)}   ({os.cpu_count()} cores)", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        results = {}
        for name in options.only.split(","):
            folder = root / name
            folder.mkdir()
            if name == "serial":
                results[name] = train(folder, args, ["--jobs", "1"])
            elif name == "jobs2":
                results[name] = train(folder, args, ["--jobs", "2"])
            elif name == "localcluster":
                with local_cluster() as address:
                    results[name] = train(folder, args, ["--cluster", address])
            elif name == "loopback":
                (folder / "cluster").mkdir()
                with loopback_cluster(folder / "cluster") as address:
                    results[name] = train(folder, args, ["--cluster", address])
            print(row(name, results[name]), flush=True)
        some = next(iter(results.values()))
        checkpoint_mb = checkpoint_size(root, ["--preset", options.preset, "--folds", str(options.folds)])
        data_rows = some["record"]["data"]
        rows = data_rows["dev_rows"] + (0 if options.folds else data_rows["train_rows"])
        with np.load(some["run_dir"] / "test_softmax.npz") as stored:
            tests = len(stored[stored.files[0]])
        print(f"scattered once to each worker: train.csv {rows:,} × 784 B = {rows * 784 / 1e6:.1f} MB (uint8), "
              f"test.csv {tests:,} × 784 B = {tests * 784 / 1e6:.1f} MB; once a run")  # fmt: skip
        print(f"a network's checkpoint: {checkpoint_mb:.2f} MB, to a worker and back once an epoch")
        if options.overhead:
            overhead(root, options.overhead)


def checkpoint_size(root: Path, args: list[str]) -> float:
    """The size of one checkpoint of this configuration (MB): trained on the sample until its first save."""
    folder = root / "checkpoint"
    folder.mkdir()
    command = [CLI, "train", "--sample", *args, "--epochs", "2", "--runs-dir", str(folder / "runs"),
               "--submissions-dir", str(folder), "--jobs", "1"]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    while not list(folder.glob("runs/*/checkpoint*.npz")):
        time.sleep(0.05)
    size = max(path.stat().st_size for path in folder.glob("runs/*/checkpoint*.npz"))
    process.send_signal(signal.SIGINT)
    process.wait()
    return size / 1e6


def overhead(root: Path, epochs: int) -> None:
    """Dask's cost per stretch: 2 tiny networks on loopback for `epochs` epochs and for 1; the wall time that is not
    training (the longer network's seconds), per extra epoch."""
    args = ["--sample", "--preset", "mlp", "--hidden", "8", "--ensemble", "2", "--tta", "1"]
    (root / "overhead" / "cluster").mkdir(parents=True)
    with loopback_cluster(root / "overhead" / "cluster") as address:
        spent = {}
        for count in (1, epochs):
            (root / "overhead" / str(count)).mkdir()
            done = train(root / "overhead" / str(count), [*args, "--epochs", str(count)], ["--cluster", address])
            spent[count] = done["wall"] - max(part["seconds"] for part in done["record"]["parts"])
    per_stretch = (spent[epochs] - spent[1]) / (epochs - 1)
    print(f"per stretch (one epoch of one network, two side by side), Dask's overhead: {per_stretch * 1000:.0f} ms "
          f"(wall time not training: {spent[1]:.2f} s for 1 epoch, {spent[epochs]:.2f} s for {epochs})")  # fmt: skip


if __name__ == "__main__":
    main()
