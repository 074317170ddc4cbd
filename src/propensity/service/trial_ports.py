"""The ports of challenger trials (``service.challenger_trials``, ``service.trial_review``)."""

from __future__ import annotations

from typing import Any, Protocol

from propensity.config import PromotionConfig
from propensity.inputs import LiveLabels
from propensity.records import ChallengerPointer, ChallengerTrial, PromotionEvent, VersionRecord


class TrialStore(Protocol):
    """Challenger trials (``adapters.challengers``): each change one atomic registry write."""

    def start(
        self, trial: ChallengerTrial, pointer: ChallengerPointer, *, expected_revision: int
    ) -> None:
        """Put ``pointer`` on the champion alias (still at ``expected_revision``), create the
        trial and mark the version a challenger; ConflictError otherwise, nothing written."""

    def end(self, trial: ChallengerTrial) -> None:
        """Remove the pointer (if it still names ``trial.version``), store the verdict (if the
        trial is still active) and reject the version; ConflictError otherwise."""

    def settle(self, trial: ChallengerTrial) -> None:
        """Store the verdict of an active trial whose pointer is gone already."""

    def promote(
        self,
        trial: ChallengerTrial,
        record: VersionRecord,
        *,
        expected_revision: int,
        event: PromotionEvent,
    ) -> None:
        """Make the challenger the champion (dropping the pointer) with the trial's verdict."""

    def update_live(self, trial: ChallengerTrial) -> None:
        """Store an active trial's latest live comparison."""

    def get(self, model: str, version: str, started_at: str) -> ChallengerTrial: ...

    def list(self, model: str, limit: int = 20) -> list[ChallengerTrial]: ...


class LiveEvaluator(Protocol):
    """The live comparison of a challenger trial (``training.live_evidence``)."""

    def compare(
        self,
        rule: PromotionConfig,
        rows: LiveLabels,
        *,
        thresholds: tuple[float, float],
    ) -> dict[str, Any]:
        """``rows`` scored by champion and challenger (thresholds in that order): ``labels``,
        each model's metrics (``champion``, ``challenger``), their ``agreement`` rate, and the
        gate's ``evidence`` with the challenger as candidate against the champion."""
        ...
