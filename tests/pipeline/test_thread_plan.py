"""Which thread count each network of a run trains on: decided once, as 0.2 shared the cores, and kept on resume."""

from __future__ import annotations

import pytest

from kaggle_digits.pipeline import workers as side_by_side
from kaggle_digits.runfolder.record import DataSource, PartRecord, RunRecord
from kaggle_digits.training.presets import preset_config


def record_of(networks: int, jobs: int) -> RunRecord:
    parts = [PartRecord(kind="fold", index=i, seed=i) for i in range(networks)]
    return RunRecord(name="r", config=preset_config("fast"), data=DataSource.sample(), folds=networks, jobs=jobs,
                     parts=parts)  # fmt: skip


@pytest.mark.parametrize(
    ("cores", "networks", "jobs", "threads"),
    [
        (2, 5, 2, [1, 1, 1, 1, 2]),  # four side by side on one core each, the fifth alone on both
        (2, 3, 1, [2, 2, 2]),  # one after another, every core each
        (16, 3, 4, [5, 5, 5]),  # three workers share sixteen cores: 16 // 3 each, as 0.2 gave them
        (16, 5, 4, [4, 4, 4, 4, 16]),
        (8, 2, 2, [4, 4]),
    ],
)
def test_each_network_gets_the_threads_0_2_gave_it(monkeypatch, cores, networks, jobs, threads):
    monkeypatch.setattr(side_by_side, "cpu_count", lambda: cores)
    monkeypatch.setattr(side_by_side, "workers", lambda: cores)
    record = record_of(networks, jobs)
    side_by_side.plan_threads(record, list(range(networks)))
    assert [p.threads for p in record.parts] == threads


def test_a_started_network_keeps_its_threads_whatever_the_resume_asks(monkeypatch):
    monkeypatch.setattr(side_by_side, "cpu_count", lambda: 2)
    monkeypatch.setattr(side_by_side, "workers", lambda: 2)
    record = record_of(5, 2)
    side_by_side.plan_threads(record, list(range(5)))
    record.jobs = 1  # resumed with --jobs 1 after folds 0 and 1 finished
    alone = side_by_side.plan_threads(record, [2, 3, 4])
    assert [p.threads for p in record.parts] == [1, 1, 1, 1, 2] and alone == [2, 3, 4]
