"""Networks on a real Dask cluster (`--cluster`): a scheduler and two workers started here on loopback, each worker in
a folder of its own. The same bytes as a local run; a worker, the scheduler or the parent killed; Ctrl-C; refusals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")
pytestmark = pytest.mark.slow  # every test here trains networks in subprocesses

BIN = Path(sys.executable).parent
CLI = str(BIN / "kaggle-digits")
ARGS = ["--preset", "mlp", "--hidden", "256,256", "--ensemble", "2"]


@dataclass
class Cluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def client(self):
        return distributed.Client(self.address, set_as_default=False, timeout=30)


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def start_scheduler(folder: Path) -> tuple[str, subprocess.Popen]:
    folder.mkdir(parents=True, exist_ok=True)
    file = folder / "scheduler.json"
    process = subprocess.Popen(
        [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(file)],
        cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    wait_for(lambda: file.is_file() and "address" in file.read_text(), timeout=60)
    return json.loads(file.read_text())["address"], process


def start_worker(address: str, folder: Path, env: dict | None = None) -> subprocess.Popen:
    folder.mkdir(parents=True)
    return subprocess.Popen(
        [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--local-directory", str(folder), "--no-dashboard"],
        cwd=folder, env=os.environ | (env or {}), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def kill(process: subprocess.Popen) -> None:
    """The process and everything it started (a worker's nanny and its worker)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


@pytest.fixture
def cluster(tmp_path) -> Iterator[Cluster]:
    address, scheduler = start_scheduler(tmp_path / "scheduler")
    found = Cluster(address, scheduler)
    try:
        found.workers = [start_worker(address, tmp_path / f"worker{i}") for i in (1, 2)]
        with found.client() as client:
            client.wait_for_workers(2, timeout=60)
        yield found
    finally:
        for process in [*found.workers, scheduler]:
            kill(process)


def train(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cwd.mkdir(exist_ok=True)
    return subprocess.run(
        [CLI, "train", "--sample", *args], cwd=cwd, env=os.environ | (env or {}), capture_output=True, text=True
    )


def start(cwd: Path, *args: str, sample: bool = True) -> subprocess.Popen:
    cwd.mkdir(exist_ok=True)
    return subprocess.Popen([CLI, "train", *(["--sample"] if sample else []), *args], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip


def the_run(cwd: Path) -> Path:
    (run_dir,) = (cwd / "runs").iterdir()
    return run_dir


def record_of(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def assert_same_run(a: Path, b: Path) -> None:
    """Weights, held-out softmax, test softmax, CSV rows and estimate, bit for bit."""
    for name in ("model.npz", "heldout.npz", "test_softmax.npz"):
        with np.load(a / name) as left, np.load(b / name) as right:
            assert sorted(left.files) == sorted(right.files)
            for key in left.files:
                if key != "header":  # names the run
                    np.testing.assert_array_equal(left[key], right[key], err_msg=f"{name}: {key}")
    records = record_of(a), record_of(b)
    assert records[0]["estimate"] == records[1]["estimate"]
    csvs = [(run / r["submission"]).read_bytes() for run, r in zip((a, b), records, strict=True)]
    assert csvs[0] == csvs[1]


def executing(cluster: Cluster) -> int:
    """Tasks whose threads still run on the workers (a cancelled one included, until its thread returns)."""
    with cluster.client() as client:
        return sum(client.run(lambda dask_worker: dask_worker.state.executing_count).values())


@pytest.fixture(scope="module")
def local_run(tmp_path_factory) -> Path:
    """The run every cluster run must equal: two networks side by side here, one thread each."""
    cwd = tmp_path_factory.mktemp("local")
    done = train(cwd, *ARGS, "--epochs", "4", "--jobs", "2")
    assert done.returncode == 0, done.stderr
    return the_run(cwd)


def test_a_cluster_run_gives_the_bytes_of_a_local_run(cluster, local_run, tmp_path):
    done = train(tmp_path / "c", *ARGS, "--epochs", "4", "--cluster", cluster.address)
    assert done.returncode == 0, done.stderr
    run_dir = the_run(tmp_path / "c")
    assert_same_run(local_run, run_dir)
    assert [part["threads"] for part in record_of(run_dir)["parts"]] == [1, 1]
    assert f"Training 2 networks on the Dask cluster at {cluster.address} (2 workers)" in done.stdout
    assert "Member 1/2: on tcp://127.0.0.1:" in done.stdout  # which worker trains it
    assert not list(run_dir.glob("checkpoint*.npz")) and not list(run_dir.glob("part*.npz"))


def test_a_worker_killed_mid_network_costs_nothing_and_dasks_variable_names_the_cluster(cluster, local_run, tmp_path):
    process = subprocess.Popen(
        [CLI, "train", "--sample", *ARGS, "--epochs", "4"], cwd=tmp_path, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=os.environ | {"DASK_SCHEDULER_ADDRESS": cluster.address},
    )  # fmt: skip
    wait_for(lambda: list(tmp_path.glob("runs/*/checkpoint*.npz")))  # both workers are training
    kill(cluster.workers[0])
    _out, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert_same_run(local_run, the_run(tmp_path))


def test_the_scheduler_gone_stops_the_run_and_resume_here_finishes_it(cluster, local_run, tmp_path):
    process = start(tmp_path, *ARGS, "--epochs", "4", "--cluster", cluster.address)
    wait_for(lambda: list(tmp_path.glob("runs/*/checkpoint*.npz")))
    kill(cluster.scheduler)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 1 and err.count("\n") == 1, err
    assert f"lost the Dask scheduler at {cluster.address}" in err and "interrupted at epoch" in err
    run_dir = the_run(tmp_path)
    assert record_of(run_dir)["status"] == "interrupted"
    resumed = subprocess.run([CLI, "train", "--resume", str(run_dir)], cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert_same_run(local_run, run_dir)


LONG = ["--preset", "mlp", "--hidden", "2048,2048", "--ensemble", "2", "--epochs", "30"]  # seconds an epoch


def epoch_seconds(run_dir: Path) -> float:
    return max(epoch["seconds"] for part in record_of(run_dir)["parts"] for epoch in part["history"])


def checkpointed(folder: Path, epochs: int = 1):
    """True once a network of the run in `folder` has checkpointed `epochs` epochs."""

    def check() -> bool:
        runs = list(folder.glob("runs/*/metrics.json"))
        return bool(runs) and max((p["epochs_done"] for p in record_of(runs[0].parent)["parts"]), default=0) >= epochs

    return check


def test_a_killed_parent_leaves_no_network_training_and_the_run_resumes_at_once(cluster, tmp_path):
    process = start(tmp_path, *LONG, "--cluster", cluster.address)
    wait_for(checkpointed(tmp_path))
    process.kill()
    process.communicate()
    killed, run_dir = time.monotonic(), the_run(tmp_path)
    wait_for(lambda: executing(cluster) == 0, timeout=120)
    assert time.monotonic() - killed < 2 * epoch_seconds(run_dir) + 2, "a network trained on past its epoch"
    with cluster.client() as client:
        assert not any(client.processing().values())  # and nothing is queued behind it
    done = sum(part["epochs_done"] for part in record_of(run_dir)["parts"])
    resumed = start(tmp_path, "--resume", str(run_dir), "--cluster", cluster.address, sample=False)  # no lock held
    further = checkpointed(tmp_path, max(p["epochs_done"] for p in record_of(run_dir)["parts"]) + 1)
    wait_for(lambda: further() or resumed.poll() is not None)
    assert resumed.poll() is None, resumed.communicate()
    resumed.send_signal(signal.SIGINT)
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 130 and "interrupted at epoch" in err, err
    assert sum(part["epochs_done"] for part in record_of(run_dir)["parts"]) > done


def test_ctrl_c_stops_the_networks_on_the_workers_within_their_epoch(cluster, tmp_path):
    process = start(tmp_path, *LONG, "--cluster", cluster.address)
    wait_for(checkpointed(tmp_path))
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130 and "interrupted at epoch" in err, err
    stopped = time.monotonic()
    wait_for(lambda: executing(cluster) == 0, timeout=120)
    assert time.monotonic() - stopped < epoch_seconds(the_run(tmp_path)), "a network trained on to its epoch's end"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refused(tmp_path: Path, *args: str, env: dict | None = None) -> str:
    done = train(tmp_path, *ARGS, "--epochs", "1", *args, env=env)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())  # nothing written
    return done.stderr


def test_an_unreachable_scheduler_is_one_line_and_nothing_written(tmp_path):
    address = f"tcp://127.0.0.1:{free_port()}"
    assert f"cannot reach the Dask scheduler at {address}" in refused(tmp_path, "--cluster", address)


def test_a_scheduler_with_no_workers_or_another_version_is_refused_before_training(tmp_path):
    address, scheduler = start_scheduler(tmp_path / "scheduler")
    try:
        err = refused(tmp_path / "a", "--cluster", address)
        assert f"the Dask scheduler at {address} has no workers" in err
        other = tmp_path / "other-version"  # a worker whose kaggle-digits says it is 0.0.1
        (other / "kaggle_digits-0.0.1.dist-info").mkdir(parents=True)
        (other / "kaggle_digits-0.0.1.dist-info" / "METADATA").write_text("Name: kaggle-digits\nVersion: 0.0.1\n")
        worker = start_worker(address, tmp_path / "worker", env={"PYTHONPATH": str(other)})
        try:
            with distributed.Client(address, set_as_default=False, timeout=30) as client:
                client.wait_for_workers(1, timeout=60)
            err = refused(tmp_path / "b", "--cluster", address)
            assert "runs kaggle-digits 0.0.1; this machine runs" in err and "install the same version" in err
        finally:
            kill(worker)
    finally:
        kill(scheduler)


def test_cluster_and_jobs_together_are_refused(tmp_path):
    err = refused(tmp_path, "--cluster", "tcp://127.0.0.1:1", "--jobs", "2")
    assert "--cluster tcp://127.0.0.1:1 and --jobs 2: choose one" in err


def test_without_dask_the_cluster_option_says_what_to_install(tmp_path):
    code = (
        "import sys; sys.modules['distributed'] = None  # as on a machine without the extra\n"
        "from kaggle_digits.terminal.main import main\n"
        "sys.argv = ['kaggle-digits', 'train', '--sample', '--epochs', '1', '--cluster', 'tcp://127.0.0.1:1']\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "pip install 'kaggle-digits[cluster]'" in done.stderr
