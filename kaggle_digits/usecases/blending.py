"""Blend finished runs into one run, or show what the blend would be (a dry run writes nothing)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..blending.blend import BlendPlan, blend_runs, write_blend
from ..pipeline.finish import TrainOutcome
from ..places import RUNS_DIR, SUBMISSIONS_DIR
from ..runfolder.folder import check_run_name
from ..runfolder.record import Estimate


@dataclass(frozen=True)
class Blended:
    """What `ensemble` did: the plan, and the run it wrote (None for a dry run)."""

    plan: BlendPlan
    outcome: TrainOutcome | None

    @property
    def estimate(self) -> Estimate | None:
        return self.plan.estimate

    @property
    def weights(self) -> dict[str, float]:
        return {m.run.path.name: float(w) for m, w in zip(self.plan.members, self.plan.weights, strict=True)}


def ensemble(
    named: list[str | os.PathLike[str]],
    runs_root: str | os.PathLike[str] = RUNS_DIR,
    submissions_dir: str | os.PathLike[str] = SUBMISSIONS_DIR,
    select: bool = False,
    dry_run: bool = False,
    name: str | None = None,
) -> Blended:
    """Blend finished runs into a new run, or with `dry_run` only show what the blend would be."""
    check_run_name(name or "")
    plan = blend_runs(named, runs_root, select)
    return Blended(plan, None if dry_run else write_blend(plan, runs_root, submissions_dir, name or ""))
