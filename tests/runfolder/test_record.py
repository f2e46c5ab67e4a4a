"""The run record: paths relative to the run folder (a moved runs folder works), older records read, and a record
edited by hand (a field missing, of another type, out of range) refused in one line by every command."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from kaggle_digits.terminal.cli import app

SMALL = ["--preset", "mlp", "--hidden", "16", "--epochs", "2"]

pytestmark = pytest.mark.slow  # every test here trains a network


def train(runner, blob_dir: Path, *extra: str) -> Path:
    result = runner.invoke(app, ["train", "--data-dir", str(blob_dir), *SMALL, *extra])
    assert result.exit_code == 0, result.output
    return max(Path("runs").iterdir(), key=lambda p: p.stat().st_mtime_ns)


def one_line(result, message: str = "") -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in result.stderr and "Traceback" not in result.output


def test_a_project_moved_elsewhere_keeps_working(runner, tmp_path, blob_dir, monkeypatch):
    """runs/, submissions/ and data/ copied to another folder: every command finds the run's files there."""
    old = tmp_path / "old"
    old.mkdir()
    monkeypatch.chdir(old)
    shutil.move(str(blob_dir), old / "data")
    run_dir = train(runner, Path("data"), "--folds", "2")
    assert runner.invoke(app, ["train", "--data-dir", "data", *SMALL, "--name", "half"]).exit_code == 0
    half = next(Path("runs").glob("*-half"))
    values = json.loads((run_dir / "metrics.json").read_text())
    assert values["format"] == 5 and values["submission"].startswith("../../submissions/")
    new = tmp_path / "new"
    shutil.copytree(old, new, symlinks=True)
    shutil.rmtree(old)
    monkeypatch.chdir(new)
    name = run_dir.name
    assert runner.invoke(app, ["runs"]).exit_code == 0
    listed = runner.invoke(app, ["runs"]).stdout
    assert name in listed and "unreadable" not in listed
    for args in (
        ["submit", name, "--dry-run"],
        ["predict", name, "--out", "p.csv"],
        ["evaluate", name],
        ["misclassified", name, "--out", "m.png"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
    assert "Would submit it to" in runner.invoke(app, ["submit", name, "--dry-run"]).stdout
    record = json.loads((half / "metrics.json").read_text())
    record["status"] = "interrupted"  # as a Ctrl-C before the end would have left it
    (half / "metrics.json").write_text(json.dumps(record))
    (half / "model.npz").unlink()
    resumed = runner.invoke(app, ["train", "--resume", str(half)])
    assert resumed.exit_code == 0, resumed.output
    written = json.loads((half / "metrics.json").read_text())["submission"]
    assert (half / written).resolve().parent == (new / "submissions").resolve()


def test_a_record_written_by_0_2_0_still_reads(runner, in_tmp, blob_dir):
    """Format 2: paths as given, relative to the working folder."""
    run_dir = train(runner, blob_dir)
    values = json.loads((run_dir / "metrics.json").read_text())
    values |= {"format": 2, "submission": f"submissions/{run_dir.name}.csv", "submissions_dir": "submissions"}
    values["data"]["dir"] = str(blob_dir.resolve())
    for part in values["parts"]:
        del part["threads"]  # a field 0.2.0 did not write
    (run_dir / "metrics.json").write_text(json.dumps(values))
    result = runner.invoke(app, ["submit", str(run_dir), "--dry-run", "--data-dir", str(blob_dir)])
    assert result.exit_code == 0 and run_dir.name in result.stdout.replace("\n", ""), result.output
    assert runner.invoke(app, ["evaluate", str(run_dir)]).exit_code == 0


def test_a_record_written_before_blends_still_reads(runner, in_tmp, blob_dir):
    """Format 3: no member digests or weights (nor format 5's study and trial); paths relative to the run folder."""
    run_dir = train(runner, blob_dir)
    values = json.loads((run_dir / "metrics.json").read_text())
    assert values["format"] == 5 and values["weights"] == [] and values["member_digests"] == []
    assert values["study"] == "" and values["trial"] is None
    del values["weights"], values["member_digests"], values["study"], values["trial"]
    (run_dir / "metrics.json").write_text(json.dumps(values | {"format": 3}))
    listed = runner.invoke(app, ["runs"])
    assert listed.exit_code == 0 and "unreadable" not in listed.stdout
    result = runner.invoke(app, ["submit", str(run_dir), "--dry-run", "--data-dir", str(blob_dir)])
    assert result.exit_code == 0 and "Would submit it to" in result.stdout, result.output


def paths_in(values, prefix=()):
    """Every key path of a JSON object (the first element of a list of objects stands for the rest)."""
    if isinstance(values, dict):
        for key, value in values.items():
            yield (*prefix, key)
            yield from paths_in(value, (*prefix, key))
    elif isinstance(values, list) and values and isinstance(values[0], dict):
        yield from paths_in(values[0], (*prefix, 0))


def edited(values: dict, path: tuple, value) -> dict:
    values = copy.deepcopy(values)
    node = values
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return values


BAD_VALUES = [KeyError, None, "x", -1, {}]
REQUIRED = ("config", "data", "status", "name")


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[Path, Path, dict]:
    """A finished run on synthetic digits (folder, data folder, record)."""
    import numpy as np
    from typer.testing import CliRunner

    from helpers import blob_digits, write_csv

    root = tmp_path_factory.mktemp("edited")
    data = root / "data"
    data.mkdir()
    rng = np.random.default_rng(7)
    images, labels = blob_digits(300, rng)
    write_csv(data / "train.csv", images, labels)
    write_csv(data / "test.csv", blob_digits(50, rng)[0], None)
    args = ["train", "--data-dir", str(data), *SMALL, "--runs-dir", str(root / "runs"), "--submissions-dir",
            str(root / "submissions")]  # fmt: skip
    assert CliRunner().invoke(app, args).exit_code == 0
    (run_dir,) = (root / "runs").iterdir()
    return run_dir, data, json.loads((run_dir / "metrics.json").read_text())


def test_every_field_edited_by_hand_is_one_line_or_harmless_and_runs_lists_the_rest(runner, tmp_path, finished):
    """Each field of a finished record deleted or given another type: no command shows a traceback; `runs` still
    lists the other run, and marks the damaged one."""
    source, data, values = finished
    runs = tmp_path / "runs"
    shutil.copytree(source.parent, runs)
    victim = runs / source.name
    shutil.copytree(victim, runs / "zz-intact")
    commands = [
        ["evaluate", str(victim)],
        ["submit", str(victim), "--dry-run", "--data-dir", str(data), "--runs-dir", str(runs)],
        ["train", "--resume", str(victim)],
    ]
    tried = 0
    for path in [p for p in paths_in(values) if p[0] != "config" or len(p) == 1]:  # the config checks itself
        for value in BAD_VALUES:
            (victim / "metrics.json").write_text(json.dumps(edited(values, path, value)))
            listed = runner.invoke(app, ["runs", "--runs-dir", str(runs)])
            assert listed.exit_code == 0 and "zz-intact" in listed.stdout, (path, value, listed.output)
            for args in commands:
                result = runner.invoke(app, args)
                tried += 1
                assert not result.exception or isinstance(result.exception, SystemExit), (path, value, args)
                assert result.exit_code in (0, 1) and "Traceback" not in result.output, (path, value, args)
                if result.exit_code == 1:
                    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert tried > 300


@pytest.mark.parametrize(
    ("path", "value", "reason"),
    [
        (("status",), "paused", "status 'paused'"),
        (("members",), 0, "members is 0"),
        (("parts", 0, "kind"), "half", "kind 'half'"),
        (("estimate", "accuracy"), 7.5, "not an accuracy"),
        (("parts", 0, "history", 0, "loss"), "low", "not a number"),
        (("timings",), [], "timings is a JSON array"),
    ],
)
def test_a_field_of_another_type_or_an_unknown_value_is_named(runner, tmp_path, finished, path, value, reason):
    source, _, values = finished
    victim = tmp_path / "runs" / source.name
    shutil.copytree(source, victim)
    (victim / "metrics.json").write_text(json.dumps(edited(values, path, value)))
    one_line(runner.invoke(app, ["evaluate", str(victim)]), reason)
    listed = runner.invoke(app, ["runs", "--runs-dir", str(tmp_path / "runs")])
    assert "unreadable" in listed.stdout
