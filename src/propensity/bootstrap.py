"""First data and first champions for a freshly deployed stack (``propensity bootstrap``).

Uploads each model's shipped dataset to ``s3://<bucket>/datasets/`` and trains, stores and
promotes v1 of every model that has no champion, with the same code the retrain function runs.
Running it again is harmless: datasets are rewritten identically and models with a champion are
left alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.feedback import DynamoFeedbackStore
from propensity.adapters.object_store import ObjectStore
from propensity.adapters.registry import DynamoRegistry
from propensity.config import available_models, load_model_config
from propensity.errors import DatasetError
from propensity.records import RetrainOutcome
from propensity.service.retraining import RetrainOrchestrator
from propensity.training.candidate import SklearnTrainer

OUTPUT_KEYS = {
    "bucket": "ArtifactsBucketName",
    "registry": "RegistryTableName",
    "feedback": "FeedbackTableName",
}


@dataclass(frozen=True)
class StackResources:
    bucket: str
    registry_table: str
    feedback_table: str

    @classmethod
    def from_outputs(cls, outputs: dict[str, str]) -> StackResources:
        missing = [key for key in OUTPUT_KEYS.values() if key not in outputs]
        if missing:
            raise DatasetError("stack outputs", f"missing {', '.join(missing)}")
        return cls(
            outputs[OUTPUT_KEYS["bucket"]],
            outputs[OUTPUT_KEYS["registry"]],
            outputs[OUTPUT_KEYS["feedback"]],
        )


def upload_datasets(
    resources: StackResources, data_dir: Path, prefix: str = "datasets/"
) -> list[str]:
    store = ObjectStore(resources.bucket)
    uploaded = []
    for model in available_models():
        source = load_model_config(model).dataset.source
        if "://" in source or Path(source).is_absolute():
            continue  # the config points elsewhere already
        path = data_dir / source
        if not path.is_file():
            raise DatasetError(str(path), "file not found")
        store.put_bytes(prefix + source, path.read_bytes(), "application/gzip")
        uploaded.append(prefix + source)
    return uploaded


def bootstrap_stack(
    resources: StackResources, data_dir: Path
) -> tuple[list[str], list[RetrainOutcome]]:
    uploaded = upload_datasets(resources, data_dir)
    service = RetrainOrchestrator(
        {m: load_model_config(m) for m in available_models()},
        DynamoRegistry(resources.registry_table),
        ObjectStore(resources.bucket),
        DynamoFeedbackStore(resources.feedback_table),
        datasets=BucketDatasets(ObjectStore(resources.bucket)),
        trainer=SklearnTrainer(),
    )
    return uploaded, service.bootstrap()
