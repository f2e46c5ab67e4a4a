"""download, submit and submissions through the real `kaggle` client, against the stand-in server in
kaggle_server.py. Every command runs as a subprocess of the installed `kaggle-digits` with its own HOME."""

from __future__ import annotations

import base64
import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from kaggle_server import KEY, TOKEN, USERNAME, KaggleServer

from helpers import tree

CLI = str(Path(sys.executable).with_name("kaggle-digits"))
SECRETS = (KEY, TOKEN, base64.b64encode(f"{USERNAME}:{KEY}".encode()).decode())

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


class Sandbox:
    """A working folder, a HOME and an environment that point the official client at the test server."""

    def __init__(self, root: Path, server: KaggleServer):
        self.server = server
        self.work = root / "work"
        self.home = root / "home"
        self.work.mkdir()
        self.home.mkdir()
        self.env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": str(self.home),
            "XDG_CACHE_HOME": str(root / "cache"),
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": server.proxy,
            "http_proxy": server.proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "COLUMNS": "160",
            "KAGGLE_USERNAME": USERNAME,
            "KAGGLE_KEY": KEY,
        }

    def run(
        self, *args: str, limit_file_bytes: int | None = None, cwd: Path | None = None
    ) -> subprocess.CompletedProcess:
        def limit() -> None:
            if limit_file_bytes is not None:
                resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

        done = subprocess.run(
            [CLI, *args],
            cwd=cwd or self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
            preexec_fn=limit,
        )
        for secret in SECRETS:
            assert secret not in done.stdout + done.stderr, "a credential was printed"
        return done

    def fails_with(self, message: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        done = self.run(*args, **kwargs)
        assert done.returncode == 1, done.stdout + done.stderr
        last = done.stderr.strip().splitlines()[-1]  # download progress may precede it on stderr
        assert last.startswith("error: ") and message in last, done.stderr
        assert done.stderr.count("error: ") == 1
        assert "Traceback" not in done.stdout + done.stderr
        return done


@pytest.fixture
def sandbox(tmp_path):
    with KaggleServer() as server:
        yield Sandbox(tmp_path, server)


def calls(sandbox: Sandbox) -> list[str]:
    return list(sandbox.server.state.calls)


def test_download_train_submit_wait_and_list_end_to_end(sandbox):
    done = sandbox.run("download")
    assert done.returncode == 0, done.stderr
    data = sandbox.work / "data"
    assert sorted(p.name for p in data.iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert "train.csv 5,000 rows, test.csv 1,000 rows" in done.stdout
    assert [p.name for p in sandbox.work.iterdir()] == ["data"]  # no staging folder left behind

    done = sandbox.run("train", "--preset", "mlp")
    assert done.returncode == 0, done.stderr
    (submission,) = (sandbox.work / "submissions").iterdir()
    run_dir = sandbox.work / "runs" / submission.stem
    metrics = json.loads((run_dir / "metrics.json").read_text())

    done = sandbox.run("submit", "-m", "first try", "--wait", "--poll", "0.2", "--timeout", "30")
    assert done.returncode == 0, done.stderr
    predicted = np.loadtxt(submission, delimiter=",", skiprows=1, dtype=np.int64)[:, 1]
    accuracy = (predicted == sandbox.server.state.labels).mean()
    assert accuracy > 0.85  # a held-back set: the estimate predicted this within its interval, give or take
    low, high = metrics["estimate"]["ci95"]
    assert low - 0.02 < accuracy < high + 0.02
    assert (
        f"Submitting {submission.relative_to(sandbox.work)} (1,000 rows) · run {run_dir.name} · preset mlp"
        in done.stdout
    )
    assert f"Public score of #1000: {accuracy:.5f}" in done.stdout
    assert "Successfully submitted to Digit Recognizer" in done.stdout
    assert "Submissions today: 1; Kaggle accepts 4 more now." in done.stdout
    assert sandbox.server.state.uploads["blob-1"] == (submission.name, submission.read_bytes())

    done = sandbox.run("submissions")
    assert done.returncode == 0, done.stderr
    row = next(line for line in done.stdout.splitlines() if submission.name in line)
    for cell in ("first try", "complete", f"{accuracy:.5f}", "mlp", f"{metrics['estimate']['accuracy']:.4f}"):
        assert cell in row, row


def test_download_is_idempotent_and_force_downloads_again(sandbox):
    assert sandbox.run("download").returncode == 0
    before = calls(sandbox)
    done = sandbox.run("download")
    assert done.returncode == 0 and "already holds valid competition files" in done.stdout
    assert calls(sandbox) == before  # nothing was asked of the server
    assert sandbox.run("download", "--force").returncode == 0
    assert calls(sandbox)[len(before) :] == ["DownloadDataFiles", "GET /storage/digit-recognizer.zip"]


def test_credentials_from_kaggle_json_and_from_an_access_token(sandbox):
    del sandbox.env["KAGGLE_USERNAME"], sandbox.env["KAGGLE_KEY"]
    config = sandbox.home / ".kaggle"
    config.mkdir()
    (config / "kaggle.json").write_text(json.dumps({"username": USERNAME, "key": KEY}))
    (config / "kaggle.json").chmod(0o600)
    assert sandbox.run("download").returncode == 0
    (config / "kaggle.json").unlink()
    sandbox.env["KAGGLE_API_TOKEN"] = TOKEN
    sandbox.env["VERBOSE"] = "1"  # the client's own verbose mode would dump the Authorization header
    done = sandbox.run("download", "--force", "--verbose")  # Sandbox.run fails if any secret is printed
    assert done.returncode == 0 and "credentials from KAGGLE_API_TOKEN" in done.stdout
    assert sandbox.server.state.auth_headers[-1] == f"Bearer {TOKEN}"


def test_no_credentials_says_where_to_put_them_and_calls_nothing(sandbox):
    del sandbox.env["KAGGLE_USERNAME"], sandbox.env["KAGGLE_KEY"]
    sandbox.fails_with("no Kaggle credentials found: create an API token", "download")
    done = sandbox.fails_with("chmod 600", "submissions")
    assert "kaggle.json" in done.stderr and calls(sandbox) == []
    assert not (sandbox.work / "data").exists()


def test_rejected_key_is_a_401_message(sandbox):
    sandbox.env["KAGGLE_KEY"] = "wrong-key"
    sandbox.fails_with("Kaggle rejected the credentials (401); create a new API token", "download")
    assert not (sandbox.work / "data").exists()


def test_rules_not_accepted_is_a_403_message_and_data_is_untouched(sandbox):
    data = sandbox.work / "data"
    data.mkdir()
    (data / "notes.txt").write_text("mine")
    sandbox.server.state.fail["DownloadDataFiles"] = 403
    sandbox.fails_with(
        "accept the competition rules at https://www.kaggle.com/competitions/digit-recognizer/rules", "download"
    )
    assert tree(data) == {"notes.txt": b"mine"}
    assert [p.name for p in sandbox.work.iterdir()] == ["data"]


def test_unknown_competition_is_a_404_message(sandbox):
    sandbox.fails_with("unknown competition 'digit-recogniser' (404)", "download", "--competition", "digit-recogniser")


def test_server_error_is_reported_with_its_status_after_the_retries(sandbox):
    sandbox.server.state.fail["ListSubmissions"] = 500
    sandbox.fails_with("list submissions: Kaggle answered 500: Injected failure for ListSubmissions", "submissions")
    assert calls(sandbox).count("ListSubmissions") == 4  # the first try and three retries


def test_transient_failures_of_reads_are_retried_and_an_upload_is_never_sent_twice(sandbox):
    assert sandbox.run("download").returncode == 0
    sandbox.server.state.fail_next["ListSubmissions"] = [503, 429]
    done = sandbox.run("submissions")
    assert done.returncode == 0, done.stderr
    assert calls(sandbox).count("ListSubmissions") == 3
    good = sandbox.work / "good.csv"
    good.write_text("ImageId,Label\n" + "".join(f"{i},1\n" for i in range(1, 1001)))
    sandbox.server.state.fail_next["CreateSubmission"] = [503]
    sandbox.fails_with("submit: Kaggle answered 503", "submit", "good.csv", "--force", "-m", "x")
    assert calls(sandbox).count("CreateSubmission") == 1 and sandbox.server.state.submissions == []


def test_the_daily_limit_is_one_line_and_nothing_is_uploaded(sandbox):
    assert sandbox.run("download").returncode == 0
    good = sandbox.work / "good.csv"
    good.write_text("ImageId,Label\n" + "".join(f"{i},1\n" for i in range(1, 1001)))
    assert sandbox.run("submit", "good.csv", "--force", "-m", "x").returncode == 0
    sandbox.server.state.submissions *= 5  # as if four more had been sent today
    before = calls(sandbox)
    sandbox.fails_with(
        "Kaggle's daily submission limit is reached (5 today); nothing was sent", "submit", "good.csv", "--force"
    )
    assert "StartSubmissionUpload" not in calls(sandbox)[len(before) :]
    sandbox.server.state.fail["GetSubmissionLimits"] = 404  # no limits endpoint: Kaggle's refusal of the upload
    sandbox.fails_with(
        "submit: Kaggle's daily submission limit is reached; nothing was sent", "submit", "good.csv", "--force"
    )
    assert len(sandbox.server.state.submissions) == 5


def test_no_network_is_reported(sandbox):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}"
    sandbox.env["HTTP_PROXY"] = sandbox.env["http_proxy"] = closed
    sandbox.fails_with("cannot reach Kaggle (ProxyError); check your network connection", "download")
    assert not (sandbox.work / "data").exists()


def test_truncated_zip_is_refused_and_removed(sandbox):
    sandbox.server.state.truncate_zip = True
    sandbox.fails_with("digit-recognizer.zip: not a valid zip archive", "download")
    assert not (sandbox.work / "data").exists()
    assert list(sandbox.work.iterdir()) == []


def test_disk_full_while_extracting_is_reported_and_data_is_untouched(sandbox):
    data = sandbox.work / "data"
    data.mkdir()
    (data / "train.csv").write_text("old")
    sandbox.fails_with(
        "data: cannot write the competition files (File too large)", "download", limit_file_bytes=4 * 1024 * 1024
    )
    assert tree(data) == {"train.csv": b"old"}
    assert [p.name for p in sandbox.work.iterdir()] == ["data"]


def test_unwritable_data_dir_is_reported(sandbox):
    (sandbox.work / "blocker").write_text("a file, not a folder")
    sandbox.fails_with("blocker/data: cannot write here", "download", "--data-dir", "blocker/data")
    assert calls(sandbox) == []


def test_invalid_submission_is_refused_before_anything_is_sent(sandbox):
    assert sandbox.run("download").returncode == 0
    bad = sandbox.work / "bad.csv"
    bad.write_text("ImageId,Label\n" + "".join(f"{i},3\n" for i in range(1, 1000)))  # one row short
    before = calls(sandbox)
    sandbox.fails_with("bad.csv: 999 rows, but test.csv has 1,000 images", "submit", "bad.csv", "-m", "x")
    bad.write_text("ImageId,Label\n1,3\n\n")
    sandbox.fails_with("bad.csv: line 3 is blank", "submit", "bad.csv")
    assert calls(sandbox) == before


def test_failed_upload_is_refused_with_the_reason(sandbox):
    assert sandbox.run("download").returncode == 0
    good = sandbox.work / "good.csv"
    good.write_text("ImageId,Label\n" + "".join(f"{i},1\n" for i in range(1, 1001)))
    sandbox.server.state.fail_upload = True
    sandbox.fails_with(
        "submit: the upload of good.csv failed; Kaggle's reply: 'Could not submit to competition'",
        "submit",
        "good.csv",
        "--force",
    )
    assert sandbox.server.state.submissions == []


def test_wait_gives_up_after_its_timeout_and_reports_scoring_errors(sandbox):
    assert sandbox.run("download").returncode == 0
    good = sandbox.work / "good.csv"
    good.write_text("ImageId,Label\n" + "".join(f"{i},1\n" for i in range(1, 1001)))
    sandbox.server.state.pending_polls = 10_000
    sandbox.fails_with(
        "not scored after 1 s; check later with `kaggle-digits submissions`",
        "submit",
        "good.csv",
        "--force",
        "--wait",
        "--timeout",
        "1",
        "--poll",
        "0.3",
    )
    sandbox.server.state.pending_polls = 0
    sandbox.server.state.labels = sandbox.server.state.labels[:10]  # the scorer now expects 10 rows
    sandbox.fails_with(
        "failed on Kaggle: Submission must have 10 rows", "submit", "good.csv", "--force", "--wait", "--poll", "0.1"
    )


def test_submit_without_test_csv_refuses_before_anything(sandbox):
    assert sandbox.run("train", "--sample", "--epochs", "1").returncode == 0
    sandbox.fails_with(
        "data/test.csv: not found; submit checks every file against the competition's test ids", "submit"
    )
    assert calls(sandbox) == []


def test_submit_takes_only_finished_runs_on_the_full_data_unless_forced(sandbox):
    assert sandbox.run("download").returncode == 0
    sandbox.fails_with("no submission of a finished run on the full competition data", "submit", "-m", "x")
    assert sandbox.run("train", "--sample", "--epochs", "1", "--name", "sampled").returncode == 0
    (sample_run,) = (sandbox.work / "runs").iterdir()
    before = calls(sandbox)
    done = sandbox.fails_with("the newest run is not one: it comes from", "submit", "-m", "x")
    assert "a --sample run" in done.stderr
    sandbox.fails_with("a --sample run (the bundled sample's test images", "submit", str(sample_run))
    csv = sandbox.work / "submissions" / f"{sample_run.name}.csv"
    sandbox.fails_with("add --force to send it anyway", "submit", str(csv.relative_to(sandbox.work)))
    assert calls(sandbox) == before
    del sandbox.env["KAGGLE_USERNAME"], sandbox.env["KAGGLE_KEY"]  # a dry run needs no credentials
    done = sandbox.run("submit", str(sample_run), "--force", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert (
        f"Dry run (nothing is sent): {csv.relative_to(sandbox.work)} (1,000 rows) · run {sample_run.name} · preset mlp"
        in " ".join(done.stdout.split())
    )
    assert "estimate 0." in done.stdout and calls(sandbox) == before


def test_submit_dry_run_checks_the_file_and_contacts_nothing(sandbox):
    assert sandbox.run("download").returncode == 0
    before = calls(sandbox)
    bad = sandbox.work / "bad.csv"
    bad.write_text("ImageId,Label\n1,3\n")
    sandbox.fails_with("bad.csv: 1 rows, but test.csv has 1,000 images", "submit", "bad.csv", "--dry-run")
    good = sandbox.work / "good.csv"
    good.write_text("ImageId,Label\n" + "".join(f"{i},1\n" for i in range(1, 1001)))
    rehearsed = sandbox.run("submit", "good.csv", "--dry-run")  # a rehearsal reports the refusal, and exits 0
    assert rehearsed.returncode == 0 and "Would refuse it: good.csv: no finished run under runs wrote this file" in (
        " ".join(rehearsed.stdout.split())
    )
    done = sandbox.run("submit", "good.csv", "--dry-run", "--force")
    assert done.returncode == 0 and "good.csv (1,000 rows) · no local run wrote this file" in done.stdout
    assert "Would submit it to digit-recognizer as 'kaggle-digits good.csv'" in done.stdout
    assert calls(sandbox) == before


def test_only_the_bytes_a_finished_full_data_run_recorded_are_uploaded_whatever_the_path(sandbox):
    """Other working folders, --runs-dir, absolute and relative paths, links and copies: the digest decides."""
    assert sandbox.run("download").returncode == 0
    assert sandbox.run("train", "--epochs", "1", "--name", "full").returncode == 0
    (csv,) = (sandbox.work / "submissions").iterdir()
    elsewhere = sandbox.work.parent / "elsewhere"
    elsewhere.mkdir()
    data, runs = ["--data-dir", str(sandbox.work / "data")], ["--runs-dir", str(sandbox.work / "runs")]
    copy = elsewhere / "copy.csv"
    copy.write_bytes(csv.read_bytes())
    done = sandbox.run("submit", str(copy), "--dry-run", *data, *runs, cwd=elsewhere)  # an exact copy: its run vouches
    said = "".join(done.stdout.split())  # long temp paths wrap at the terminal's width
    assert done.returncode == 0 and "·run" in said and "-full·presetmlp" in said, done.stderr
    lines = csv.read_text().splitlines()
    lines[5] = lines[5][:-1] + str((int(lines[5][-1]) + 1) % 10)
    edited = elsewhere / "edited.csv"
    edited.write_text("\n".join(lines) + "\n")
    (elsewhere / "link.csv").symlink_to(edited)
    before = calls(sandbox)
    foreign = "no finished run under"
    sandbox.fails_with(foreign, "submit", "edited.csv", *data, *runs, cwd=elsewhere)
    sandbox.fails_with(foreign, "submit", "link.csv", *data, *runs, cwd=elsewhere)
    sandbox.fails_with(foreign, "submit", str(edited), "-m", "x")
    sandbox.fails_with(foreign, "submit", "../elsewhere/edited.csv")
    csv.write_text("\n".join(lines) + "\n")  # the run's own file, edited in place
    changed = f"not the file run {csv.stem} wrote"
    sandbox.fails_with(changed, "submit", str(csv), *data, *runs, cwd=elsewhere)
    sandbox.fails_with(changed, "submit", f"submissions/{csv.name}")
    sandbox.fails_with(changed, "submit", "-m", "the newest run")
    (elsewhere / "runlink").symlink_to(sandbox.work / "runs")
    sandbox.fails_with(changed, "submit", csv.stem, *data, "--runs-dir", "runlink", cwd=elsewhere)
    assert calls(sandbox) == before  # nothing was sent
    done = sandbox.run("submit", str(edited), "--force", "-m", "on purpose")
    assert done.returncode == 0 and sandbox.server.state.uploads["blob-1"][1] == edited.read_bytes()


def test_a_sample_runs_csv_is_refused_by_path_even_when_no_run_in_the_runs_folder_names_it(sandbox):
    assert sandbox.run("download").returncode == 0
    assert sandbox.run("train", "--sample", "--epochs", "1", "--runs-dir", "sample-runs").returncode == 0
    (csv,) = (sandbox.work / "submissions").iterdir()
    before = calls(sandbox)
    sandbox.fails_with("no finished run under runs wrote this file", "submit", str(csv))
    sandbox.fails_with("a --sample run", "submit", str(csv), "--runs-dir", "sample-runs")
    assert calls(sandbox) == before


def test_a_dry_run_right_after_the_demo_rehearses_every_check_and_sends_nothing(sandbox):
    """No credentials, no data/: the sample run's file is checked against the sample's own test ids."""
    assert sandbox.run("train", "--sample", "--epochs", "1").returncode == 0
    del sandbox.env["KAGGLE_USERNAME"], sandbox.env["KAGGLE_KEY"]
    sandbox.env["COLUMNS"] = "80"
    done = sandbox.run("submit", "--dry-run")
    assert done.returncode == 0, done.stderr
    text = " ".join(done.stdout.split())
    assert "Dry run (nothing is sent): submissions/" in text
    assert "Checked: 1,000 rows, ids and labels against the bundled sample's test.csv" in text
    assert "Would refuse it: it comes from" in text and "a --sample run" in text and "Kaggle would not score it" in text
    assert all(len(line) <= 80 for line in done.stdout.splitlines())
    assert calls(sandbox) == [] and not (sandbox.work / "data").exists()
