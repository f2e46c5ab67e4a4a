"""Checkpoints and resume: a run stopped after any epoch and resumed ends with the same weights, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from kaggle_digits.errors import KaggleDigitsError
from kaggle_digits.nn.serialize import load_model
from kaggle_digits.pipeline.start import TrainRequest
from kaggle_digits.pipeline.train import RunInterrupted, resume_run, train_run
from kaggle_digits.runfolder.folder import MODEL_FILE, read_record
from kaggle_digits.runfolder.record import DataSource
from kaggle_digits.training.presets import preset_config

from helpers import write_csv

pytestmark = pytest.mark.slow  # every test here trains a network or runs a whole command


def request(data_dir, root, members=1, **overrides) -> TrainRequest:
    """A small mlp with dropout and augmentation, so that every random stream matters for exactness."""
    config = preset_config("mlp", hidden_sizes=(24,), dropout=0.2, epochs=4, batch_size=64, augment=True, **overrides)
    # one network after another (jobs=1), so that a progress callback can stop the run at a chosen step
    return TrainRequest(config, DataSource.full(data_dir), root / "runs", root / "submissions", members, jobs=1)


def stop_at(step: int):
    """A progress callback that raises KeyboardInterrupt (as Ctrl-C would) on the given global step."""
    seen = {"steps": 0}

    def callback(event) -> None:
        if event.record is None:
            seen["steps"] += 1
            if seen["steps"] == step:
                raise KeyboardInterrupt

    return callback


def arrays(path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as stored:
        return {k: stored[k] for k in stored.files if k != "header"}


def assert_same_model(a, b) -> None:
    left, right = arrays(a), arrays(b)
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_array_equal(left[key], right[key], err_msg=key)


@pytest.mark.parametrize("overrides", [{}, {"average": 0.9}], ids=["last weights", "weight average"])
def test_a_stopped_run_resumes_to_the_same_weights_bit_for_bit(blob_dir, tmp_path, overrides):
    straight = train_run(request(blob_dir, tmp_path / "a", **overrides))
    with pytest.raises(RunInterrupted) as stopped:
        stopping = stop_at(12)  # 5 steps an epoch: during epoch 3
        train_run(request(blob_dir, tmp_path / "b", **overrides), on_event=stopping)
    run_dir = stopped.value.run_dir
    assert stopped.value.exit_code == 130
    assert str(stopped.value) == f"interrupted at epoch 2/4 — resume with: kaggle-digits train --resume {run_dir}"
    record = read_record(run_dir)
    assert record.status == "interrupted" and record.epochs_done == 2
    assert (run_dir / "checkpoint0.npz").is_file() and not (run_dir / MODEL_FILE).exists()
    assert list((tmp_path / "b" / "submissions").iterdir()) == []  # an unfinished run writes no submission
    first_session = record.timings["earlier_s"]
    resumed = resume_run(run_dir)
    assert resumed.record.status == "finished" and resumed.record.epochs_done == 4
    timings = resumed.record.timings  # the whole command's time counts both sessions
    assert timings["sessions"] == 2 and timings["total_s"] > first_session > 0
    assert_same_model(resumed.model_path, straight.model_path)
    assert resumed.submission_path.read_text() == straight.submission_path.read_text()
    assert [h["loss"] for h in resumed.record.history] == [h["loss"] for h in straight.record.history]
    assert not list(run_dir.glob("checkpoint*.npz")) and not list(run_dir.glob("part*.npz"))


def test_an_ensemble_keeps_finished_members_and_resumes_the_current_one(blob_dir, tmp_path):
    straight = train_run(request(blob_dir, tmp_path / "a", members=2))
    with pytest.raises(RunInterrupted) as stopped:
        train_run(request(blob_dir, tmp_path / "b", members=2), on_event=stop_at(20 + 8))  # member 2, epoch 2
    run_dir = stopped.value.run_dir
    assert "interrupted at epoch 1/4 of member 2/2" in str(stopped.value)
    assert (run_dir / "part0.npz").is_file() and json.loads((run_dir / "metrics.json").read_text())["epochs"] == {
        "done": 5,
        "planned": 8,
    }
    resumed = resume_run(run_dir)
    assert_same_model(resumed.model_path, straight.model_path)
    model, _ = load_model(resumed.model_path)
    assert len(model.networks) == 2


def test_a_stop_before_the_first_epoch_writes_no_model_and_resumes_from_scratch(blob_dir, tmp_path):
    straight = train_run(request(blob_dir, tmp_path / "a"))
    with pytest.raises(RunInterrupted, match="interrupted at epoch 0/4") as stopped:
        train_run(request(blob_dir, tmp_path / "b"), on_event=stop_at(2))
    run_dir = stopped.value.run_dir
    assert sorted(p.name for p in run_dir.iterdir()) == ["metrics.json"]
    assert_same_model(resume_run(run_dir).model_path, straight.model_path)


def test_resume_refuses_changed_data_and_finished_runs(blob_dir, tmp_path):
    with pytest.raises(RunInterrupted) as stopped:
        train_run(request(blob_dir, tmp_path), on_event=stop_at(7))
    run_dir = stopped.value.run_dir
    images = np.zeros((300, 784), np.uint8)
    write_csv(blob_dir / "train.csv", images, np.arange(300) % 10)
    with pytest.raises(KaggleDigitsError, match=r"train.csv: changed since run .* was trained .* cannot be resumed"):
        resume_run(run_dir)
    finished = train_run(request(blob_dir, tmp_path))
    with pytest.raises(KaggleDigitsError, match="has finished already; nothing to resume"):
        resume_run(finished.run_dir)


def test_output_places_are_checked_before_any_data_is_read(tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    missing = tmp_path / "no-data-here"
    bad_runs = TrainRequest(preset_config("mlp"), DataSource.full(missing), tmp_path / "a-file", tmp_path / "subs")
    with pytest.raises(KaggleDigitsError, match=r"^runs_dir .*a-file: not a folder; give runs_dir a folder"):
        train_run(bad_runs)
    bad_subs = TrainRequest(
        preset_config("mlp"), DataSource.full(missing), tmp_path / "runs", tmp_path / "a-file" / "s"
    )
    with pytest.raises(KaggleDigitsError, match=r"^submissions_dir .*a-file/s: cannot write submissions there"):
        train_run(bad_subs)
    assert not (tmp_path / "runs").exists()  # nothing was created before the check failed


def test_a_stop_while_predicting_keeps_every_network_and_resumes_to_the_end(blob_dir, tmp_path):
    def stop_predicting(text: str) -> None:
        if text.startswith("Predicting"):
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted, match="interrupted after training, while predicting") as stopped:
        train_run(request(blob_dir, tmp_path, members=2), stage=stop_predicting)
    run_dir = stopped.value.run_dir
    assert json.loads((run_dir / "metrics.json").read_text())["status"] == "interrupted"
    assert sorted(p.name for p in run_dir.glob("part*.npz")) == ["part0.npz", "part1.npz"]
    outcome = resume_run(run_dir)
    assert outcome.record.status == "finished" and outcome.model_path.is_file()
