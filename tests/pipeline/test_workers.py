"""Networks side by side (`--jobs`): the same weights as one after another, stops that stop every worker, a dead
worker that fails the run in one line and leaves the others' work to resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow  # every test here trains networks in subprocesses

CLI = str(Path(sys.executable).with_name("kaggle-digits"))
ONE_THREAD = {"KAGGLE_DIGITS_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def train(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    cwd.mkdir(exist_ok=True)
    done = subprocess.run(
        [CLI, "train", "--sample", *args], cwd=cwd, env=os.environ | (env or {}), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return done


def the_run(cwd: Path) -> Path:
    (run_dir,) = (cwd / "runs").iterdir()
    return run_dir


def same_arrays(a: Path, b: Path) -> None:
    with np.load(a) as left, np.load(b) as right:
        assert sorted(left.files) == sorted(right.files)
        for key in left.files:
            if key != "header":
                np.testing.assert_array_equal(left[key], right[key], err_msg=key)


def test_side_by_side_gives_the_weights_of_one_after_another_on_the_same_threads(tmp_path):
    args = ["--preset", "mlp", "--hidden", "64", "--epochs", "2", "--folds", "3"]
    train(tmp_path / "serial", *args, "--jobs", "1", env=ONE_THREAD)
    parallel = train(tmp_path / "parallel", *args, "--jobs", "2", env=ONE_THREAD)  # the third trains in the parent
    serial_run, parallel_run = the_run(tmp_path / "serial"), the_run(tmp_path / "parallel")
    same_arrays(serial_run / "model.npz", parallel_run / "model.npz")  # the weights, bit for bit
    with np.load(serial_run / "heldout.npz") as a, np.load(parallel_run / "heldout.npz") as b:
        np.testing.assert_array_equal(a["proba"], b["proba"])  # two folds predicted in the workers, one here
    records = [json.loads((run / "metrics.json").read_text()) for run in (serial_run, parallel_run)]
    folders = (serial_run, parallel_run)
    csvs = [(run / r["submission"]).read_bytes() for run, r in zip(folders, records, strict=True)]
    assert csvs[0].split(b"\n", 1)[1] == csvs[1].split(b"\n", 1)[1]
    assert not list(parallel_run.glob("predictions*.npz"))  # a finished run keeps only its model
    assert records[0]["estimate"] == records[1]["estimate"] and records[1]["jobs"] == 2
    assert "Training 2 networks, 2 at a time, then 1 on every core" in parallel.stdout


def wait_for(condition, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def workers_of(pid: int) -> list[int]:
    """The worker processes of a run: its spawned children, not multiprocessing's resource tracker."""
    found = [int(p) for p in subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]
    commands = {child: Path(f"/proc/{child}/cmdline").read_bytes() for child in found}
    return [child for child, command in commands.items() if b"resource_tracker import main" not in command]


def test_ctrl_c_stops_every_worker_and_the_run_resumes_to_the_same_weights(tmp_path):
    args = ["--preset", "mlp", "--hidden", "512,512", "--epochs", "6", "--folds", "2", "--jobs", "2"]
    straight = train(tmp_path / "straight", *args)
    assert straight.returncode == 0
    cwd = tmp_path / "stopped"
    cwd.mkdir()
    process = subprocess.Popen([CLI, "train", "--sample", *args], cwd=cwd, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(lambda: list(cwd.glob("runs/*/checkpoint*.npz")))
    children = workers_of(process.pid)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted at epoch" in err and "Traceback" not in err, err
    wait_for(lambda: not any(Path(f"/proc/{pid}").exists() for pid in children), timeout=30)
    run_dir = the_run(cwd)
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
    resumed = subprocess.run([CLI, "train", "--resume", str(run_dir)], cwd=cwd, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    same_arrays(the_run(tmp_path / "straight") / "model.npz", run_dir / "model.npz")


def test_a_killed_worker_fails_the_run_in_one_line_and_the_rest_resumes(tmp_path):
    args = ["--preset", "mlp", "--hidden", "512,512", "--epochs", "8", "--folds", "2", "--jobs", "2"]
    process = subprocess.Popen([CLI, "train", "--sample", *args], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    wait_for(lambda: len(list(tmp_path.glob("runs/*/checkpoint*.npz"))) == 2)
    victim = workers_of(process.pid)[0]
    os.kill(victim, signal.SIGKILL)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and err.count("\n") == 1, err
    assert f"a worker process ({victim}) died while training fold" in err and "killed by SIGKILL" in err
    run_dir = the_run(tmp_path)
    assert json.loads((run_dir / "metrics.json").read_text())["status"] in ("failed", "running")
    assert list(run_dir.glob("checkpoint*.npz"))  # the others' work is kept
    resumed = subprocess.run([CLI, "train", "--resume", str(run_dir)], cwd=tmp_path, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "finished"


TINY_CNN = ["--preset", "fast", "--channels", "8,16", "--epochs", "4", "--tta", "1", "--folds", "2"]


@pytest.fixture(scope="module")
def straight_cnn(tmp_path_factory) -> Path:
    """One uninterrupted side-by-side run of a tiny cnn: the bytes every stopped and resumed run must end with."""
    cwd = tmp_path_factory.mktemp("straight")
    train(cwd, *TINY_CNN, "--jobs", "2")
    return the_run(cwd)


def start_run(cwd: Path, *args: str) -> subprocess.Popen:
    cwd.mkdir(exist_ok=True)
    return subprocess.Popen([CLI, "train", "--sample", *args], cwd=cwd, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip


def resume(cwd: Path, run_dir: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([CLI, "train", "--resume", str(run_dir), *args], cwd=cwd, capture_output=True, text=True)


def gone(pids: list[int]) -> bool:
    return not any(Path(f"/proc/{pid}").exists() and b"Z" not in _state(pid) for pid in pids)


def _state(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1][:3]
    except OSError:
        return b"Z"


def same_run(reference: Path, run_dir: Path) -> None:
    """Weights, held-out softmax and CSV rows, byte for byte."""
    same_arrays(reference / "model.npz", run_dir / "model.npz")
    same_arrays(reference / "heldout.npz", run_dir / "heldout.npz")
    rows = [
        (run / json.loads((run / "metrics.json").read_text())["submission"]).read_bytes()
        for run in (reference, run_dir)
    ]
    assert rows[0] == rows[1]


def test_a_killed_parent_leaves_no_worker_and_its_run_stays_locked_until_the_last_one_stops(tmp_path, straight_cnn):
    cwd = tmp_path / "killed"
    process = start_run(cwd, *TINY_CNN, "--jobs", "2")
    wait_for(lambda: len(list(cwd.glob("runs/*/checkpoint*.npz"))) == 2)
    children = workers_of(process.pid)
    assert len(children) == 2
    os.kill(children[0], signal.SIGSTOP)  # held still, so the refusal below cannot race its exit
    process.kill()
    process.wait(timeout=60)  # not communicate(): the held worker keeps the pipes open
    wait_for(lambda: gone(children[1:]), timeout=30)  # the other noticed its parent's death by itself
    run_dir = the_run(cwd)
    refused = resume(cwd, run_dir)
    assert refused.returncode == 1 and f"process {children[0]} is training this run now" in refused.stderr
    assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    os.kill(children[0], signal.SIGCONT)
    wait_for(lambda: gone(children), timeout=30)
    _, err = process.communicate(timeout=60)  # every writer of the pipes (workers, resource tracker) has ended
    assert err == "", err  # not even multiprocessing's warning about the semaphores it cleaned up
    done = resume(cwd, run_dir)
    assert done.returncode == 0, done.stderr
    same_run(straight_cnn, run_dir)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129), (signal.SIGINT, 130)])
def test_a_stop_signal_to_the_parent_stops_every_worker_in_one_line_and_resume_is_exact(
    tmp_path, straight_cnn, signum, code
):
    cwd = tmp_path / "stopped"
    process = start_run(cwd, *TINY_CNN, "--jobs", "2")
    wait_for(lambda: len(list(cwd.glob("runs/*/checkpoint*.npz"))) == 2)
    children = workers_of(process.pid)
    process.send_signal(signum)
    _, err = process.communicate(timeout=60)
    run_dir = the_run(cwd)
    record = json.loads((run_dir / "metrics.json").read_text())
    assert process.returncode == code, err
    assert err.count("\n") == 1 and "Traceback" not in err and "warning" not in err.lower(), err
    assert err.startswith(f"interrupted at epoch {record['parts'][0]['epochs_done']}/4 of fold 1"), err
    assert record["status"] == "interrupted"
    wait_for(lambda: gone(children), timeout=30)
    done = resume(cwd, run_dir, "--jobs", "1")  # another --jobs: each network keeps the threads it started on
    assert done.returncode == 0, done.stderr
    same_run(straight_cnn, run_dir)


def test_the_record_never_lags_the_checkpoints_after_a_stop(tmp_path):
    """Whenever the stop lands, the record counts the epochs the checkpoints hold."""
    cwd = tmp_path / "run"
    process = start_run(cwd, *TINY_CNN, "--jobs", "2")
    wait_for(lambda: len(list(cwd.glob("runs/*/checkpoint*.npz"))) >= 1)
    process.send_signal(signal.SIGTERM)
    process.communicate(timeout=60)
    run_dir = the_run(cwd)
    record = json.loads((run_dir / "metrics.json").read_text())
    for part in record["parts"]:
        checkpoint = run_dir / f"checkpoint{part['index']}.npz"
        if checkpoint.is_file():
            with np.load(checkpoint) as stored:
                assert json.loads(str(stored["header"]))["state"]["epoch"] == part["epochs_done"]
