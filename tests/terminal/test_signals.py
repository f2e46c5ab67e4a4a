"""Signals on a real `kaggle-digits train`: Ctrl-C and SIGTERM stop honestly, SIGKILL loses one epoch at most."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

CLI = [sys.executable, "-m", "kaggle_digits"]
SLOW_SAMPLE_RUN = ["train", "--sample", "--preset", "mlp", "--epochs", "40", "--hidden", "512,512"]

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def start(cwd: Path, *args: str, **kwargs) -> subprocess.Popen:
    env = os.environ | {"COLUMNS": "100"}
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True} | kwargs
    return subprocess.Popen([*CLI, *args], cwd=cwd, env=env, **options)


def wait_for(condition, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.01)


def the_run(cwd: Path) -> Path:
    wait_for(lambda: any((cwd / "runs").glob("*/metrics.json")))
    (run_dir,) = (cwd / "runs").iterdir()
    return run_dir


def epochs_done(run_dir: Path) -> int:
    try:
        return json.loads((run_dir / "metrics.json").read_text())["epochs"]["done"]
    except (OSError, ValueError, KeyError):
        return 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_after_an_epoch_keeps_the_checkpoint_and_says_how_to_resume(tmp_path, signum, code):
    process = start(tmp_path, *SLOW_SAMPLE_RUN)
    run_dir = the_run(tmp_path)
    wait_for(lambda: any(run_dir.glob("checkpoint*.npz")))
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == code, err
    record = json.loads((run_dir / "metrics.json").read_text())
    k = record["epochs"]["done"]
    assert record["status"] == "interrupted" and 1 <= k < 40
    assert err.strip() == f"interrupted at epoch {k}/40 — resume with: kaggle-digits train --resume runs/{run_dir.name}"
    assert "Traceback" not in out + err
    assert not (run_dir / "model.npz").exists() and not list((tmp_path / "submissions").iterdir())


def training_started(run_dir: Path) -> bool:
    """The record names each network's thread count just before the first step (a cnn epoch takes seconds)."""
    try:
        return json.loads((run_dir / "metrics.json").read_text())["parts"][0]["threads"] > 0
    except (OSError, ValueError, KeyError, IndexError):
        return False


def test_ctrl_c_during_the_first_epoch_writes_no_model_and_no_submission(tmp_path):
    process = start(tmp_path, "train", "--sample", "--preset", "cnn", "--epochs", "2")
    run_dir = the_run(tmp_path)
    wait_for(lambda: training_started(run_dir))
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "interrupted at epoch 0/2 — resume with" in err
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.json"]
    assert not list((tmp_path / "submissions").iterdir())


def test_a_killed_run_loses_at_most_an_epoch_and_resumes_to_the_same_model(tmp_path):
    args = ["train", "--sample", "--preset", "mlp", "--epochs", "6", "--hidden", "256"]
    straight = tmp_path / "straight"
    straight.mkdir()
    assert subprocess.run([*CLI, *args], cwd=straight, capture_output=True, check=False).returncode == 0
    killed = tmp_path / "killed"
    killed.mkdir()
    process = start(killed, *args)
    run_dir = the_run(killed)
    wait_for(lambda: epochs_done(run_dir) >= 2)
    process.kill()
    process.wait(timeout=30)
    assert 2 <= epochs_done(run_dir) < 6 and any(run_dir.glob("checkpoint*.npz"))
    done = subprocess.run([*CLI, "train", "--resume", str(run_dir)], cwd=killed, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Resuming from epoch" in done.stdout
    (reference,) = (straight / "runs").iterdir()
    with np.load(reference / "model.npz") as a, np.load(run_dir / "model.npz") as b:
        for key in a.files:
            if key != "header":
                np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_a_second_signal_exits_at_once_and_restores_the_terminal(tmp_path):
    script = (
        "import os, signal, time\n"
        "from kaggle_digits.terminal.signals import StopOnSignals, Stopped\n"
        "with StopOnSignals(restore=lambda: print('restored', flush=True)):\n"
        "    try:\n"
        "        os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
        "    except Stopped:\n"
        "        print('stopped', flush=True)\n"
        "        os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
        "        print('still here', flush=True)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=False)
    assert done.returncode == 130 and done.stdout.split() == ["stopped", "restored"], done.stdout + done.stderr


def test_the_cursor_is_shown_again_after_ctrl_c_on_a_terminal(tmp_path):
    leader, follower = pty.openpty()
    process = start(tmp_path, *SLOW_SAMPLE_RUN, stdout=follower, stderr=follower, stdin=follower, text=False)
    os.close(follower)
    output = bytearray()

    def read_until(marker: bytes | None) -> None:
        while marker is None or marker not in output:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                return
            if not chunk:
                return
            output.extend(chunk)

    read_until(b"epoch 1/40")
    process.send_signal(signal.SIGINT)
    read_until(None)
    process.wait(timeout=30)
    os.close(leader)
    hide, show = b"\x1b[?25l", b"\x1b[?25h"
    assert hide in output and output.rfind(show) > output.rfind(hide), output[-400:]
    assert process.returncode == 130


GATED_START = """
import sys
class Gate:
    # holds the import of the commands half-way until the test has sent its signal
    def find_spec(self, name, path=None, target=None):
        if name == "kaggle_digits.terminal.display":
            print("importing", flush=True)
            sys.stdin.readline()
        return None
sys.meta_path.insert(0, Gate())
sys.argv = ["kaggle-digits", "runs"]
from kaggle_digits.terminal.main import main
main()
"""


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_while_the_program_is_still_importing_is_one_line(tmp_path, signum, code):
    process = subprocess.Popen([sys.executable, "-c", GATED_START], cwd=tmp_path, stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    assert process.stdout.readline() == "importing\n"
    process.send_signal(signum)
    out, err = process.communicate(timeout=30)
    assert process.returncode == code and err == "interrupted\n" and out == "", err


def test_sighup_stops_a_run_like_sigterm_and_it_resumes(tmp_path):
    process = start(tmp_path, *SLOW_SAMPLE_RUN)
    run_dir = the_run(tmp_path)
    wait_for(lambda: any(run_dir.glob("checkpoint*.npz")))
    process.send_signal(signal.SIGHUP)
    _, err = process.communicate(timeout=60)
    record = json.loads((run_dir / "metrics.json").read_text())
    assert process.returncode == 129 and record["status"] == "interrupted"
    assert err.startswith(f"interrupted at epoch {record['epochs']['done']}/40 — resume with") and err.count("\n") == 1
    done = subprocess.run([*CLI, "train", "--resume", str(run_dir)], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
