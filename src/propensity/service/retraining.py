"""The retrain orchestrator: every way a model gets a new version goes through one object.

Stream events (the feedback counter moved, an admin queued a job), the schedule and the
bootstrap are its methods, with one clock and one set of ports. It reads every byte a version
is trained on through its stores, hands them to the injected trainer, and publishes the
candidate through the gate. Plain Python: the scientific stack lives behind ``Trainer``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from datetime import timedelta

from propensity.clock import iso, utc_now
from propensity.config import ModelConfig
from propensity.errors import (
    ConfigError,
    ModelArchivedError,
    PropensityError,
    RetrainBusyError,
)
from propensity.inputs import TrainingSet
from propensity.records import (
    Candidate,
    ChampionAlias,
    FeedbackCounted,
    RetrainEvent,
    RetrainJob,
    RetrainJobQueued,
    RetrainOutcome,
    SparkJobFinished,
)
from propensity.scoring import Scorer
from propensity.service.artifacts import load_verified
from propensity.service.challenger_trials import ChallengerTrials
from propensity.service.model_configs import as_source
from propensity.service.ports import (
    ArtifactStore,
    DatasetStore,
    DriftCheck,
    FeedbackStore,
    JobStore,
    ModelConfigSource,
    Registry,
    RetrainLock,
    Trainer,
    UploadStore,
)
from propensity.service.publication import Publisher
from propensity.service.registry_reads import comparator_keys, recorded_outcome
from propensity.service.retrain_jobs import RetrainJobs
from propensity.service.scheduled_runs import Action, ScheduledRun
from propensity.service.spark_retrains import SparkRetrains, training_rows
from propensity.service.training_inputs import TrainingInputs
from propensity.service.training_snapshot import TrainingSnapshots
from propensity.service.trial_review import TrialReview, TrialReviewer
from propensity.versions import version_name

log = logging.getLogger(__name__)

NO_SPARK = "this stack does not deploy the Spark backend (SparkBackend=Disabled)"


class RetrainOrchestrator:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        registry: Registry,
        artifacts: ArtifactStore,
        feedback: FeedbackStore,
        *,
        datasets: DatasetStore,
        trainer: Trainer,
        lock: RetrainLock | None = None,
        uploads: UploadStore | None = None,
        jobs: JobStore | None = None,
        drift: DriftCheck | None = None,
        snapshots: TrainingSnapshots | None = None,
        trials: ChallengerTrials | None = None,
        reviewer: TrialReviewer | None = None,
        spark: SparkRetrains | None = None,
        min_feedback: int = 0,
        lock_seconds: int = 1800,
        job_timeout_seconds: int = 900,
        clock: Callable[[], str] | None = None,
    ) -> None:
        self._configs = as_source(configs)
        self._clock = clock or (lambda: iso(utc_now()))
        self._registry = registry
        self._artifacts = artifacts
        self._feedback = feedback
        self._datasets = datasets
        self._trainer = trainer
        self._lock = lock
        self._uploads = uploads
        self._jobs = (
            None
            if jobs is None
            else RetrainJobs(
                jobs,
                lambda model, actor, job_id: self.retrain(
                    model, trigger="admin", actor=actor, job_id=job_id
                ),
                timeout=timedelta(seconds=job_timeout_seconds),
                clock=self._clock,
            )
        )
        self._drift = drift
        self._spark = spark
        self._min_feedback = min_feedback
        self._lock_seconds = lock_seconds
        self._publisher = Publisher(registry, artifacts, clock=self._clock, trials=trials)
        self._reviewer = reviewer
        self._inputs = TrainingInputs(artifacts, feedback, datasets, uploads, snapshots)

    @property
    def models(self) -> list[str]:
        """The served models: the schedule and the bootstrap skip archived ones."""
        return self._configs.names()

    def config(self, model: str) -> ModelConfig:
        return self._configs.get(model)

    def pending_feedback(self, model: str) -> int:
        """Feedback rows (items and upload rows) stored since the last version consumed them."""
        return self._feedback.pending(model)

    def min_feedback(self, model: str) -> int:
        """The model's own batch size (``promotion.min_feedback``), unless the stack's
        RETRAIN_MIN_FEEDBACK overrides it (a positive value: demos and tests)."""
        return self._min_feedback or self.config(model).promotion.min_feedback

    # --- what arrives -------------------------------------------------------------------------

    def handle(self, event: RetrainEvent) -> RetrainOutcome | RetrainJob | None:
        """A typed stream event: the feedback counter moved, or an admin queued a job."""
        if isinstance(event, RetrainJobQueued):
            return self.run_job(event.model, event.job_id)
        if isinstance(event, FeedbackCounted):
            return self.retrain_if_due(event.model, trigger="stream")
        raise TypeError(f"not a retrain event: {event!r}")

    def retrain_if_due(self, model: str, *, trigger: str) -> RetrainOutcome | None:
        """Retrain when the model's pending feedback reached its ``min_feedback``."""
        try:
            threshold = self.min_feedback(self.config(model).name)  # UnknownModelError first
        except ModelArchivedError as exc:
            # Its counter can still move (a label sent just before): never a poison record.
            log.info("%s; its feedback is not trained on", exc)
            return None
        pending = self.pending_feedback(model)
        if pending < threshold:
            log.info("%s: %d pending feedback, below min_feedback; nothing to do", model, pending)
            return None
        return self.retrain(model, trigger=trigger)

    def run_job(self, model: str, job_id: str) -> RetrainJob | None:
        """An admin retrain request, carried out once (``RetrainJobs.run``)."""
        if self._jobs is None:
            raise RuntimeError("retrain jobs are not wired into this orchestrator")
        return self._jobs.run(model, job_id)

    def run_schedule(self) -> list[ScheduledRun]:
        """The scheduled sweep, model by model; one model's failure never stops the others.

        Per model: expire jobs left "running" past the retrain timeout, refresh the drift report,
        then retrain if it has no champion, has new feedback, or its traffic drifted.
        """
        runs = []
        for model in self.models:
            try:
                runs.append(self._scheduled(model))
            except Exception as exc:
                log.exception("%s: scheduled run failed", model)
                reason = str(exc) if isinstance(exc, PropensityError) else type(exc).__name__
                runs.append(ScheduledRun(model, "failed", error=reason))
        return runs

    def bootstrap(self) -> list[RetrainOutcome]:
        """First versions for every model that has no champion yet (a fresh stack)."""
        return [
            self.retrain(m, trigger="bootstrap")
            for m in self.models
            if self._registry.get_champion(m) is None
        ]

    # --- training and publishing --------------------------------------------------------------

    def retrain(
        self, model: str, *, trigger: str, actor: str = "system", job_id: str | None = None
    ) -> RetrainOutcome:
        """Train, store and gate a new version; one at a time per model (RetrainBusyError).

        With ``job_id`` it runs at most once per job: when a version of that job is recorded
        already (a redelivered job whose outcome was not saved), that version is the outcome.
        """
        self.config(model)
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
            recorded = recorded_outcome(self._registry, model, job_id) if job_id else None
            if recorded is not None:
                return recorded
            return self._retrain(model, trigger=trigger, actor=actor, job_id=job_id)
        finally:
            self._release(model, owner)

    def publish(
        self,
        candidate: Candidate,
        *,
        trigger: str,
        actor: str = "system",
        champion: ChampionAlias | None = None,
        consumed: int = 0,
        job_id: str | None = None,
    ) -> RetrainOutcome:
        """Store a candidate, record it, gate it; then the feedback it used is consumed."""
        outcome = self._publisher.publish(
            self.config(candidate.model),
            candidate,
            trigger=trigger,
            actor=actor,
            champion=champion,
            job_id=job_id,
        )
        # Only now is the feedback "used": if anything above failed, a retry retrains with it.
        self._feedback.consume(candidate.model, consumed)
        return outcome

    def _retrain(
        self, model: str, *, trigger: str, actor: str, job_id: str | None
    ) -> RetrainOutcome:
        config = self.config(model)
        running = None if self._spark is None else self._spark.pending_run(model)
        if running is not None:
            log.info(
                "%s: spark job run %s is pending; nothing trained", model, running["job_run_id"]
            )
            return self._spark_retrains(model).waiting(running)
        pending = self._feedback.pending(model)
        data = self.training_set(config)
        champion = self._registry.get_champion(model)
        comparators = self._comparators(model, champion)
        version = version_name(self._registry.latest_version_number(model) + 1)
        if config.training.backend_for(training_rows(data)) == "spark":
            return self._spark_retrains(model).submit(
                config,
                data,
                version=version,
                comparators=comparator_keys(self._registry, model, champion),
                trigger=trigger,
                actor=actor,
                consumed=pending,
                job_id=job_id,
            )
        candidate = self._trainer.train(config, data, version=version, comparators=comparators)
        return self.publish(
            candidate,
            trigger=trigger,
            actor=actor,
            champion=champion,
            consumed=pending,
            job_id=job_id,
        )

    def complete_spark_job(self, event: SparkJobFinished) -> RetrainOutcome | None:
        """A Spark training run finished: publish its candidate through the gate."""
        return self._spark_retrains("(any)").complete(event, self.publish)

    def _spark_retrains(self, model: str) -> SparkRetrains:
        if self._spark is None:
            raise ConfigError(f"model {model!r}: training.backend is spark; {NO_SPARK}")
        return self._spark

    def training_set(self, config: ModelConfig) -> TrainingSet:
        return self._inputs.read(config)

    def _comparators(self, model: str, champion: ChampionAlias | None) -> dict[str, Scorer]:
        """What a candidate must beat: the champion, and a fixed reference (the last version a
        person promoted or rolled back to, else v1), so promoted small losses cannot add up."""
        refs = comparator_keys(self._registry, model, champion)
        return {name: self._scorer(key, sha256) for name, (key, sha256) in refs.items()}

    def _scorer(self, key: str, sha256: str) -> Scorer:
        return Scorer.from_json(load_verified(self._artifacts, key, sha256))

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

    # --- the schedule, per model --------------------------------------------------------------

    def review_trials(self, *, guard_only: bool) -> list[TrialReview]:
        """Every challenger trial reviewed (its kill switch alone when ``guard_only``)."""
        if self._reviewer is None:
            return []
        review = self._reviewer.guard_only if guard_only else self._reviewer.review
        return [r for r in (review(m) for m in self.models) if r is not None]

    def _scheduled(self, model: str) -> ScheduledRun:
        # A trial is decided before any retrain: a promoted challenger is what the next beats.
        trial = self._reviewer.review(model) if self._reviewer is not None else None
        expired = self.expire_stale_jobs(model)
        drifted = self._drifted(model)
        action: Action = "none"
        if self._registry.get_champion(model) is None:
            action = "bootstrap"
        elif self._feedback.pending(model) > 0:
            action = "schedule"
        elif drifted and self._latest_trigger(model) != "drift":
            # Without new feedback a second drift retrain sees the same rows and yields the same
            # model: retrain once per drift episode, not on every schedule tick while it lasts.
            action = "drift"
        if action == "none":
            return ScheduledRun(model, action, expired_jobs=expired, trial=trial)
        outcome = self.retrain(model, trigger=action)
        return ScheduledRun(model, action, outcome, expired_jobs=expired, trial=trial)

    def expire_stale_jobs(self, model: str) -> list[str]:
        """Jobs left "running" past the retrain timeout, marked failed (``RetrainJobs``)."""
        return [] if self._jobs is None else self._jobs.expire_stale(model)

    def _drifted(self, model: str) -> bool:
        """Whether the fresh report flags drift; a failed report must not block retrains."""
        if self._drift is None:
            return False
        try:
            report = self._drift.refresh(model)
        except PropensityError:
            log.exception("%s: drift report failed; retraining on feedback only", model)
            return False
        log.info("%s: drift report %s", model, report.get("status"))
        return bool(report.get("drift"))

    def _latest_trigger(self, model: str) -> str | None:
        newest = self._registry.list_versions(model, limit=1)
        return newest[0].trigger if newest else None
