"""The retrain function's wiring: the orchestrator over DynamoDB, S3 and scikit-learn.

No FastAPI: the retrain function serves no HTTP (a test reads the import closure).
"""

from __future__ import annotations

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.feedback_log import DynamoFeedbackLog
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.predictions import DynamoPredictionLog
from propensity.adapters.registry import DynamoRegistry, DynamoRetrainLock
from propensity.adapters.snapshot_store import BucketSnapshots
from propensity.roots import model_config_source
from propensity.service.drift_monitor import DriftMonitor
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.training_snapshot import TrainingSnapshots
from propensity.settings import RetrainSettings
from propensity.training.candidate import SklearnTrainer
from propensity.training.drift_window import TrainingDriftAnalyser


def retrain_orchestrator(settings: RetrainSettings) -> RetrainOrchestrator:
    configs = model_config_source(settings, miss_refresh_seconds=0)
    artifacts = ObjectStore(settings.artifacts_bucket)
    datasets = BucketDatasets(artifacts, settings.datasets_prefix)
    feedback = DynamoFeedbackStore(settings.feedback_table)
    drift = DriftMonitor(
        configs,
        DynamoPredictionLog(settings.predictions_table),
        artifacts,
        datasets=datasets,
        analyser=TrainingDriftAnalyser(),
    )
    return RetrainOrchestrator(
        configs,
        DynamoRegistry(settings.registry_table),
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
        min_feedback=settings.retrain_min_feedback,
        job_timeout_seconds=settings.retrain_timeout_seconds,
    )
