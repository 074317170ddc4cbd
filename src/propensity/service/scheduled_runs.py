"""What a scheduled run did for each model, and the schedule's answer (the handler returns it).

A record of the schedule's work, apart from the orchestrator that does it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from propensity.records import RetrainOutcome
from propensity.service.trial_review import TrialReview

Action = Literal["bootstrap", "schedule", "drift", "none", "failed"]


@dataclass(frozen=True)
class ScheduledRun:
    """What the schedule did for one model; a failure is reported here, never raised."""

    model: str
    action: Action
    outcome: RetrainOutcome | None = None
    error: str | None = None
    expired_jobs: list[str] = field(default_factory=list)
    trial: TrialReview | None = None  # what the review of its challenger trial did


def summary(runs: list[ScheduledRun]) -> dict[str, Any]:
    """The schedule's answer: each model's run (outcome or error), the versions it trained, and
    how many models failed."""
    return {
        "failures": sum(run.action == "failed" for run in runs),
        "models": [dataclasses.asdict(run) for run in runs],
        "outcomes": [dataclasses.asdict(run.outcome) for run in runs if run.outcome is not None],
    }
