"""Blend finished runs into one run: folds, dev-split and full-fit runs of any presets, scored only on the rows every
member held out, each member's kept softmax averaged (or weighted by Caruana's selection) for test.csv.

A member's held-out softmax (`heldout.npz`) came from networks that never trained on those rows, so the blend's
estimate counts only rows in every member's held-out set. Its test softmax is the one the run kept
(`test_softmax.npz`), or predicted again from its model for runs made before runs kept it.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..data import Digits, load_test
from ..errors import KaggleDigitsError
from ..nn.network import with_views
from ..nn.serialize import load_model
from ..pipeline.finish import TrainOutcome, claim_submission
from ..places import RUNS_DIR, SUBMISSIONS_DIR
from ..runfolder.critical import critical_section
from ..runfolder.folder import (
    METRICS_FILE,
    MODEL_FILE,
    HeldOut,
    Run,
    load_held_out,
    load_test_softmax,
    new_run_dir,
    read_record,
    resolve_run,
    run_status,
    run_train_data,
    save_held_out,
    save_test_softmax,
    stopped_hint,
    timestamp,
    writable_folder,
    write_record,
)
from ..runfolder.record import DataSource, Estimate, RunRecord
from .selection import NESTED_GROUPS, blended, caruana, nested_selection


@dataclass(frozen=True)
class Member:
    """One run of a blend, with the softmax it kept: on its held-out rows and on test.csv."""

    run: Run
    held_out: HeldOut  # rows it never trained on (none for a full fit)
    test: np.ndarray  # (T, 10) float32, at the run's own test-time views
    predicted_again: bool  # its test softmax came from its model now (a run from before runs kept it)

    @property
    def networks(self) -> int:
        return self.run.record.networks

    @property
    def kind(self) -> str:
        r = self.run.record
        return f"{r.folds} folds" if r.folds else "dev split" if len(self.held_out.rows) else "full fit"


@dataclass
class BlendPlan:
    """What a blend is before anything is written: members, the rows they share, the estimate and the weights."""

    members: list[Member]
    rows: np.ndarray  # (M,) the rows every member held out
    weights: np.ndarray  # (K,)
    estimate: Estimate | None
    selected: Estimate | None  # the in-sample figure selection reached: optimistic, shown beside
    held_out: np.ndarray  # (M, 10) the blend's softmax on the shared rows (nested when selecting)
    test: np.ndarray  # (T, 10)
    no_estimate: str = ""  # why there is no estimate
    notes: list[str] = field(default_factory=list)


def blend_runs(
    named: list[str | os.PathLike[str]],
    runs_root: str | os.PathLike[str] = RUNS_DIR,
    select: bool = False,
) -> BlendPlan:
    """Check the named runs and work out the blend; writes nothing (a dry run shows this plan)."""
    runs = member_runs(named, runs_root)
    train = run_train_data(runs[0].record, runs[0].path.name, "cannot blend it")
    test = load_test(runs[0].record.data.folder)
    if test.fingerprint != runs[0].record.data.test_fingerprint:
        raise KaggleDigitsError(
            f"{test.path}: changed since its runs predicted it (fingerprint {test.fingerprint}, was "
            f"{runs[0].record.data.test_fingerprint}); blend runs of the test.csv they predicted"
        )
    members = sorted((load_member(run, train, test) for run in runs), key=member_order)
    return plan_blend(members, train, select)


def member_runs(named: list[str | os.PathLike[str]], runs_root: str | os.PathLike[str]) -> list[Run]:
    """The finished runs named, a blend counting as its own members; refuses fewer than two, repeats and strangers."""
    if len(named) < 2:
        raise KaggleDigitsError("ensemble: name at least two finished runs to blend")
    runs: list[Run] = []
    seen: dict[str, Path] = {}
    for given in named:
        path = resolve_run(given, runs_root)
        record = read_record(path)
        inside = [Path(p) for p in record.combined_from] if record.is_blend else [path]
        for member in inside:
            if member != path:
                if not (member / METRICS_FILE).is_file():
                    raise KaggleDigitsError(f"{member}: a member of blend {path.name} is gone; blend its members anew")
                record = read_record(member)
            key = os.path.realpath(member)
            if key in seen:
                also = f" (also inside {seen[key]})" if seen[key] != member else ""
                raise KaggleDigitsError(f"{member}: named twice{also}; each run counts once in a blend")
            seen[key] = path
            _check_finished(member, record)
            runs.append(Run(member, record))
    first = runs[0]
    for run in runs[1:]:
        if run.record.data.train_fingerprint != first.record.data.train_fingerprint:
            raise KaggleDigitsError(
                f"{run.path}: trained on other data than {first.path} (another train.csv); blend runs of one train.csv"
            )
        if run.record.data.test_fingerprint != first.record.data.test_fingerprint:
            raise KaggleDigitsError(f"{run.path}: predicted another test.csv than {first.path}; cannot blend them")
    return runs


def _check_finished(path: Path, record: RunRecord) -> None:
    status = run_status(path, record)
    if status != "finished":
        raise KaggleDigitsError(f"{path}: this run is {status}, not finished; {stopped_hint(path, status)}")


def load_member(run: Run, train: Digits, test: Digits) -> Member:
    """A run's kept held-out and test softmax; a missing or damaged file is a one-line refusal naming it."""
    record = run.record
    held = load_held_out(run.path, len(train))
    expects_rows = bool(record.folds or record.data.dev_rows)
    if held is None and expects_rows:
        raise KaggleDigitsError(
            f"{run.path}: its held-out predictions (heldout.npz) are missing; without them its rows cannot be "
            "scored honestly — leave it out or train it again"
        )
    held = held or HeldOut(np.zeros(0, np.int64), np.zeros((0, 10), np.float32))
    model_path = run.path / MODEL_FILE
    if not model_path.is_file():
        raise KaggleDigitsError(f"{model_path}: missing from this finished run; leave the run out or train it again")
    model, _ = load_model(model_path)  # a damaged model is refused here, kept test softmax or not
    kept = load_test_softmax(run.path, len(test), test.fingerprint)
    if kept is not None:
        return Member(run, held, kept, predicted_again=False)
    proba = with_views(model, record.tta).predict_proba(test.features()).astype(np.float32)  # (T, 10)
    return Member(run, held, proba, predicted_again=True)


def member_order(member: Member) -> tuple[str, str]:
    """Members in one order whatever order they were named in: by their CSV's digest, then folder."""
    return member.run.record.submission_sha256, os.path.realpath(member.run.path)


def shared_rows(members: list[Member]) -> tuple[np.ndarray, str]:
    """The rows every member held out, and why there are none when there are none."""
    for m in members:
        if not len(m.held_out.rows):
            why = f"{m.run.path.name} trained on every row (a full fit); no row was held out by every member"
            return np.zeros(0, np.int64), why
    rows = members[0].held_out.rows
    for m in members[1:]:
        rows = np.intersect1d(rows, m.held_out.rows)  # sorted
    return rows, "" if len(rows) else "no row was held out by every member (their held-out rows do not overlap)"


def on_rows(held: HeldOut, rows: np.ndarray) -> np.ndarray:
    """A member's held-out softmax on `rows` (each in its held-out set), in that order."""
    order = np.argsort(held.rows, kind="stable")
    return held.proba[order[np.searchsorted(held.rows, rows, sorter=order)]]  # (M, 10)


def plan_blend(members: list[Member], train: Digits, select: bool) -> BlendPlan:
    """Weights, estimate and softmax of the blend of `members` (already in member order)."""
    K = len(members)
    rows, no_estimate = shared_rows(members)
    y = train.labels[rows]  # (M,)
    P = np.stack([on_rows(m.held_out, rows) for m in members]) if len(rows) else np.zeros((K, 0, 10))  # (K, M, 10)
    weights, held, estimate, selected = np.full(K, 1 / K), blended(P, np.full(K, 1 / K)), None, None
    picked_on_rows = [m.run.path.name for m in members if m.run.record.config.keep == "best" and len(m.held_out.rows)]
    if select and len(rows) < NESTED_GROUPS:
        raise KaggleDigitsError(
            f"--select: {no_estimate or f'only {len(rows)} rows held out by every member'}; selection needs the "
            "rows every member held out to choose weights on — blend without --select"
        )
    if select:
        weights = caruana(P, y)
        in_sample = blended(P, weights)
        selected = Estimate.from_counts(_right(in_sample, y), len(rows), f"{K} runs, weights selected on these rows")
        held = nested_selection(P, y)
        method = f"{K} runs, Caruana selection scored nested ({NESTED_GROUPS} groups), rows every member held out"
    else:
        method = f"{K} runs averaged, rows every member held out"
    if len(rows) and picked_on_rows:
        picked = picked_on_rows[0]
        selected = Estimate.from_counts(_right(held, y), len(rows), f"{method}; {picked} kept its best epoch there")
        no_estimate = f"{picked} kept its best epoch on these rows (--keep best), so they score it optimistically"
    elif len(rows):
        estimate = Estimate.from_counts(_right(held, y), len(rows), method)
    test = blended(np.stack([m.test for m in members]), weights)  # (T, 10)
    return BlendPlan(members, rows, weights, estimate, selected, held, test, no_estimate, twins(members))


def twins(members: list[Member]) -> list[str]:
    """Members trained alike (configuration with seed, data, networks, folds): the same weights on the same thread
    count and rounding apart on another, so blending them adds next to nothing."""
    seen: dict[tuple, Member] = {}
    found = []
    for m in members:
        r = m.run.record
        key = (r.config, r.data.train_fingerprint, r.members, r.folds, tuple(r.combined_from))
        if key in seen:
            found.append(
                f"{m.run.path.name} and {seen[key].run.path.name} were trained alike (same configuration and seed): "
                "they count as one network; give members different --seed values"
            )
        seen.setdefault(key, m)
    return found


def _right(p: np.ndarray, y: np.ndarray) -> int:
    return int((p.argmax(axis=1) == y).sum())


def write_blend(
    plan: BlendPlan,
    runs_root: str | os.PathLike[str] = RUNS_DIR,
    submissions_dir: str | os.PathLike[str] = SUBMISSIONS_DIR,
    name: str = "",
) -> TrainOutcome:
    """The blend as a run: record naming its members and their CSV digests, held-out and test softmax, and CSV."""
    started = time.perf_counter()
    submissions_dir = writable_folder(submissions_dir, "submissions", "submissions_dir")
    first = plan.members[0].run.record
    run_dir = new_run_dir(runs_root, f"{timestamp()}-blend-{name or f'x{len(plan.members)}'}")
    record = RunRecord(
        name=run_dir.name,
        config=first.config,
        data=DataSource(**(first.data.__dict__ | {"dev_rows": len(plan.rows)})),
        members=sum(m.networks for m in plan.members),
        parameters=sum(m.run.record.parameters for m in plan.members),
        estimate=plan.estimate,
        selected=plan.selected,
        combined_from=[str(m.run.path) for m in plan.members],
        member_digests=[m.run.record.submission_sha256 for m in plan.members],
        weights=[round(float(w), 6) for w in plan.weights],
        submissions_dir=str(submissions_dir),
        status="running",
    )
    record.timings = {
        "members_s": round(sum(m.run.record.timings.get("total_s", 0.0) for m in plan.members), 3),
        "total_s": 0.0,
    }
    try:
        save_held_out(run_dir, HeldOut(plan.rows, plan.held_out.astype(np.float32)))
        save_test_softmax(run_dir, plan.test, first.data.test_fingerprint)
        with critical_section():
            claim_submission(record, plan.test.argmax(axis=1))
            record.timings["total_s"] = round(time.perf_counter() - started, 3)
            record.status, record.finished_at = "finished", time.time()
            write_record(run_dir, record)
    except BaseException:
        with contextlib.suppress(OSError):
            if record.status != "finished" and record.submission:
                Path(record.submission).unlink(missing_ok=True)
            for leftover in run_dir.iterdir():
                leftover.unlink()
            run_dir.rmdir()
        raise
    return TrainOutcome(run_dir, record)
