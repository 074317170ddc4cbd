"""The retrain function's wiring: the orchestrator over DynamoDB, S3 and scikit-learn.

No FastAPI: the retrain function serves no HTTP (a test reads the import closure).
"""

from __future__ import annotations

from propensity.adapters.challengers import DynamoTrials
from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.emr_serverless import EmrServerlessJobs
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.feedback_log import DynamoFeedbackLog
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.adapters.registry import DynamoRegistry, DynamoRetrainLock
from propensity.adapters.snapshot_store import BucketSnapshots
from propensity.clock import iso, utc_now
from propensity.roots import model_config_source
from propensity.service.challenger_trials import ChallengerTrials
from propensity.service.drift_monitor import DriftMonitor
from propensity.service.ports import Registry
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.spark_retrains import SparkRetrains
from propensity.service.training_snapshot import TrainingSnapshots
from propensity.service.trial_review import TrialReviewer
from propensity.settings import RetrainSettings
from propensity.training.candidate import SklearnTrainer
from propensity.training.drift_window import TrainingDriftAnalyser
from propensity.training.live_evidence import LiveEvidence


def retrain_orchestrator(settings: RetrainSettings) -> RetrainOrchestrator:
    configs = model_config_source(settings, miss_refresh_seconds=0)
    artifacts = ObjectStore(settings.artifacts_bucket)
    datasets = BucketDatasets(artifacts, settings.datasets_prefix)
    feedback = DynamoFeedbackStore(settings.feedback_table)
    registry = DynamoRegistry(settings.registry_table)
    predictions = DynamoPredictionLog(settings.predictions_table)
    # Its own log for the trials: the snapshot's tallies what a retrain read, for its lineage.
    feedback_log = DynamoFeedbackLog(settings.feedback_table)
    trials = ChallengerTrials(
        configs, registry, DynamoTrials(settings.registry_table), feedback_log
    )
    drift = DriftMonitor(
        configs,
        predictions,
        artifacts,
        datasets=datasets,
        analyser=TrainingDriftAnalyser(),
    )
    registry = DynamoRegistry(settings.registry_table)
    return RetrainOrchestrator(
        configs,
        registry,
        artifacts,
        feedback,
        datasets=datasets,
        trainer=SklearnTrainer(),
        lock=DynamoRetrainLock(settings.registry_table),
        uploads=feedback,
        jobs=feedback,
        drift=drift,
        snapshots=TrainingSnapshots(
            BucketSnapshots(settings.artifacts_bucket), DynamoFeedbackLog(settings.feedback_table)
        ),
        trials=trials,
        reviewer=TrialReviewer(
            configs, registry, trials, predictions, feedback_log, LiveEvidence()
        ),
        spark=spark_retrains(settings, artifacts, registry, feedback),
        min_feedback=settings.retrain_min_feedback,
        job_timeout_seconds=settings.retrain_timeout_seconds,
    )


def spark_retrains(
    settings: RetrainSettings,
    artifacts: ObjectStore,
    registry: Registry,
    jobs: DynamoFeedbackStore,
) -> SparkRetrains | None:
    """The Spark backend when the stack deploys it (SparkBackend=Enabled), else None."""
    if not settings.spark_application_id:
        return None
    emr = EmrServerlessJobs(
        settings.spark_application_id,
        settings.spark_job_role_arn,
        entry_point=settings.spark_entry_point,
        bucket=settings.artifacts_bucket,
        datasets_prefix=settings.datasets_prefix,
        submit_parameters=settings.spark_submit_parameters,
    )
    return SparkRetrains(emr, artifacts, registry, clock=lambda: iso(utc_now()), retrain_jobs=jobs)
