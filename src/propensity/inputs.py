"""What one version is trained on, as the service read it through its stores."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from propensity.columns import FeedbackColumns
from propensity.records import AppliedExclusion, UploadedData


@dataclass(frozen=True)
class TrainingSet:
    """Everything one version is trained on, as the service read it through its stores."""

    model: str
    base: bytes
    base_location: str
    feedback: FeedbackColumns = field(default_factory=FeedbackColumns)
    uploads: tuple[UploadedData, ...] = ()
    # The active exclusions the stored feedback was screened with (``feedback`` is what they
    # left), and how many stored items they held back in all (an item two of them match once).
    exclusions: tuple[AppliedExclusion, ...] = ()
    feedback_excluded: int = 0
    uploads_excluded: int = 0  # accepted uploads the same exclusions held back
    # The feedback snapshot it was read from (``service.training_snapshot``): its digest and
    # what it covers. Empty when the feedback was read in full from the table.
    snapshot: dict[str, Any] = field(default_factory=dict)

    def lineage(self) -> dict[str, Any]:
        """What the version was trained on, named well enough to audit and to reproduce."""
        feedback: dict[str, Any] = {
            "items": len(self.feedback),
            "excluded": self.feedback_excluded,
        }
        if self.snapshot:
            feedback["snapshot"] = dict(self.snapshot)
        else:
            pairs = zip(self.feedback.feedback_id, self.feedback.label, strict=True)
            ids = sorted(f"{i}:{y}" for i, y in pairs)
            feedback["ids_sha256"] = hashlib.sha256("\n".join(ids).encode()).hexdigest()
        return {
            "base": {
                "location": self.base_location,
                "sha256": hashlib.sha256(self.base).hexdigest(),
            },
            "feedback": feedback,
            "exclusions": sorted(
                ({"exclusion_id": e.exclusion_id, "removed": e.removed} for e in self.exclusions),
                key=lambda e: str(e["exclusion_id"]),
            ),
            "uploads": sorted(
                ({"upload_id": u.upload_id, "sha256": u.sha256} for u in self.uploads),
                key=lambda u: u["upload_id"],
            ),
            "uploads_excluded": self.uploads_excluded,
        }

    def fingerprint(self) -> str:
        """SHA-256 over the base data, the feedback and every upload's hash: it changes whenever
        anything trained on changes.

        The feedback is named by its snapshot's digest and the active exclusions screened out of
        it (an exclusion is fixed once recorded; lifting it ends it): the same snapshot screened
        by the same exclusions is the same rows. Read in full from the table instead, it is
        named by every id and label trained on.
        """
        lineage = self.lineage()
        feedback: Any = lineage["feedback"].get("ids_sha256")
        if self.snapshot:
            feedback = {
                "snapshot": self.snapshot["digest"],
                "exclusions": [e["exclusion_id"] for e in lineage["exclusions"]],
            }
        canonical = {
            "base": lineage["base"]["sha256"],
            "feedback": feedback,
            "uploads": [u["sha256"] for u in lineage["uploads"]],
        }
        return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode()).hexdigest()


@dataclass(frozen=True)
class LiveLabels:
    """A challenger trial's live evidence: predictions both models scored, with the label
    feedback later gave them (``service.challenger_trials``), as parallel columns."""

    prediction_ids: tuple[str, ...]
    labels: tuple[int, ...]
    champion: tuple[float, ...]  # the champion's probability of each
    challenger: tuple[float, ...]
    # Each categorical feature's logged values, for the slice checks.
    categories: dict[str, tuple[Any, ...]] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.labels)
