"""`kaggle-digits tune`: real Optuna studies of tiny trials on the bundled sample — SQLite by default, two processes on
one SQLite file and on one real PostgreSQL server at once, the pruner pruning, an interrupt, show, confirm, refusals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

optuna = pytest.importorskip("optuna")
pytestmark = pytest.mark.slow  # every test here trains networks in subprocesses

from pg_server import can_start, postgres_server  # noqa: E402

CLI = str(Path(sys.executable).with_name("kaggle-digits"))
WIDE = os.environ | {"COLUMNS": "250"}  # one line per message
# Two epochs of a half-width mlp at a rate that never diverges; the other knobs drawn by the sampler.
TINY = ["--sample", "--preset", "mlp", "--param", "epochs=2", "--param", "width=0.5", "--param", "learning_rate=0.003"]
COUNTED = {"COMPLETE", "PRUNED"}


def tune(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    cwd.mkdir(parents=True, exist_ok=True)
    return subprocess.run([CLI, "tune", *args], cwd=cwd, capture_output=True, text=True, env=WIDE)


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, done.stderr
    return done.stdout


def study(storage: str, name: str = "mlp"):
    return optuna.load_study(study_name=name, storage=storage)


def states(found) -> list[str]:
    return [trial.state.name for trial in found.get_trials()]


def records(runs: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(runs.glob("*/metrics.json"))]


def test_the_default_study_lives_in_the_runs_folder_and_continues_to_its_total(tmp_path):
    out = ok(tune(tmp_path, *TINY, "--trials", "2"))
    storage = f"sqlite:///{tmp_path / 'runs' / 'tune.db'}"
    assert f"Study mlp: 2 trials finished or pruned, in {storage}" in out
    assert "biased upward, not an estimate" in out
    ok(tune(tmp_path, *TINY, "--trials", "3"))  # one more, never a finished one again
    found = study(storage)
    assert len(states(found)) == 3 and set(states(found)) <= COUNTED
    runs = records(tmp_path / "runs")
    assert sorted((r["study"], r["trial"]) for r in runs) == [("mlp", n) for n in range(3)]
    assert {r["status"] for r in runs} <= {"finished", "pruned"}
    for trial in found.get_trials(states=(optuna.trial.TrialState.COMPLETE,)):  # its value: its run's dev accuracy
        (run,) = [r for r in runs if r["trial"] == trial.number]
        assert trial.value == run["estimate"]["accuracy"] and trial.user_attrs["run"].endswith(run["name"])
        assert run["config"]["hidden_sizes"] == [256, 128] and run["config"]["epochs"] == 2  # the fixed knobs
    again = ok(tune(tmp_path, *TINY, "--trials", "3"))
    assert "holds 3 trials already" in again and len(found.get_trials()) == 3
    listed = subprocess.run([CLI, "runs"], cwd=tmp_path, capture_output=True, text=True).stdout
    assert "trial 2 of mlp" in listed


def run_two_at_once(tmp_path: Path, storage: str, trials: int = 4) -> None:
    """Two tune processes on one study from the start (both may try to create it), each with its own runs folder;
    however the trials fall between them (one may find the total reached when it gets going), none is lost."""
    processes = [
        subprocess.Popen(
            [CLI, "tune", *TINY, "--trials", str(trials), "--storage", storage, "--runs-dir", f"runs{i}"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in (1, 2)
    ]
    said = []
    for process in processes:
        out, err = process.communicate(timeout=300)
        said.append(out + err)
        assert process.returncode == 0, err
    found = study(storage)
    numbers, seen = [trial.number for trial in found.get_trials()], f"{states(found)}\n" + "\n".join(said)
    assert len(numbers) == len(set(numbers)) and sum(s in COUNTED for s in states(found)) >= trials, seen
    assert "FAIL" not in states(found), seen  # none lost to the race
    trained = [r["trial"] for i in (1, 2) for r in records(tmp_path / f"runs{i}")]
    assert sorted(trained) == sorted(numbers), seen  # each trial's run in the runs folder of the process that ran it


def test_two_processes_share_one_sqlite_study(tmp_path):
    run_two_at_once(tmp_path, f"sqlite:///{tmp_path / 'shared.db'}")


@pytest.mark.skipif(bool(can_start()), reason=can_start() or "a server can start")
def test_two_processes_share_one_postgresql_study(tmp_path):
    with postgres_server() as url:
        run_two_at_once(tmp_path, url)


def test_the_median_pruner_stops_a_hopeless_trial_and_its_run_says_pruned(tmp_path):
    storage = f"sqlite:///{tmp_path / 'runs' / 'tune.db'}"
    (tmp_path / "runs").mkdir(parents=True)
    found = optuna.create_study(study_name="mlp", storage=storage, direction="maximize")
    good = {"learning_rate": 3e-3, "weight_decay": 1e-4, "dropout": 0.1, "label_smoothing": 0.0, "elastic": 0.0,
            "batch_size": 64}  # fmt: skip
    for params in (good, good | {"dropout": 0.2}, good | {"learning_rate": 1e-4, "batch_size": 256}):
        found.enqueue_trial(params)  # two good recipes first, then a hopelessly slow one
    args = ["--sample", "--preset", "mlp", "--param", "epochs=4", "--param", "width=0.5", "--trials", "3"]
    out = ok(tune(tmp_path, *args))
    assert states(study(storage)) == ["COMPLETE", "COMPLETE", "PRUNED"]
    assert re.search(r"trial 2: pruned at epoch [234]", out), out
    (pruned,) = [r for r in records(tmp_path / "runs") if r["trial"] == 2]
    assert pruned["status"] == "pruned" and pruned["submission"] is None
    resumed = subprocess.run([CLI, "train", "--resume", f"runs/{pruned['name']}"], cwd=tmp_path, capture_output=True,
                             text=True)  # fmt: skip
    assert resumed.returncode == 1 and "pruned this trial" in resumed.stderr


def test_an_interrupted_trial_is_failed_interrupted_and_tune_goes_on(tmp_path):
    process = subprocess.Popen([CLI, "tune", "--sample", "--preset", "mlp", "--param", "epochs=30", "--param",
                                "width=2.0", "--trials", "2"], cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("runs/*/checkpoint*.npz")):
        assert time.monotonic() < deadline and process.poll() is None, process.communicate()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 143 and err.count("\n") == 1 and "interrupted at epoch" in err, err
    storage = f"sqlite:///{tmp_path / 'runs' / 'tune.db'}"
    (trial,) = study(storage).get_trials()
    assert trial.state.name == "FAIL" and trial.user_attrs["interrupted"] is True
    (run,) = records(tmp_path / "runs")
    assert run["status"] == "interrupted" and run["trial"] == 0
    shown = ok(tune(tmp_path, "--study", "mlp", "--show"))
    assert re.search(r"\b0\b.*interrupted", shown)


def test_show_draws_the_study_and_its_train_line_retrains_the_best_trial_exactly(tmp_path):
    ok(tune(tmp_path, *TINY, "--trials", "3"))
    out = ok(tune(tmp_path, "--study", "mlp", "--show"))
    for picture in ("tune-mlp-history.png", "tune-mlp-parallel.png"):
        assert (tmp_path / "runs" / picture).read_bytes().startswith(b"\x89PNG")
    best = study(f"sqlite:///{tmp_path / 'runs' / 'tune.db'}").best_trial
    line = re.search(r"Retrain it: (kaggle-digits train .*)", out).group(1)
    again = tmp_path / "again"
    again.mkdir()
    retrained = subprocess.run([CLI, *line.split()[1:], "--sample"], cwd=again, capture_output=True, text=True)
    assert retrained.returncode == 0, retrained.stderr
    (record,) = records(again / "runs")
    assert record["estimate"]["accuracy"] == best.value  # the exact recipe: the same dev accuracy


def test_confirm_trains_the_best_recipe_on_folds_of_an_unseen_split(tmp_path):
    ok(tune(tmp_path, *TINY, "--trials", "2"))
    out = ok(tune(tmp_path, "--sample", "--study", "mlp", "--confirm"))
    confirmed = [r for r in records(tmp_path / "runs") if r["name"].endswith("mlp-confirm")]
    assert len(confirmed) == 1 and confirmed[0]["folds"] == 5 and confirmed[0]["config"]["split_seed"] == 1
    assert "5 folds on split seed 1" in out and "(selected, biased upward)" in out


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--param", "depth=3"], "--param depth=3: use KNOB=VALUE with a knob of mlp"),
        (["--storage", "nosuch://x"], "cannot open the study storage nosuch://x"),
        (
            ["--storage", "postgresql://someone:secret@127.0.0.1:1/db"],
            "cannot open the study storage postgresql://someone:***@127.0.0.1:1/db",
        ),
        (["--trials", "0"], "--trials 0: give the study's total"),
        (["--timeout", "0"], "--timeout 0: give a time above zero such as 2h"),
        (["--timeout", "soon"], "--timeout soon: give a time above zero such as 2h"),
    ],
)
def test_refusals_are_one_line_before_any_training(tmp_path, args, words):
    done = tune(tmp_path, "--sample", "--preset", "mlp", "--trials", "1", *args)
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert words in done.stderr and "secret" not in done.stderr
    assert not list(tmp_path.glob("runs/*/metrics.json"))


def test_timeout_starts_no_trial_after_its_time_and_the_one_under_way_finishes(tmp_path):
    out = ok(tune(tmp_path, *TINY, "--timeout", "1s"))  # no --trials: time alone bounds the study
    found = study(f"sqlite:///{tmp_path / 'runs' / 'tune.db'}")
    trials = found.get_trials()
    first = min(trial.datetime_start for trial in trials)
    assert 1 <= len(trials) < 20 and set(states(found)) <= COUNTED
    assert all((trial.datetime_start - first).total_seconds() < 1 for trial in trials)
    assert f"Study mlp: {len(trials)} trials finished or pruned" in out


def test_a_study_of_another_preset_is_refused(tmp_path):
    ok(tune(tmp_path, *TINY, "--trials", "1", "--study", "mine"))
    done = tune(tmp_path, "--sample", "--preset", "tutorial", "--trials", "2", "--study", "mine")
    assert done.returncode == 1 and "--study mine: searches the preset mlp, not tutorial" in done.stderr
    assert len(records(tmp_path / "runs")) == 1


def test_show_where_no_study_was_started_is_one_line_and_makes_no_database(tmp_path):
    done = tune(tmp_path, "--study", "nosuch", "--show")
    assert done.returncode == 1 and done.stderr.count("\n") == 1, done.stderr
    assert "no study storage at" in done.stderr and not (tmp_path / "runs").exists()
