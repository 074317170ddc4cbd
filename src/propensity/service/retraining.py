"""Training a new version from the base dataset plus feedback, and promoting it if it is better.

Runs in the retrain function (it imports the scikit-learn stack) and in the local bootstrap.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from propensity.config import ModelConfig
from propensity.errors import (
    PropensityError,
    RetrainBusyError,
    UnknownModelError,
)
from propensity.records import (
    ChampionAlias,
    FeedbackCounted,
    FeedbackRecord,
    PromotionEvent,
    RetrainEvent,
    RetrainJob,
    RetrainJobQueued,
    VersionRecord,
)
from propensity.scoring import Scorer
from propensity.service import promotion
from propensity.service.artifacts import load_verified
from propensity.service.drift_monitor import DriftMonitor
from propensity.service.ports import (
    ArtifactStore,
    DatasetStore,
    FeedbackStore,
    JobStore,
    Registry,
    RetrainLock,
    UploadStore,
)
from propensity.training.dataset import load_labelled_csv, parse_dataset
from propensity.training.evaluate import SCALAR_METRICS, scalar_metrics
from propensity.training.train import TrainedModel, render_artifacts, train_model
from propensity.versions import version_name, version_number

log = logging.getLogger(__name__)


# How far back a redelivered job looks for the version it may have recorded already.
JOB_LOOKBACK_VERSIONS = 25

CONTENT_TYPES = {
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".png": "image/png",
}


@dataclass(frozen=True)
class RetrainOutcome:
    model: str
    version: str
    promoted: bool
    reason: str
    metrics: dict[str, float]
    champion_metrics: dict[str, float] | None
    feedback_rows: int


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def feedback_frame(config: ModelConfig, records: list[FeedbackRecord]) -> pd.DataFrame:
    """Feedback as training rows: the config's features (missing → NaN) and the 0/1 target."""
    rows = [
        {**{f: r.features.get(f) for f in config.features.all}, config.target.column: r.label}
        for r in records
    ]
    frame = pd.DataFrame(rows, columns=[*config.features.all, config.target.column])
    for column in config.features.numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in config.features.categorical:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), np.nan)
    frame[config.target.column] = frame[config.target.column].astype(int)
    return frame


def _finite(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {
        k: float(metrics[k])
        for k in SCALAR_METRICS
        if isinstance(metrics.get(k), float | int) and math.isfinite(float(metrics[k]))
    }


class RetrainService:
    def __init__(
        self,
        configs: Mapping[str, ModelConfig],
        registry: Registry,
        artifacts: ArtifactStore,
        feedback: FeedbackStore,
        *,
        datasets: DatasetStore,
        lock: RetrainLock | None = None,
        uploads: UploadStore | None = None,
        jobs: JobStore | None = None,
        min_feedback: int = 1,
        lock_seconds: int = 1800,
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        self._configs = dict(configs)
        self._registry = registry
        self._artifacts = artifacts
        self._feedback = feedback
        self._datasets = datasets
        self._lock = lock
        self._uploads = uploads
        self.jobs = jobs
        self._min_feedback = min_feedback
        self._lock_seconds = lock_seconds
        self._clock = clock

    def config(self, model: str) -> ModelConfig:
        config = self._configs.get(model)
        if config is None:
            raise UnknownModelError(model)
        return config

    def pending_feedback(self, model: str) -> int:
        return self._feedback.pending(model)

    def latest_trigger(self, model: str) -> str | None:
        """What triggered the newest version (None before the first one)."""
        newest = self._registry.list_versions(model, limit=1)
        return newest[0].trigger if newest else None

    def has_champion(self, model: str) -> bool:
        return self._registry.get_champion(model) is not None

    @property
    def models(self) -> list[str]:
        return sorted(self._configs)

    def min_feedback(self, model: str) -> int:
        """The stack's RETRAIN_MIN_FEEDBACK, or the model's own threshold when that is higher."""
        return max(self._min_feedback, self.config(model).promotion.min_feedback)

    def retrain(
        self, model: str, *, trigger: str, actor: str = "system", job_id: str | None = None
    ) -> RetrainOutcome:
        """Train, store and gate a new version; one at a time per model (RetrainBusyError).

        With ``job_id`` it runs at most once per job: when a version of that job is recorded
        already (a redelivered job whose outcome was not saved), that version is the outcome.
        """
        owner = uuid.uuid4().hex
        if self._lock is not None:
            try:
                acquired = self._lock.acquire(model, owner, self._lock_seconds)
            except PropensityError:
                # The lock may have been written with its answer lost: do not leave it behind.
                self._release(model, owner)
                raise
            if not acquired:
                raise RetrainBusyError(f"a retrain of {model!r} is already running")
        try:
            # Checked under the lock, so two deliveries of one job never both train.
            recorded = self._outcome_of_job(model, job_id) if job_id is not None else None
            if recorded is not None:
                return recorded
            return self._retrain(model, trigger=trigger, actor=actor, job_id=job_id)
        finally:
            self._release(model, owner)

    def _release(self, model: str, owner: str) -> None:
        """Release the lock; if that fails it expires after ``lock_seconds``, and the failure
        must neither hide the retrain's outcome nor replace the error that ended it."""
        if self._lock is None:
            return
        try:
            self._lock.release(model, owner)
        except PropensityError as exc:
            log.warning(
                "%s: retrain lock not released (%s); it expires within %d s",
                model,
                exc,
                self._lock_seconds,
            )

    def _outcome_of_job(self, model: str, job_id: str) -> RetrainOutcome | None:
        for record in self._registry.list_versions(model, limit=JOB_LOOKBACK_VERSIONS):
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

    def _retrain(
        self, model: str, *, trigger: str, actor: str, job_id: str | None = None
    ) -> RetrainOutcome:
        config = self.config(model)
        payload, location = self._datasets.read(config.dataset.source)
        base = parse_dataset(config, payload, location)
        pending = self._feedback.pending(model)
        records = self._feedback.list_for_model(model)
        extra = pd.concat(
            [feedback_frame(config, records), *self._uploaded_frames(config)], ignore_index=True
        )
        champion = self._registry.get_champion(model)
        version = version_name(self._registry.latest_version_number(model) + 1)
        trained = train_model(config, base, version=version, extra_training=extra)
        return self.publish(
            trained,
            trigger=trigger,
            actor=actor,
            champion=champion,
            feedback_rows=len(extra),
            consumed=pending,
            job_id=job_id,
        )

    def publish(
        self,
        trained: TrainedModel,
        *,
        trigger: str,
        actor: str = "system",
        champion: ChampionAlias | None = None,
        feedback_rows: int = 0,
        consumed: int = 0,
        job_id: str | None = None,
    ) -> RetrainOutcome:
        """Store a trained version, record it, and promote it if it passes the gate."""
        config = trained.config
        model, version = config.name, trained.version
        number = version_number(version)
        files = render_artifacts(trained, plots=False, profile=None)
        prefix = f"models/{model}/{version}/"
        # Artifacts first, registry row last: a version row always points at complete artifacts.
        for name, body in files.items():
            suffix = name[name.rfind(".") :]
            self._artifacts.put_bytes(
                prefix + name, body, CONTENT_TYPES.get(suffix, "application/octet-stream")
            )

        candidate_metrics = _finite(trained.metrics)
        champion_metrics = self._champion_metrics(champion, trained) if champion else None
        decision = promotion.decide(config.promotion, candidate_metrics, champion_metrics)
        record = VersionRecord(
            model=model,
            version=version,
            number=number,
            status="candidate",
            created_at=self._clock(),
            trigger=trigger,
            artifact_prefix=prefix,
            artifacts=dict(trained.artifacts),
            metrics=candidate_metrics,
            data_sha256=trained.training["data_sha256"],
            parent_version=champion.version if champion else None,
            reason=decision.reason,
            threshold=float(trained.scorecard["threshold"]),
            rows_train=int(trained.training["rows_train"]),
            extra={
                "feedback_rows": feedback_rows,
                "champion_metrics": champion_metrics or {},
                **({"job_id": job_id} if job_id else {}),
            },
        )
        self._registry.put_version(record)
        if decision.promote:
            self._registry.promote(
                record,
                expected_revision=champion.revision if champion else None,
                event=PromotionEvent(
                    model,
                    version,
                    champion.version if champion else None,
                    self._clock(),
                    actor,
                    decision.reason,
                    "bootstrap" if champion is None else "promote",
                ),
            )
        else:
            self._registry.set_status(model, version, "rejected", decision.reason)
        # Only now is the feedback "used": if anything above failed, a retry retrains with it.
        self._feedback.consume(model, consumed)
        log.info(
            "%s %s: %s (%s)",
            model,
            version,
            "promoted" if decision.promote else "rejected",
            decision.reason,
        )
        return RetrainOutcome(
            model,
            version,
            decision.promote,
            decision.reason,
            candidate_metrics,
            champion_metrics,
            feedback_rows,
        )

    def _uploaded_frames(self, config: ModelConfig) -> list[pd.DataFrame]:
        """Every labelled CSV accepted for this model (validated when it was uploaded)."""
        if self._uploads is None:
            return []
        frames = []
        for upload in self._uploads.list_uploads(config.name):
            payload = self._artifacts.get_bytes(str(upload["key"]))
            frame = load_labelled_csv(
                payload, str(upload["key"]), config, delimiter=str(upload["delimiter"])
            )
            frames.append(frame[[*config.features.all, config.target.column]])
        return frames

    def _champion_metrics(self, champion: ChampionAlias, trained: TrainedModel) -> dict[str, float]:
        """The champion scored on the candidate's held-out rows, with the champion's threshold."""
        scorer = Scorer.from_json(
            load_verified(self._artifacts, champion.scorecard_key, champion.scorecard_sha256)
        )
        config = trained.config
        test = trained.test_frame
        rows = (
            test[config.features.all].astype(object).where(test[config.features.all].notna(), None)
        )
        records = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
        proba = np.array([scorer.score(r).probability for r in records])
        y = test[config.target.column].to_numpy(dtype=int)
        return _finite(scalar_metrics(y, proba, scorer.threshold))


def retrain_if_due(service: RetrainService, model: str, *, trigger: str) -> RetrainOutcome | None:
    """Retrain when the model's pending feedback reached its ``min_feedback``."""
    pending = service.pending_feedback(model)
    if pending < service.min_feedback(model):
        log.info("%s: %d pending feedback, below min_feedback; nothing to do", model, pending)
        return None
    return service.retrain(model, trigger=trigger)


def run_job(service: RetrainService, model: str, job_id: str) -> RetrainJob | None:
    """Carry out an admin retrain request once; a repeated delivery of a finished job is ignored.

    A failed retrain marks the job failed with the reason (and is not retried); a busy model
    leaves it queued and raises, so the stream delivers it again later. A job still "running"
    when it is delivered again lost its outcome (a storage fault, a timeout): it is resumed, and
    ``retrain(job_id=...)`` returns the version it recorded instead of training a second one.
    """
    if service.jobs is None:
        raise RuntimeError("retrain jobs are not wired into this service")
    job = service.jobs.get_job(model, job_id)
    if job.status not in ("queued", "running"):
        log.info(
            "job %s of %s is %s already; duplicate delivery ignored", job_id, model, job.status
        )
        return None
    service.jobs.update_job(dataclasses.replace(job, status="running", updated_at=_utc_now()))
    try:
        outcome = service.retrain(model, trigger="admin", actor=job.requested_by, job_id=job_id)
    except RetrainBusyError:
        service.jobs.update_job(dataclasses.replace(job, updated_at=_utc_now()))
        raise
    except PropensityError as exc:
        failed = dataclasses.replace(job, status="failed", updated_at=_utc_now(), reason=str(exc))
        service.jobs.update_job(failed)
        return failed
    except Exception as exc:
        # Not a domain error (a bug, a library failure): the job must not stay "running".
        reason = f"internal error ({type(exc).__name__})"
        service.jobs.update_job(
            dataclasses.replace(job, status="failed", updated_at=_utc_now(), reason=reason)
        )
        raise
    done = dataclasses.replace(
        job,
        status="succeeded",
        updated_at=_utc_now(),
        version=outcome.version,
        promoted=outcome.promoted,
        reason=outcome.reason,
    )
    service.jobs.update_job(done)
    return done


def on_feedback_table_change(
    service: RetrainService, event: RetrainEvent
) -> RetrainOutcome | RetrainJob | None:
    """A stream record of the feedback table: a new retrain job, or the counter moved."""
    if isinstance(event, RetrainJobQueued):
        return run_job(service, event.model, event.job_id)
    if isinstance(event, FeedbackCounted):
        return retrain_if_due(service, event.model, trigger="stream")
    return None


def run_schedule(
    service: RetrainService, monitor: DriftMonitor | None = None
) -> list[RetrainOutcome]:
    """The scheduled sweep: refresh every model's drift report, then retrain each model that has
    no champion, has new feedback, or whose traffic drifted from its training data."""
    outcomes = []
    for model in service.models:
        drifted = _refresh_drift(monitor, model) if monitor is not None else False
        if not service.has_champion(model):
            outcomes.append(service.retrain(model, trigger="bootstrap"))
        elif service.pending_feedback(model) > 0:
            outcomes.append(service.retrain(model, trigger="schedule"))
        elif drifted and service.latest_trigger(model) != "drift":
            # Without new feedback a second drift retrain sees the same rows and yields the same
            # model: retrain once per drift episode, not on every schedule tick while it lasts.
            outcomes.append(service.retrain(model, trigger="drift"))
    return outcomes


def _refresh_drift(monitor: DriftMonitor, model: str) -> bool:
    """Whether the fresh report flags drift; a failed report must not block feedback retrains."""
    try:
        report = monitor.refresh(model)
    except PropensityError:
        log.exception("%s: drift report failed; retraining on feedback only", model)
        return False
    log.info("%s: drift report %s, drifted %s", model, report["status"], report["drifted_features"])
    return bool(report["drift"])


def bootstrap(service: RetrainService) -> list[RetrainOutcome]:
    """First versions for every model that has no champion yet (a fresh stack)."""
    return [
        service.retrain(m, trigger="bootstrap")
        for m in service.models
        if not service.has_champion(m)
    ]
