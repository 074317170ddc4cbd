"""Reading what a version trains on: base dataset, feedback and accepted uploads, as bytes.

An unreadable source fails the retrain naming it; it is never silently left out. Feedback is
read with its exclusions and screened through the active ones (``service.quarantine``): what
they hold back is not trained on, and the training set records which applied and how much.

With a training snapshot (``service.training_snapshot``) the feedback comes from its parts and
only the items newer than its watermark from the table; without one, every item is read.
Either way it arrives as columns, never as one object per row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from propensity.columns import FeedbackColumns
from propensity.config import ModelConfig
from propensity.errors import DatasetError, NotFoundError, StorageError
from propensity.inputs import TrainingSet
from propensity.records import AppliedExclusion, UploadedData
from propensity.service.ports import ArtifactStore, DatasetStore, FeedbackStore, UploadStore
from propensity.service.quarantine import screen
from propensity.service.training_snapshot import TrainingSnapshots


class TrainingInputs:
    def __init__(
        self,
        artifacts: ArtifactStore,
        feedback: FeedbackStore,
        datasets: DatasetStore,
        uploads: UploadStore | None,
        snapshots: TrainingSnapshots | None = None,
    ) -> None:
        self._artifacts = artifacts
        self._feedback = feedback
        self._datasets = datasets
        self._uploads = uploads
        self._snapshots = snapshots

    def read(self, config: ModelConfig) -> TrainingSet:
        """Every byte and record the next version of ``config`` trains on."""
        base, location = self._datasets.read(config.dataset.source)
        exclusions = self._feedback.list_exclusions(config.name)
        stored, snapshot = self._stored_feedback(config.name)
        rows, applied, excluded = screen(list(stored.provenance()), exclusions)
        feedback = stored if excluded == 0 else stored.take([r.row for r in rows])
        # Uploads meet the same exclusions (by subject, source "upload" or time) and are read
        # only when kept: an excluded file is never fetched.
        uploads, applied_to_uploads, uploads_excluded = screen(
            self._upload_records(config.name), exclusions
        )
        removed = {a.exclusion_id: a.removed for a in applied}
        for a in applied_to_uploads:
            removed[a.exclusion_id] = removed.get(a.exclusion_id, 0) + a.removed
        return TrainingSet(
            config.name,
            base,
            location,
            feedback,
            tuple(self._read_upload(config.name, u) for u in uploads),
            exclusions=tuple(AppliedExclusion(e, n) for e, n in removed.items()),
            feedback_excluded=excluded,
            uploads_excluded=uploads_excluded,
            snapshot=snapshot,
        )

    def _stored_feedback(self, model: str) -> tuple[FeedbackColumns, dict[str, Any]]:
        """Every stored feedback row, and the snapshot's lineage (empty without a snapshot)."""
        if self._snapshots is None:
            return FeedbackColumns.from_records(self._feedback.list_for_model(model)), {}
        read = self._snapshots.refresh(model)
        return read.columns, read.lineage()

    def _upload_records(self, model: str) -> list[_StoredUpload]:
        if self._uploads is None:
            return []
        return [_StoredUpload(u) for u in self._uploads.list_uploads(model)]

    def _read_upload(self, model: str, upload: _StoredUpload) -> UploadedData:
        upload_id, key = str(upload.item["upload_id"]), str(upload.item["key"])
        source = f"upload {upload_id} of {model} ({key})"
        try:
            payload = self._artifacts.get_bytes(key)
        except (NotFoundError, StorageError) as exc:
            raise DatasetError(source, f"cannot be read: {exc}") from exc
        digest = hashlib.sha256(payload).hexdigest()
        if digest != upload.item.get("sha256", digest):
            raise DatasetError(source, "content differs from the SHA-256 recorded at upload")
        return UploadedData(
            upload_id,
            digest,
            str(upload.item["delimiter"]),
            payload,
            subject=upload.subject,
            created_at=upload.created_at,
        )


@dataclass(frozen=True)
class _StoredUpload:
    """An accepted upload's stored description, as exclusions match it (before it is read)."""

    item: Mapping[str, Any]
    source: str = "upload"

    @property
    def subject(self) -> str:
        return str(self.item.get("subject", "anonymous"))

    @property
    def created_at(self) -> str:
        return str(self.item.get("created_at", ""))
