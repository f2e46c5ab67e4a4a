"""The edges of the loop: a run owns its CSV, resume and options say what they ignore, broken files are one line."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from kaggle_digits.terminal.cli import app

from helpers import tree

SMALL = ["--preset", "mlp", "--hidden", "16", "--epochs", "2"]

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def train(runner, blob_dir: Path, *extra: str, runs: str = "runs", subs: str = "submissions") -> Path:
    args = ["train", "--data-dir", str(blob_dir), *SMALL, "--runs-dir", runs, "--submissions-dir", subs, *extra]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    return max(Path(runs).iterdir(), key=lambda p: p.stat().st_mtime_ns)


def record(run_dir: Path) -> dict:
    return json.loads((run_dir / "metrics.json").read_text())


def one_line_error(result, message: str, code: int = 1) -> None:
    assert result.exit_code == code, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr, result.stderr


def test_two_runs_of_the_same_second_never_share_a_submission(runner, in_tmp, blob_dir, monkeypatch):
    monkeypatch.setattr("kaggle_digits.pipeline.start.timestamp", lambda: "20260101-000000")
    first = train(runner, blob_dir, "--seed", "1", runs="runs-a")
    second = train(runner, blob_dir, "--seed", "2", runs="runs-b")
    assert first.name == second.name  # same second, different --runs-dir: the same run name
    a, b = (first / record(first)["submission"]), (second / record(second)["submission"])
    assert a != b and {p.name for p in Path("submissions").iterdir()} == {a.name, b.name}
    for run_dir, path in ((first, a), (second, b)):
        assert record(run_dir)["submission_sha256"] == __import__("hashlib").sha256(path.read_bytes()).hexdigest()


def test_submit_refuses_a_csv_whose_content_is_not_what_its_run_wrote(runner, in_tmp, blob_dir):
    run_dir = train(runner, blob_dir)
    args = ["submit", str(run_dir), "--dry-run", "--data-dir", str(blob_dir)]
    assert runner.invoke(app, args).exit_code == 0
    csv = run_dir / record(run_dir)["submission"]
    lines = csv.read_text().splitlines()
    lines[1] = "1," + str((int(lines[1].split(",")[1]) + 1) % 10)
    csv.write_text("\n".join(lines) + "\n")
    for target in (str(run_dir), str(csv)):
        result = runner.invoke(app, ["submit", target, "--data-dir", str(blob_dir)])
        one_line_error(result, f"not the file run {run_dir.name} wrote")
        rehearsed = runner.invoke(app, ["submit", target, "--dry-run", "--data-dir", str(blob_dir)])
        said = " ".join(rehearsed.stdout.split())
        assert rehearsed.exit_code == 0 and f"not the file run {run_dir.name} wrote" in said


def test_resume_refuses_every_option_it_would_ignore_by_its_flag(runner, in_tmp, blob_dir):
    run_dir = train(runner, blob_dir)
    extra = ["--name", "x", "--note", "y", "--submissions-dir", "z", "--data-dir", "w", "--lr", "0.1", "--sample"]
    result = runner.invoke(app, ["train", "--resume", str(run_dir), *extra])
    one_line_error(result, "--resume continues a run with its own settings; drop --sample, --data-dir, --lr")
    assert "learning_rate" not in result.stderr and "--name, --note, --submissions-dir" in result.stderr


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{run}/metrics.json", "this run has finished already; nothing to resume"),
        ("{run}/model.npz", "this run has finished already"),
        ("runs/nope", "runs/nope: run folder not found"),
        ("submissions", "submissions: not a run folder (a run folder holds metrics.json)"),
    ],
)
def test_a_run_is_named_by_its_folder_a_file_in_it_or_not_found(runner, in_tmp, blob_dir, target, message):
    run_dir = train(runner, blob_dir)
    one_line_error(runner.invoke(app, ["train", "--resume", target.format(run=run_dir)]), message)
    if "nope" in target:
        for command in (["evaluate", target], ["predict", target], ["misclassified", target], ["submit", target]):
            assert "run folder not found" in runner.invoke(app, command).stderr or command[0] == "submit"


def test_resume_of_a_run_a_live_process_trains_is_refused_naming_it(runner, in_tmp, blob_dir):
    run_dir = train(runner, blob_dir)
    values = record(run_dir)
    values["status"] = "interrupted"
    (run_dir / "metrics.json").write_text(json.dumps(values))
    holder = subprocess.Popen(
        [sys.executable, "-c", "from kaggle_digits.runfolder.lock import RunLock; from kaggle_digits.runfolder.folder "
         f"import lock_file; RunLock(lock_file({str(run_dir)!r})).acquire(); print('locked', flush=True); "
         "import time; time.sleep(60)"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = runner.invoke(app, ["train", "--resume", str(run_dir)])
        one_line_error(result, f"process {holder.pid} is training this run now")
    finally:
        holder.kill()
        holder.wait()
    values["status"], values["pid"] = "running", holder.pid
    (run_dir / "metrics.json").write_text(json.dumps(values))
    assert "stopped" in runner.invoke(app, ["runs"]).output  # the lock died with its process
    one_line_error(runner.invoke(app, ["evaluate", str(run_dir)]), "this run is stopped and has no model yet")


def test_predict_uses_and_checks_tta(runner, sample_run, tmp_path):
    outs = {}
    for views in ("1", "9"):
        out = tmp_path / f"p{views}.csv"
        result = runner.invoke(app, ["predict", str(sample_run), "--tta", views, "--out", str(out)])
        assert result.exit_code == 0, result.output
        outs[views] = out.read_bytes()
    assert outs["1"] != outs["9"]  # nine views move some of an 80 % model's 1,000 answers
    one_line_error(runner.invoke(app, ["predict", str(sample_run), "--tta", "50"]), "--tta 50: use 1 (off) to 9")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["submit", "x.csv", "--timeout", "5"], "--timeout: only used with --wait"),
        (["submit", "x.csv", "--poll", "1"], "--poll: only used with --wait"),
        (["submit", "x.csv", "--dry-run", "--wait"], "--dry-run and --wait: choose one"),
        (["predict", "r", "--out", "a.csv", "--submissions-dir", "s"], "--out and --submissions-dir: choose one"),
        (["predict", "r", "--sample", "--data-dir", "d"], "--sample and --data-dir: choose one"),
        (["show", "1", "--sample", "--data-dir", "d"], "--sample and --data-dir: choose one"),
        (["train", "--sample", "--data-dir", "d"], "--sample and --data-dir: choose one"),
    ],
)
def test_an_option_that_would_change_nothing_is_refused(runner, in_tmp, args, message):
    one_line_error(runner.invoke(app, args), message)


def test_choices_are_listed_and_completed_and_others_are_usage_errors(runner):
    wide = {"COLUMNS": "200"}
    help_text = runner.invoke(app, ["train", "--help"], env=wide).output
    for choices in ("tutorial|mlp|cnn|fast|best", "gd|momentum|adam", "constant|cosine", "last|best"):
        assert choices in help_text
    assert "newest|estimate" in runner.invoke(app, ["runs", "--help"], env=wide).output
    assert "RUN..." in runner.invoke(app, ["ensemble", "--help"], env=wide).output
    assert runner.invoke(app, ["train", "--preset", "resnet"]).exit_code == 2
    completion = subprocess.run(
        [str(Path(sys.executable).with_name("kaggle-digits"))],
        env=os.environ | {"_KAGGLE_DIGITS_COMPLETE": "complete_bash", "COMP_WORDS": "kaggle-digits train --preset ",
                          "COMP_CWORD": "3"},
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert {"tutorial", "mlp", "cnn", "fast", "best"} <= set(completion.stdout.split()), completion


@pytest.mark.parametrize("text", ["[]", "42", "null", '{"format": 2}'])
def test_a_record_of_the_wrong_shape_is_listed_as_unreadable_and_refused_in_one_line(runner, in_tmp, blob_dir, text):
    good = train(runner, blob_dir)
    bad = Path("runs") / "20250101-000000-bad"
    bad.mkdir()
    (bad / "metrics.json").write_text(text)
    listing = runner.invoke(app, ["runs"])
    assert listing.exit_code == 0 and good.name in listing.output and "unreadable" in listing.output
    assert bad.name in listing.output
    for command in ("evaluate", "misclassified", "predict"):
        one_line_error(runner.invoke(app, [command, str(bad)]), f"{bad / 'metrics.json'}: ")
    one_line_error(runner.invoke(app, ["train", "--resume", str(bad)]), "metrics.json: ")
    assert runner.invoke(app, ["submit", "--dry-run", "--data-dir", str(blob_dir)]).exit_code == 0


@pytest.mark.parametrize(("content", "why"), [(b"", "empty"), (b"PK\x03\x04 trunc", "truncated or not an .npz")])
def test_a_broken_heldout_file_is_one_line(runner, in_tmp, blob_dir, content, why):
    run_dir = train(runner, blob_dir)
    (run_dir / "heldout.npz").write_bytes(content)
    for command in ("evaluate", "misclassified"):
        one_line_error(runner.invoke(app, [command, str(run_dir)]), f"heldout.npz: {why}")


def test_user_text_is_shown_as_written_never_as_markup(runner, in_tmp, blob_dir):
    run_dir = train(runner, blob_dir, "--note", "[red]x[/red] [bold]")
    other = train(runner, blob_dir, "--seed", "3")
    scores = {
        (run_dir / record(run_dir)["submission"]).name: 0.98,
        (other / record(other)["submission"]).name: "[i]0.5",
    }
    (Path("runs") / "kaggle-submissions.json").write_text(json.dumps(scores))
    for width in ("200", "100"):
        out = runner.invoke(app, ["runs"], env={"COLUMNS": width}).output
        assert "[red]x[/red] [bold]" in out and "0.98" in out and "[i]0.5" in out, out


def test_a_truncated_checkpoint_says_what_to_do_and_the_run_is_called_the_same_everywhere(runner, in_tmp, blob_dir):
    run_dir = train(runner, blob_dir)
    values = record(run_dir)
    values["status"] = "interrupted"
    (run_dir / "metrics.json").write_text(json.dumps(values))
    (run_dir / "model.npz").unlink()
    (run_dir / "checkpoint.npz").write_bytes(b"PK\x03\x04")
    result = runner.invoke(app, ["train", "--resume", str(run_dir)])
    one_line_error(result, "checkpoint.npz: not a readable checkpoint")
    assert "delete it and resume again to retrain the network from its first epoch" in result.stderr
    assert "interrupted" in runner.invoke(app, ["runs"]).output
    one_line_error(runner.invoke(app, ["evaluate", str(run_dir)]), "this run is interrupted and has no model yet")


def test_written_files_respect_the_umask(runner, in_tmp, blob_dir):
    old = os.umask(0o022)
    try:
        run_dir = train(runner, blob_dir)
        assert runner.invoke(app, ["predict", str(run_dir), "--out", "p.csv"]).exit_code == 0
    finally:
        os.umask(old)
    written = [*run_dir.iterdir(), (run_dir / record(run_dir)["submission"]), Path("p.csv")]
    assert {p.name: oct(p.stat().st_mode & 0o777) for p in written} == {p.name: "0o644" for p in written}


def test_a_given_name_is_kept_as_given(runner, in_tmp, blob_dir):
    assert train(runner, blob_dir, "--name", "folds", "--folds", "2").name.endswith("-folds")
    assert train(runner, blob_dir, "--folds", "2").name.endswith("-mlp-2fold")


def test_submit_checks_credentials_before_saying_it_submits(runner, in_tmp, blob_dir, monkeypatch):
    run_dir = train(runner, blob_dir)
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(in_tmp / "no-kaggle"))
    monkeypatch.setenv("HOME", str(in_tmp))
    result = runner.invoke(app, ["submit", str(run_dir), "--data-dir", str(blob_dir)])
    one_line_error(result, "no Kaggle credentials found")
    assert "Submitting" not in result.output


def test_an_ensemble_of_runs_trained_alike_is_warned_about(runner, in_tmp, blob_dir):
    first = train(runner, blob_dir, runs="a")
    second = train(runner, blob_dir, runs="b")
    result = runner.invoke(app, ["ensemble", str(first), str(second)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.output and "trained alike" in result.output


def test_a_closed_output_pipe_stops_the_run_quietly_and_keeps_it_resumable(tmp_path):
    cli = str(Path(sys.executable).with_name("kaggle-digits"))
    args = [cli, "train", "--sample", "--preset", "mlp", "--epochs", "30", "--hidden", "512,512"]
    process = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    for _ in range(2):  # `… | head -2`: read two lines, then close the pipe
        process.stdout.readline()
    process.stdout.close()
    code = process.wait(timeout=120)
    err = process.stderr.read().decode()
    assert code == 141 and err == "", err
    (run_dir,) = (tmp_path / "runs").iterdir()
    assert record(run_dir)["status"] == "interrupted"
    assert not (run_dir / ".lock").exists()


def test_leftovers_of_killed_writes_are_removed_when_a_run_is_opened_or_resumed(runner, in_tmp, blob_dir):
    run_dir = train(runner, blob_dir)
    (run_dir / "part0.npz").write_bytes(b"left by a kill at the very end")
    (run_dir / ".checkpoint.npz.deadbeef.tmp").write_bytes(b"half a checkpoint")
    assert runner.invoke(app, ["evaluate", str(run_dir)]).exit_code == 0
    assert sorted(p.name for p in run_dir.iterdir() if p.name.startswith((".", "part"))) == []


def test_a_signal_while_resuming_a_killed_run_leaves_no_temp_files(tmp_path):
    cli = str(Path(sys.executable).with_name("kaggle-digits"))
    args = [cli, "train", "--sample", "--preset", "mlp", "--epochs", "40", "--hidden", "512,512"]
    process = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("runs/*/checkpoint*.npz")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    (run_dir,) = (tmp_path / "runs").iterdir()
    (run_dir / ".checkpoint0.npz.0badc0de.tmp").write_bytes(b"x" * 100)
    resumed = subprocess.Popen([cli, "train", "--resume", str(run_dir)], cwd=tmp_path, stdout=subprocess.PIPE)
    resumed.stdout.readline()
    time.sleep(0.5)
    resumed.send_signal(signal.SIGINT)
    assert resumed.wait(timeout=60) == 130
    assert not list(run_dir.glob(".*.tmp")) and zipfile.is_zipfile(run_dir / "checkpoint0.npz")
    assert np.load(run_dir / "checkpoint0.npz", allow_pickle=False)["header"].size == 1
    assert tree(tmp_path / "submissions") == {}
