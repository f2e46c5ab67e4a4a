"""Every use case both faces call, in seconds: tiny networks on 300 synthetic rows, the real Kaggle client against
the stand-in server in this process. The slow suite covers the same through the command line and subprocesses."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from kaggle_server import KEY, USERNAME, KaggleServer

from kaggle_digits.errors import ConfigError, KaggleDigitsError
from kaggle_digits.pipeline.train import RunInterrupted
from kaggle_digits.runfolder.record import DataSource
from kaggle_digits.usecases import blending, inspecting, kaggle, training

from helpers import photo_of

TINY = {"hidden_sizes": (16,), "epochs": 2, "augment": False}


@pytest.fixture
def places(tmp_path, blob_dir) -> dict:
    return {"runs_dir": tmp_path / "runs", "submissions_dir": tmp_path / "submissions"}


def trained(blob_dir: Path, places: dict, **extra):
    request = training.train_request("mlp", DataSource.full(blob_dir), **places, **(TINY | extra))
    return training.train(request)


def test_train_writes_a_run_and_a_resume_finishes_a_stopped_one_as_if_never_stopped(blob_dir, places, tmp_path):
    straight = trained(blob_dir, places, seed=3, name="straight")

    def stop_after_the_first_epoch(event):
        if event.record is not None:
            raise KeyboardInterrupt

    request = training.train_request("mlp", DataSource.full(blob_dir), **places, **TINY, seed=3, name="stopped")
    with pytest.raises(RunInterrupted):
        training.train(request, on_event=stop_after_the_first_epoch)
    (stopped,) = places["runs_dir"].glob("*-stopped")
    assert training.stopped_run(stopped).status == "interrupted"
    resumed = training.resume(stopped)
    assert resumed.record.status == "finished" and resumed.record.epochs_done == 2
    assert resumed.submission_path.read_bytes() == straight.submission_path.read_bytes()
    with pytest.raises(KaggleDigitsError, match="has finished already"):
        training.resume(stopped)


def test_a_request_is_refused_by_the_rules_both_faces_share(blob_dir, places):
    with pytest.raises(ConfigError, match="not a setting"):
        training.train_request("mlp", DataSource.full(blob_dir), epoch=3)
    with pytest.raises(ConfigError, match="choose one"):
        training.data_source(True, blob_dir)
    request = training.train_request("mlp", DataSource.full(blob_dir), **places, folds=5, dev_size=0.1)
    with pytest.raises(ConfigError, match="choose one; every fold is held out once"):
        training.train(request)
    assert not places["runs_dir"].exists()
    request = training.train_request("mlp", DataSource.full(blob_dir), **places, folds=3, ensemble=2)
    assert request.networks == 6


def test_ensemble_blends_runs_and_a_dry_run_writes_nothing(blob_dir, places):
    a = trained(blob_dir, places, seed=1, name="a")
    b = trained(blob_dir, places, seed=2, split_seed=1, name="b")
    rehearsed = blending.ensemble([a.run_dir, b.run_dir], places["runs_dir"], places["submissions_dir"], dry_run=True)
    assert rehearsed.outcome is None and len(list(places["runs_dir"].iterdir())) == 2
    made = blending.ensemble([b.run_dir, a.run_dir], places["runs_dir"], places["submissions_dir"], select=True)
    assert made.estimate.rows == 30 and sum(made.weights.values()) == pytest.approx(1)
    assert made.outcome.record.is_blend and made.outcome.submission_path.is_file()


def test_inspection_of_a_finished_run(blob_dir, places, tmp_path):
    outcome = trained(blob_dir, places, seed=0)
    run = inspecting.finished_run(outcome.run_dir.name, places["runs_dir"])
    (row,) = inspecting.runs(places["runs_dir"])
    assert row.status == "finished" and run.path == outcome.run_dir
    evaluated = inspecting.evaluate(run)
    assert evaluated.confusion_path.is_file() and 0 <= evaluated.accuracy <= 1
    for why in (False, True):
        drawn, explained = inspecting.mistakes(run, 4, out=tmp_path / f"m{why}.png", why=why)
        assert drawn.path.is_file() and (explained is not None) == why
    assert inspecting.curves_figure(run) is not None and inspecting.confusion_figure(run) is not None
    shown = inspecting.digit(3, False, None, run.path, places["runs_dir"])
    assert shown.proba.shape == (10,) and shown.image.shape == (784,)
    picture, _ = inspecting.explain_digit(shown, False, 3)
    assert picture.is_file()
    path, labels = inspecting.predict(run, out=tmp_path / "p.csv")
    assert pd.read_csv(path)["Label"].tolist() == labels.tolist() and len(labels) == 50
    image = pd.read_csv(blob_dir / "train.csv").iloc[0, 1:].to_numpy()
    photo_of(image, tmp_path / "digit.png")
    read, problems = inspecting.read_pictures(run, [tmp_path / "digit.png", tmp_path / "none.png"])
    assert len(read) == 1 and 0 <= read[0].digit <= 9 and len(problems) == 1


def kaggle_zip(blob_dir: Path) -> bytes:
    buffer = io.BytesIO()
    test_rows = len(pd.read_csv(blob_dir / "test.csv"))
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in ("train.csv", "test.csv"):
            archive.write(blob_dir / name, name)
        archive.writestr(
            "sample_submission.csv", "ImageId,Label\n" + "".join(f"{i},0\n" for i in range(1, test_rows + 1))
        )
    return buffer.getvalue()


@pytest.fixture
def stand_in_kaggle(monkeypatch, tmp_path):
    """The official client, in this process, pointed at the stand-in server."""
    with KaggleServer() as server:
        for name, value in {
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": server.proxy,
            "http_proxy": server.proxy,
            "NO_PROXY": "",
            "no_proxy": "",
            "KAGGLE_USERNAME": USERNAME,
            "KAGGLE_KEY": KEY,
            "HOME": str(tmp_path / "home"),
        }.items():
            monkeypatch.setenv(name, value)
        yield server


def test_download_from_a_zip_and_from_kaggle_then_submit(blob_dir, places, tmp_path, stand_in_kaggle):
    (tmp_path / "kaggle.zip").write_bytes(kaggle_zip(blob_dir))
    copied = kaggle.download(tmp_path / "data", source=tmp_path / "kaggle.zip")
    assert copied.downloaded and copied.rows["train.csv"] == 300
    stand_in_kaggle.state.zip_bytes = kaggle_zip(blob_dir)
    fetched = kaggle.download(tmp_path / "fetched")
    assert (
        fetched.downloaded and (tmp_path / "fetched" / "test.csv").read_bytes() == (blob_dir / "test.csv").read_bytes()
    )
    outcome = trained(tmp_path / "data", places)
    rehearsal = kaggle.submission_plan(outcome.run_dir, tmp_path / "data", places["runs_dir"], dry_run=True)
    assert rehearsal.refused == "" and rehearsal.rows == 50
    plan = kaggle.submission_plan(outcome.run_dir, tmp_path / "data", places["runs_dir"])
    stand_in_kaggle.state.labels = np.zeros(50, np.int64)
    client, source = kaggle.client()
    assert source == "KAGGLE_USERNAME and KAGGLE_KEY"
    sent = kaggle.send(plan, client, "fast test")
    scored = kaggle.score(client, sent.ref, timeout=30, poll=0.01)
    assert scored.status == "COMPLETE" and scored.public_score
    (row,) = kaggle.submissions(runs_dir=places["runs_dir"], kaggle=client)
    assert row.run is not None and row.run.path.name == outcome.run_dir.name
    scores = json.loads((places["runs_dir"] / "kaggle-submissions.json").read_text())
    assert list(scores) == [outcome.submission_path.name]
