"""Reading what a version trains on: base dataset, feedback and accepted uploads, as bytes.

An unreadable source fails the retrain naming it; it is never silently left out. Feedback is
read with its exclusions and screened through the active ones (``service.quarantine``): what
they hold back is not trained on, and the training set records which applied and how much.
"""

from __future__ import annotations

import hashlib

from propensity.config import ModelConfig
from propensity.errors import DatasetError, NotFoundError, StorageError
from propensity.records import TrainingSet, UploadedData
from propensity.service.ports import ArtifactStore, DatasetStore, FeedbackStore, UploadStore
from propensity.service.quarantine import screen


class TrainingInputs:
    def __init__(
        self,
        artifacts: ArtifactStore,
        feedback: FeedbackStore,
        datasets: DatasetStore,
        uploads: UploadStore | None,
    ) -> None:
        self._artifacts = artifacts
        self._feedback = feedback
        self._datasets = datasets
        self._uploads = uploads

    def read(self, config: ModelConfig) -> TrainingSet:
        """Every byte and record the next version of ``config`` trains on."""
        base, location = self._datasets.read(config.dataset.source)
        uploads = tuple(self._uploaded(config.name))
        exclusions = self._feedback.list_exclusions(config.name)
        feedback, applied, excluded = screen(self._feedback.list_for_model(config.name), exclusions)
        return TrainingSet(
            config.name,
            base,
            location,
            tuple(feedback),
            uploads,
            exclusions=applied,
            feedback_excluded=excluded,
        )

    def _uploaded(self, model: str) -> list[UploadedData]:
        if self._uploads is None:
            return []
        found = []
        for upload in self._uploads.list_uploads(model):
            upload_id, key = str(upload["upload_id"]), str(upload["key"])
            source = f"upload {upload_id} of {model} ({key})"
            try:
                payload = self._artifacts.get_bytes(key)
            except (NotFoundError, StorageError) as exc:
                raise DatasetError(source, f"cannot be read: {exc}") from exc
            digest = hashlib.sha256(payload).hexdigest()
            if digest != upload.get("sha256", digest):
                raise DatasetError(source, "content differs from the SHA-256 recorded at upload")
            found.append(UploadedData(upload_id, digest, str(upload["delimiter"]), payload))
        return found
