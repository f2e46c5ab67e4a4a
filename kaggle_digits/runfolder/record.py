"""The run record (`metrics.json`): one typed description of a run; `runfolder.folder` reads and writes it.

Every command that looks at a run reads this record: what was trained on which data, how far it got, the honest
accuracy estimate, the submission it wrote. Records written before it existed are read too.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from types import UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from ..data import sample_dir
from ..files import json_kind
from ..training.config import TrainConfig, network_count
from ..training.fit import EpochRecord

RECORD_FORMAT = 5  # 5: a tune trial's study and number; 4: blends (member digests, weights); 3: paths relative to the
# run folder; 2 (0.2.0): as given
READABLE_FORMATS = (2, 3, 4, RECORD_FORMAT)
STATUSES = ("running", "interrupted", "failed", "finished", "pruned")  # pruned: a search stopped it, as hopeless
SOURCES = ("full", "sample")
PART_KINDS = ("single", "member", "fold")
LEGACY_SAMPLE_LABEL = "bundled sample"  # how records before format 2 marked the sample


@dataclass(frozen=True)
class DataSource:
    """Where a run's data came from: Kaggle's full files in a folder, or the bundled sample; and what it held."""

    source: str  # "full" or "sample"
    dir: str = ""
    train_fingerprint: str = ""
    test_fingerprint: str = ""
    train_rows: int = 0
    dev_rows: int = 0
    test_rows: int = 0

    @classmethod
    def full(cls, folder: str | os.PathLike[str]) -> DataSource:
        return cls("full", str(Path(folder).resolve()))

    @classmethod
    def sample(cls) -> DataSource:
        return cls("sample")

    @property
    def folder(self) -> Path:
        """The folder holding train.csv and test.csv (the sample is re-extracted when its cache is gone)."""
        return sample_dir() if self.source == "sample" else Path(self.dir)

    @property
    def label(self) -> str:
        return "bundled sample" if self.source == "sample" else self.dir


@dataclass(frozen=True)
class Estimate:
    """An accuracy measured on rows the model never trained on nor was selected on, with a 95 % Wilson interval."""

    accuracy: float
    ci95: tuple[float, float]
    rows: int
    method: str  # "out-of-fold", "dev split, last epoch", …

    @classmethod
    def from_counts(cls, correct: int, rows: int, method: str) -> Estimate:
        return cls(correct / rows, wilson_interval(correct, rows), rows, method)

    def text(self) -> str:
        low, high = self.ci95
        return f"{self.accuracy:.4f} (95 % CI {low:.4f}–{high:.4f}, {self.rows:,} rows, {self.method})"


def wilson_interval(correct: int, rows: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a proportion: sound near 1.0, where the normal approximation is not."""
    if rows == 0:
        return (math.nan, math.nan)
    p = correct / rows
    centre = (p + z * z / (2 * rows)) / (1 + z * z / rows)
    half = z / (1 + z * z / rows) * math.sqrt(p * (1 - p) / rows + z * z / (4 * rows * rows))
    return (round(max(0.0, centre - half), 6), round(min(1.0, centre + half), 6))


@dataclass
class PartRecord:
    """One trained network of a run: the single model, an ensemble member, or a fold."""

    kind: str  # "single", "member" or "fold"
    index: int
    seed: int
    epochs_done: int = 0
    last_accuracy: float | None = None  # on its held-out rows, at its last epoch
    best_accuracy: float | None = None  # the best epoch's, selected on those same rows
    best_epoch: int = 0
    samples_per_s: float = 0.0
    seconds: float = 0.0  # its training time, every session together
    threads: int = 0  # the kernel threads it trains on, set when it starts and kept on resume (0: not started)
    history: list[dict] = field(default_factory=list)


@dataclass
class RunRecord:
    """What `metrics.json` says about a run."""

    name: str
    config: TrainConfig
    data: DataSource
    status: str = "running"
    members: int = 1
    folds: int = 0
    jobs: int = 1  # networks trained side by side, each in its own process on its share of the cores
    note: str = ""
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    parameters: int = 0
    estimate: Estimate | None = None
    selected: Estimate | None = None  # a figure chosen on the rows it is measured on: shown beside, never as
    parts: list[PartRecord] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    submission: str | None = None  # the CSV this run wrote, set when it is written (at the end)
    submission_sha256: str = ""  # that CSV's content, so `submit` never sends a file another run replaced
    submissions_dir: str = ""  # where the CSV goes when the run finishes
    combined_from: list[str] = field(default_factory=list)  # a blend's member runs, in the order it sums them
    member_digests: list[str] = field(default_factory=list)  # each member's CSV digest when it was blended
    weights: list[float] = field(default_factory=list)  # each member's weight in the blend
    fold_accuracies: list[float] = field(default_factory=list)
    views_gain: dict[str, int] = field(default_factory=dict)  # test-time views: held-out rows right with and without
    borrowed_estimate: Estimate | None = None  # a final fit's estimate, taken from an earlier run (--estimate-from)
    study: str = ""  # the `tune` study this run is a trial of
    trial: int | None = None  # its trial number in that study
    finished_at: float = 0.0  # time.time() when it finished; orders "newest"
    pid: int = field(default_factory=os.getpid)  # the process that last trained it, to tell a dead "running" run

    @property
    def preset(self) -> str:
        return self.config.preset

    @property
    def tta(self) -> int:
        """Test-time views of the estimate and the submission."""
        return self.config.tta

    @property
    def is_blend(self) -> bool:
        """Written by `ensemble`: finished runs blended, with a weight each and no model of its own."""
        return bool(self.weights)

    @property
    def epochs_planned(self) -> int:
        return 0 if self.combined_from else self.config.epochs * self.networks

    @property
    def networks(self) -> int:
        return network_count(self.members, self.folds)

    @property
    def epochs_done(self) -> int:
        return sum(p.epochs_done for p in self.parts)

    @property
    def history(self) -> list[dict]:
        """The first network's learning curve (what curves.png draws)."""
        return self.parts[0].history if self.parts else []

    def to_json(self) -> dict[str, Any]:
        values = asdict(self)
        values["config"] = self.config.to_dict()
        values["format"] = RECORD_FORMAT
        values["epochs"] = {"done": self.epochs_done, "planned": self.epochs_planned}
        values["preset"], values["tta"] = self.preset, self.tta  # for scripts; read back from the config
        return values

    @classmethod
    def from_json(cls, values: dict[str, Any]) -> RunRecord:
        if values.get("format") not in READABLE_FORMATS:
            return _from_legacy(values)
        values = dict(values)
        for derived in ("format", "epochs", "preset"):
            values.pop(derived, None)
        tta = values.pop("tta", None)  # an ensemble of runs could once differ from its config's views
        if values["status"] not in STATUSES or values["data"]["source"] not in SOURCES:
            raise ValueError(f"status {values['status']!r} or source {values['data']['source']!r} unknown")
        values["config"] = TrainConfig.from_dict(values["config"] | ({"tta": tta} if tta else {}))
        values["data"] = DataSource(**values["data"])
        values["parts"] = [PartRecord(**p) for p in values["parts"]]
        for key in ("estimate", "selected", "borrowed_estimate"):
            if values.get(key) is not None:
                values[key] = Estimate(**(values[key] | {"ci95": tuple(values[key]["ci95"])}))
        record = cls(**values)
        check_record(record)
        return record


def check_record(record: RunRecord) -> None:
    """Every field of the expected JSON type and range, so a hand-edited record is refused when read, in one line,
    not in whichever command first uses the field: ValueError naming the field."""
    _check_types(record, "")
    counts = {"members": record.members, "folds": record.folds, "jobs": record.jobs, "parameters": record.parameters}
    for name, value in counts.items():
        if value < (1 if name == "members" else 0):
            raise ValueError(f"{name} is {value}")
    if record.weights and not (
        len(record.weights) == len(record.combined_from) == len(record.member_digests)
        and all(w >= 0 for w in record.weights)
    ):
        raise ValueError(f"a blend's {len(record.weights)} weights for {len(record.combined_from)} members")
    for part in record.parts:
        if part.kind not in PART_KINDS or part.epochs_done < 0 or part.index < 0 or part.threads < 0:
            raise ValueError(f"part {part.index} has kind {part.kind!r}, {part.epochs_done} epochs done")
        for row in part.history:
            EpochRecord(**row)  # every field, no other
            if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in row.values()):
                raise ValueError(f"part {part.index}'s history holds a value that is not a number")
    for estimate in (record.estimate, record.selected, record.borrowed_estimate):
        if estimate is not None and not (
            0 <= estimate.accuracy <= 1 and len(estimate.ci95) == 2 and estimate.rows >= 0
        ):
            raise ValueError(f"estimate {estimate.accuracy} on {estimate.rows} rows is not an accuracy")


def _check_types(value: Any, where: str) -> None:
    """A dataclass's fields against their annotations (str, int, float, bool, lists, dicts, optionals, nested)."""
    hints = get_type_hints(type(value))
    for item in fields(value):
        _check_type(getattr(value, item.name), hints[item.name], f"{where}{item.name}")


def _check_type(value: Any, hint: Any, name: str) -> None:
    options = get_args(hint) if get_origin(hint) in (Union, UnionType) else (hint,)
    for option in options:
        origin, args = get_origin(option) or option, get_args(option)
        if option is type(None) and value is None:
            return
        if origin is float and isinstance(value, int | float) and not isinstance(value, bool):
            return
        if origin in (int, str, bool) and type(value) is origin:
            return
        if origin in (list, tuple) and isinstance(value, list | tuple):
            for element in value:
                _check_type(element, args[0] if args else Any, f"{name} item")
            return
        if origin is dict and isinstance(value, dict):
            for element in value.values():
                _check_type(element, args[1] if args else Any, f"{name} value")
            return
        if option is Any or (is_dataclass(option) and isinstance(value, option)):
            if is_dataclass(value) and not isinstance(value, TrainConfig):  # the config checks itself
                _check_types(value, f"{name}.")
            return
    raise ValueError(f"{name} is a JSON {json_kind(value)} ({str(value)[:40]}), not what a run record holds there")


def _from_legacy(values: dict[str, Any]) -> RunRecord:
    """A record written before format 2: its only figure is the best epoch's dev accuracy, selected on those rows."""
    data = values.get("data", {})
    sample = data.get("label") == LEGACY_SAMPLE_LABEL
    source = DataSource(
        "sample" if sample else "full",
        "" if sample else data.get("dir", "data"),
        data.get("train_fingerprint", ""),
        data.get("test_fingerprint", ""),
        data.get("train_rows", 0),
        data.get("dev_rows", 0),
        data.get("test_rows", 0),
    )
    config = TrainConfig.from_dict(values.get("config", {}) | {"keep": "best"})
    accuracy, rows = values.get("dev_accuracy"), data.get("dev_rows", 0)
    selected = None
    if accuracy is not None and rows:
        selected = Estimate.from_counts(round(accuracy * rows), rows, "dev split, best epoch (selected there; old run)")
    members = values.get("members") or [{}]
    parts = [
        PartRecord(
            kind="member" if len(members) > 1 else "single",
            index=i,
            seed=m.get("seed", values.get("seed", 0)),
            epochs_done=len(m.get("history", values.get("history", []))) * config.eval_every,
            best_accuracy=m.get("dev_accuracy", accuracy),
            best_epoch=m.get("best_epoch", values.get("best_epoch", 0)),
            history=m.get("history", values.get("history", [])),
        )
        for i, m in enumerate(members)
    ]
    submission = values.get("submission")
    return RunRecord(
        name=Path(submission).stem if submission else "",
        config=config,
        data=source,
        status="interrupted" if values.get("interrupted") else "finished",
        members=len(members),
        parameters=values.get("parameters", 0),
        selected=selected,
        parts=parts,
        timings=values.get("timings", {}),
        submission=submission,
    )
