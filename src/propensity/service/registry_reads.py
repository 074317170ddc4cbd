"""What a retrain reads back from the registry: the outcome a redelivered job recorded already
(a job runs at most once), and the scorecards a candidate is compared with."""

from __future__ import annotations

from propensity.records import ChampionAlias, RetrainOutcome
from propensity.service.ports import Registry

# Promotion events that record a person's approval of a version.
PERSON_APPROVED_ACTIONS = ("manual", "rollback")
# How far back a redelivered job looks for the version it may have recorded already.
JOB_LOOKBACK_VERSIONS = 25


def recorded_outcome(registry: Registry, model: str, job_id: str) -> RetrainOutcome | None:
    for record in registry.list_versions(model, limit=JOB_LOOKBACK_VERSIONS):
        if record.extra.get("job_id") != job_id:
            continue
        reason = record.reason
        if record.status == "candidate":
            reason = f"{record.version} was recorded but its promotion did not complete"
        champion_metrics = record.extra.get("champion_metrics") or None
        return RetrainOutcome(
            model,
            record.version,
            record.status == "promoted",
            reason,
            dict(record.metrics),
            dict(champion_metrics) if champion_metrics else None,
            int(record.extra.get("feedback_rows", 0)),
        )
    return None


def comparator_keys(
    registry: Registry, model: str, champion: ChampionAlias | None
) -> dict[str, tuple[str, str]]:
    """The scorecards (key, SHA-256) a candidate must beat: the champion, and a fixed reference
    (the last version a person promoted or rolled back to, else v1), so promoted small losses
    cannot add up. None without a champion."""
    if champion is None:
        return {}
    approved = [
        e.version for e in registry.list_promotions(model) if e.action in PERSON_APPROVED_ACTIONS
    ]
    reference = registry.get_version(model, approved[0] if approved else "v1")
    return {
        "champion": (champion.scorecard_key, champion.scorecard_sha256),
        "reference": (reference.scorecard_key, reference.artifacts.get("scorecard.json", "")),
    }
