"""Blending finished runs: the estimate counts only rows every member held out (recomputed here from the members'
own files), the CSV averages their kept test softmax, a blend is a run, and every refusal is one line that writes
nothing."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from kaggle_digits.terminal.cli import app

from helpers import blob_digits, tree, write_csv

pytestmark = pytest.mark.slow  # the module trains a handful of tiny networks once

SMALL = ["--preset", "mlp", "--hidden", "16", "--epochs", "2", "--no-augment"]
RUNS = {  # name: options; every network is a few milliseconds of training on 300 synthetic rows
    "folds-a": ["--folds", "3", "--seed", "1"],
    "folds-b": ["--folds", "3", "--seed", "2"],
    "dev": ["--seed", "3", "--dev-size", "60"],
    "full": ["--seed", "4", "--dev-size", "0"],
    "best": ["--seed", "5", "--dev-size", "60", "--keep", "best"],
}


@contextlib.contextmanager
def working_in(folder: Path):
    old = Path.cwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(old)


def blob_data(folder: Path, seed: int) -> Path:
    rng = np.random.default_rng(seed)
    folder.mkdir()
    images, labels = blob_digits(300, rng)
    write_csv(folder / "train.csv", images, labels)
    write_csv(folder / "test.csv", blob_digits(50, rng)[0], None)
    return folder


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A project folder: data/, runs/ with the four RUNS, a run on other data (runs-other/), two sample runs."""
    root = tmp_path_factory.mktemp("blend")
    blob_data(root / "data", 7)
    blob_data(root / "other-data", 8)
    runner = CliRunner()
    with working_in(root):
        for name, extra in RUNS.items():
            result = runner.invoke(app, ["train", "--data-dir", "data", *SMALL, *extra, "--name", name])
            assert result.exit_code == 0, result.output
        args = ["train", "--data-dir", "other-data", *SMALL, "--name", "other", "--runs-dir", "runs-other"]
        assert runner.invoke(app, args).exit_code == 0
        for seed in ("1", "2"):
            args = ["train", "--sample", *SMALL, "--seed", seed, "--name", f"sample{seed}", "--runs-dir", "runs-sample"]
            assert runner.invoke(app, args).exit_code == 0
    return root


@pytest.fixture
def project(trained, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the trained project, as the working folder."""
    copy = tmp_path / "project"
    shutil.copytree(trained, copy)
    monkeypatch.chdir(copy)
    return copy


def run(name: str, runs: str = "runs") -> Path:
    (found,) = Path(runs).glob(f"*-{name}")
    return found


def blend(*args: str):
    return CliRunner().invoke(app, ["ensemble", *args])


def newest_blend() -> Path:
    return max(Path("runs").glob("*-blend-*"), key=lambda p: p.stat().st_mtime_ns)


def expected(*names: str) -> tuple[int, int, np.ndarray]:
    """(right, rows, test labels) of the plain average, from each member's heldout.npz and test_softmax.npz alone."""
    labels = pd.read_csv("data/train.csv")["label"].to_numpy()
    held = [dict(np.load(run(n) / "heldout.npz")) for n in names]
    rows = sorted(set.intersection(*(set(h["rows"].tolist()) for h in held)))
    by_row = [dict(zip(h["rows"].tolist(), h["proba"], strict=True)) for h in held]
    p = np.mean([[b[r] for r in rows] for b in by_row], axis=0) if rows else np.zeros((0, 10))
    right = int((p.argmax(axis=1) == labels[rows]).sum()) if rows else 0
    test = np.mean([np.load(run(n) / "test_softmax.npz")["proba"].astype(np.float64) for n in names], axis=0)
    return right, len(rows), test.argmax(axis=1)


def submitted(blend_dir: Path) -> np.ndarray:
    record = json.loads((blend_dir / "metrics.json").read_text())
    return pd.read_csv(blend_dir / record["submission"])["Label"].to_numpy()


def test_two_folds_runs_share_every_row_and_the_estimate_counts_them(project):
    result = blend(str(run("folds-a")), str(run("folds-b")))
    assert result.exit_code == 0, result.output
    right, rows, test = expected("folds-a", "folds-b")
    made = newest_blend()
    record = json.loads((made / "metrics.json").read_text())
    assert rows == 300 and record["estimate"]["rows"] == 300
    assert record["estimate"]["accuracy"] == pytest.approx(right / 300)
    assert record["weights"] == [0.5, 0.5] and record["status"] == "finished"
    members = sorted(Path(made, p).resolve().name for p in record["combined_from"])
    assert members == sorted([run("folds-a").name, run("folds-b").name])
    for member, digest in zip(record["combined_from"], record["member_digests"], strict=True):
        csv = Path(made, member).resolve() / json.loads((Path(made, member) / "metrics.json").read_text())["submission"]
        assert hashlib.sha256(csv.resolve().read_bytes()).hexdigest() == digest
    assert np.array_equal(submitted(made), test)
    text = " ".join(result.output.split())
    assert "300 rows every member held out" in text and f"{right / 300:.4f}" in text
    listed = " ".join(CliRunner().invoke(app, ["runs"]).output.split())
    assert made.name in listed and "blend of 2" in listed


def test_a_dev_split_member_narrows_the_rows_to_its_dev_rows(project):
    result = blend(str(run("folds-a")), str(run("folds-b")), str(run("dev")))
    assert result.exit_code == 0, result.output
    right, rows, test = expected("folds-a", "folds-b", "dev")
    record = json.loads((newest_blend() / "metrics.json").read_text())
    assert rows == 60 and record["estimate"]["rows"] == 60
    assert record["estimate"]["accuracy"] == pytest.approx(right / 60)
    assert np.array_equal(submitted(newest_blend()), test)


def test_a_full_fit_member_leaves_no_estimate_and_is_named(project):
    result = blend(str(run("folds-a")), str(run("full")))
    assert result.exit_code == 0, result.output
    record = json.loads((newest_blend() / "metrics.json").read_text())
    assert record["estimate"] is None and record["selected"] is None
    text = " ".join(result.output.split())
    assert f"estimate: none ({run('full').name} trained on every row (a full fit)" in text
    assert np.array_equal(submitted(newest_blend()), expected("folds-a", "full")[2])


def test_a_member_that_kept_its_best_epoch_makes_the_figure_a_selected_one(project):
    result = blend(str(run("folds-a")), str(run("best")))
    assert result.exit_code == 0, result.output
    record = json.loads((newest_blend() / "metrics.json").read_text())
    assert record["estimate"] is None and "kept its best epoch there" in record["selected"]["method"]
    assert "optimistic, not an estimate" in " ".join(result.output.split())


def test_members_in_another_order_give_the_same_bytes(project):
    first = blend(str(run("dev")), str(run("folds-a")), str(run("folds-b")), "--name", "one")
    second = blend(str(run("folds-b")), str(run("dev")), str(run("folds-a")), "--name", "two")
    assert first.exit_code == second.exit_code == 0
    one, two = run("blend-one"), run("blend-two")
    for name in ("heldout.npz", "test_softmax.npz"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    assert Path("submissions", f"{one.name}.csv").read_bytes() == Path("submissions", f"{two.name}.csv").read_bytes()
    assert (
        json.loads((one / "metrics.json").read_text())["combined_from"]
        == json.loads((two / "metrics.json").read_text())["combined_from"]
    )


def test_a_blend_named_as_a_member_counts_as_its_own_members(project):
    assert blend(str(run("folds-a")), str(run("folds-b")), "--name", "pair").exit_code == 0
    result = blend(str(run("blend-pair")), str(run("dev")), "--name", "nested")
    assert result.exit_code == 0, result.output
    assert blend(str(run("folds-a")), str(run("folds-b")), str(run("dev")), "--name", "flat").exit_code == 0
    nested = json.loads((run("blend-nested") / "metrics.json").read_text())
    assert len(nested["combined_from"]) == 3 and nested["weights"] == [pytest.approx(1 / 3)] * 3
    flat_csv = Path("submissions", f"{run('blend-flat').name}.csv").read_bytes()
    assert Path("submissions", f"{run('blend-nested').name}.csv").read_bytes() == flat_csv
    again = blend(str(run("blend-pair")), str(run("folds-a")))
    assert again.exit_code == 1 and "named twice (also inside" in again.stderr


def test_a_blend_is_evaluated_and_its_mistakes_drawn_from_its_shared_rows(project):
    assert blend(str(run("folds-a")), str(run("dev"))).exit_code == 0
    made = newest_blend()
    evaluated = CliRunner().invoke(app, ["evaluate", "--run", str(made)])
    assert evaluated.exit_code == 0, evaluated.output
    record = json.loads((made / "metrics.json").read_text())
    assert f"shared held-out accuracy {record['estimate']['accuracy']:.4f}" in " ".join(evaluated.output.split())
    drawn = CliRunner().invoke(app, ["misclassified", "--run", str(made), "--limit", "4"])
    assert drawn.exit_code == 0 and (made / "misclassified.png").is_file(), drawn.output
    why = CliRunner().invoke(app, ["misclassified", "--run", str(made), "--why"])
    one_line(why, "a blend has no model of its own; use one of its members")


def test_a_dry_run_shows_the_blend_and_writes_nothing(project):
    before = tree(project)
    result = blend(str(run("folds-a")), str(run("dev")), "--select", "--dry-run")
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "Dry run: nothing written." in text and "60 rows every member held out" in text
    assert "estimate:" in text and "weight" in text
    assert tree(project) == before


def test_selection_reports_weights_a_nested_estimate_and_its_in_sample_figure_apart(project):
    result = blend(str(run("folds-a")), str(run("folds-b")), str(run("dev")), "--select")
    assert result.exit_code == 0, result.output
    made = newest_blend()
    record = json.loads((made / "metrics.json").read_text())
    assert sum(record["weights"]) == pytest.approx(1) and all(w >= 0 for w in record["weights"])
    assert "nested" in record["estimate"]["method"] and "selected on these rows" in record["selected"]["method"]
    labels = pd.read_csv("data/train.csv")["label"].to_numpy()
    kept = np.load(made / "heldout.npz")  # the nested softmax the estimate counted
    right = int((kept["proba"].argmax(axis=1) == labels[kept["rows"]]).sum())
    assert record["estimate"]["accuracy"] == pytest.approx(right / record["estimate"]["rows"])
    text = " ".join(result.output.split())
    assert "optimistic, not an estimate" in text


def test_runs_from_before_kept_test_softmax_are_predicted_again(project):
    assert blend(str(run("folds-a")), str(run("dev")), "--name", "kept").exit_code == 0
    for name in ("folds-a", "dev"):
        (run(name) / "test_softmax.npz").unlink()
    result = blend(str(run("folds-a")), str(run("dev")), "--name", "again")
    assert result.exit_code == 0, result.output
    assert "predicted again" in " ".join(result.output.split())
    assert np.array_equal(submitted(run("blend-again")), submitted(run("blend-kept")))


def test_submit_takes_a_full_data_blend_and_refuses_a_sample_one(project):
    assert blend(str(run("folds-a")), str(run("dev"))).exit_code == 0
    full = CliRunner().invoke(app, ["submit", str(newest_blend()), "--dry-run"])
    assert full.exit_code == 0 and "Would submit it to" in full.stdout, full.output
    args = [str(run("sample1", "runs-sample")), str(run("sample2", "runs-sample")), "--runs-dir", "runs-sample"]
    assert blend(*args).exit_code == 0
    made = max(Path("runs-sample").glob("*-blend-*"))
    sample = CliRunner().invoke(app, ["submit", str(made), "--dry-run", "--runs-dir", "runs-sample"])
    assert "Would refuse it" in sample.stdout, sample.output
    assert "a --sample run" in " ".join(sample.stdout.split())


def one_line(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: "), result.stderr
    assert message in " ".join(result.stderr.split()) and "Traceback" not in result.output


def damage(how: str) -> list[str]:
    """Break a member as `how` says; returns the runs to blend."""
    a, dev = run("folds-a"), run("dev")
    if how == "interrupted":
        values = json.loads((dev / "metrics.json").read_text()) | {"status": "interrupted"}
        (dev / "metrics.json").write_text(json.dumps(values))
    elif how == "no held-out":
        (dev / "heldout.npz").unlink()
    elif how == "damaged test softmax":
        (dev / "test_softmax.npz").write_bytes(b"PK\x03\x04 not really")
    elif how == "no model":
        (dev / "model.npz").unlink()
    elif how == "damaged model":
        (dev / "model.npz").write_bytes(b"")
    elif how == "other data":
        return [str(a), str(run("other", "runs-other"))]
    elif how == "test.csv changed":
        test = pd.read_csv("data/test.csv")
        test.iloc[0, 0] = 255 - test.iloc[0, 0]
        test.to_csv("data/test.csv", index=False)
    return [str(a), str(dev)]


@pytest.mark.parametrize(
    ("how", "message"),
    [
        ("interrupted", "this run is interrupted, not finished"),
        ("no held-out", "its held-out predictions (heldout.npz) are missing"),
        ("damaged test softmax", "test_softmax.npz: damaged"),
        ("no model", "model.npz: missing from this finished run"),
        ("damaged model", "model.npz"),
        ("other data", "trained on other data than"),
        ("test.csv changed", "test.csv: changed since its runs predicted it"),
    ],
)
def test_a_member_that_cannot_be_blended_is_one_line_and_nothing_is_written(project, how, message):
    members = damage(how)
    before = written(project)
    one_line(blend(*members), message)
    assert written(project) == before


def written(project: Path) -> dict[str, bytes]:
    """The project's files, but for the CSV parser's cache (kept up to date with a changed CSV by design)."""
    return {name: data for name, data in tree(project).items() if not name.endswith(".cache.npz")}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["folds-a"], "name at least two finished runs"),
        (["folds-a", "folds-a"], "named twice"),
        (["folds-a", "dev", "--name", "../x"], "--name ../x: a run name is one folder name"),
        (
            ["folds-a", "full", "--select"],
            "trained on every row (a full fit); no row was held out by every member; selection",
        ),
    ],
)
def test_asking_for_a_blend_that_cannot_be_is_one_line(project, args, message):
    before = tree(project)
    one_line(blend(*[str(run(a)) if not a.startswith("-") and "/" not in a else a for a in args]), message)
    assert tree(project) == before


def test_the_notebook_face_blends_as_the_command_does(project):
    import kaggle_digits as kd

    members = [run("folds-a"), run("dev")]
    rehearsed = kd.ensemble(members, dry_run=True)
    assert rehearsed.outcome is None and not list(Path("runs").glob("*-blend-*"))
    made = kd.ensemble(members, name="nb")
    assert made.estimate == rehearsed.estimate and made.estimate.rows == 60
    assert made.weights == {run("folds-a").name: 0.5, run("dev").name: 0.5}
    assert made.outcome.run_dir == run("blend-nb")
    with pytest.raises(kd.KaggleDigitsError, match="name at least two"):
        kd.ensemble(members[:1])
