"""Operator actions on the registry: versions, manual promotion, rollback, retrain jobs.

It also hands out the feedback curation (``service.feedback_admin``) the admin function wires
with it, so the admin routes reach both through one dependency.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any

from propensity.clock import now_iso
from propensity.config import ModelConfig
from propensity.errors import ArtifactError, ConflictError
from propensity.records import ChampionAlias, PromotionEvent, RetrainJob
from propensity.service.artifacts import load_verified
from propensity.service.feedback_admin import FeedbackCuration
from propensity.service.model_configs import as_source
from propensity.service.ports import ArtifactStore, JobStore, ModelConfigSource, Registry


class RegistryAdmin:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        registry: Registry,
        artifacts: ArtifactStore,
        jobs: JobStore,
        *,
        clock: Callable[[], str] = now_iso,
        curation: FeedbackCuration | None = None,
    ) -> None:
        self._configs = as_source(configs)
        self._registry = registry
        self._artifacts = artifacts
        self._jobs = jobs
        self._clock = clock
        self._curation = curation

    @property
    def curation(self) -> FeedbackCuration:
        """Feedback provenance, exclusions and erasure (RuntimeError when not wired)."""
        if self._curation is None:
            raise RuntimeError("feedback curation is not wired into this function")
        return self._curation

    def _known(self, model: str) -> None:
        """A model whose records may be read: served or archived (its versions are kept)."""
        self._configs.known(model)

    def _served(self, model: str) -> None:
        """A model that may change: archived ones are not promoted, rolled back or retrained."""
        self._configs.get(model)

    def versions(self, model: str, limit: int = 50) -> dict[str, Any]:
        self._known(model)
        champion = self._registry.get_champion(model)
        return {
            "model": model,
            "champion": champion.version if champion else None,
            "champion_revision": champion.revision if champion else None,
            "versions": [
                {**asdict(v), "champion": champion is not None and v.version == champion.version}
                for v in self._registry.list_versions(model, limit=limit)
            ],
            "promotions": [asdict(p) for p in self._registry.list_promotions(model, limit=limit)],
        }

    def promote(
        self,
        model: str,
        version: str,
        *,
        actor: str,
        reason: str = "",
        expected_revision: int | None = None,
    ) -> ChampionAlias:
        """Make ``version`` the champion (an operator's decision: the gate is not applied).

        ``expected_revision`` (the alias revision the operator saw) makes two racing promotions
        resolve to one winner; without it the current revision is read and used.
        """
        self._served(model)
        record = self._registry.get_version(model, version)
        self._verify_scorecard(record.scorecard_key, record.artifacts.get("scorecard.json", ""))
        current = self._registry.get_champion(model)
        if expected_revision is None:
            expected_revision = current.revision if current else None
        elif current is None or current.revision != expected_revision:
            raise ConflictError(
                f"champion of {model!r} is no longer at revision {expected_revision}"
            )
        if current is not None and current.version == version:
            raise ConflictError(f"{version} is already the champion of {model!r}")
        event = PromotionEvent(
            model,
            version,
            current.version if current else None,
            self._clock(),
            actor,
            reason or f"promoted by {actor}",
            "manual",
        )
        return self._registry.promote(record, expected_revision=expected_revision, event=event)

    def rollback(self, model: str, *, actor: str, reason: str = "") -> ChampionAlias:
        """Back to the champion before the current one."""
        self._served(model)
        current = self._registry.get_champion(model)
        if current is None or not current.previous_version:
            raise ConflictError(f"model {model!r} has no previous champion to roll back to")
        record = self._registry.get_version(model, current.previous_version)
        self._verify_scorecard(record.scorecard_key, record.artifacts.get("scorecard.json", ""))
        event = PromotionEvent(
            model,
            record.version,
            current.version,
            self._clock(),
            actor,
            reason or f"rollback from {current.version} by {actor}",
            "rollback",
        )
        return self._registry.promote(record, expected_revision=current.revision, event=event)

    def _verify_scorecard(self, key: str, sha256: str) -> None:
        """Refuse to point serving at an artifact that is missing or not what was trained."""
        try:
            load_verified(self._artifacts, key, sha256)
        except ArtifactError as exc:
            raise ConflictError(f"{exc}: refusing to serve it") from exc

    def request_retrain(self, model: str, *, actor: str) -> RetrainJob:
        self._served(model)
        now = self._clock()
        job = RetrainJob(uuid.uuid4().hex, model, "queued", now, actor, updated_at=now)
        self._jobs.put_job(job)
        return job

    def job(self, model: str, job_id: str) -> RetrainJob:
        self._known(model)
        return self._jobs.get_job(model, job_id)
