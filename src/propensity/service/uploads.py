"""Labelled CSV uploads for retraining: validated completely before anything is stored.

Standard library only (the admin function has no pandas). Every problem found is reported with
its row and column, up to a limit, so a user can fix a file in one go.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from propensity.clock import now_iso
from propensity.config import ModelConfig, config_for
from propensity.errors import Problem, UploadInvalidError
from propensity.service.ports import ArtifactStore, UploadStore
from propensity.tabular import MAX_COLUMNS, parse_labelled_csv

__all__ = ["MAX_COLUMNS", "MAX_ROWS", "MAX_UPLOAD_BYTES", "UploadService", "ValidatedUpload"]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000


@dataclass(frozen=True)
class ValidatedUpload:
    upload_id: str
    model: str
    rows: int
    positives: int
    delimiter: str
    sha256: str
    columns: tuple[str, ...] = field(default_factory=tuple)


def validate_labelled_csv(config: ModelConfig, payload: bytes, source: str) -> ValidatedUpload:
    """Check a labelled CSV against the model's schema; raises UploadInvalidError.

    The parser is training's own (``propensity.tabular``): what is accepted here trains.
    """
    if len(payload) > MAX_UPLOAD_BYTES:
        raise UploadInvalidError(
            source, [Problem(None, None, f"larger than {MAX_UPLOAD_BYTES} bytes")]
        )
    table = parse_labelled_csv(config, payload, source, max_rows=MAX_ROWS)
    digest = hashlib.sha256(payload).hexdigest()
    return ValidatedUpload(
        digest[:32],
        config.name,
        table.rows,
        table.positives,
        table.delimiter,
        digest,
        table.header,
    )


class UploadService:
    """Stores validated uploads as training data: S3 object + an UPLOAD# item counting its rows."""

    def __init__(
        self,
        configs: Mapping[str, ModelConfig],
        artifacts: ArtifactStore,
        uploads: UploadStore,
        *,
        presign: Callable[[str, int], str] | None = None,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._configs = dict(configs)
        self._artifacts = artifacts
        self._uploads = uploads
        self._presign = presign
        self._clock = clock

    def _config(self, model: str) -> ModelConfig:
        return config_for(self._configs, model)

    @staticmethod
    def key(model: str, upload_id: str) -> str:
        """Where an accepted upload is kept: as long as versions are trained on it."""
        return f"uploads/{model}/{upload_id}.csv"

    @staticmethod
    def incoming_key(model: str, upload_id: str) -> str:
        """The presigned PUT target: unfinished uploads expire (the bucket's lifecycle rule)."""
        return f"incoming/{model}/{upload_id}.csv"

    def accept(
        self, model: str, payload: bytes, filename: str, *, subject: str = "anonymous"
    ) -> tuple[ValidatedUpload, bool]:
        """Validate, then store; the same file uploaded twice is stored and counted once.

        ``subject`` (whose credential uploaded it) is its provenance, as for feedback: an
        exclusion by subject, source ``upload`` or time window holds its rows out of training.
        """
        upload = validate_labelled_csv(self._config(model), payload, filename or "labeled_csv")
        self._artifacts.put_bytes(self.key(model, upload.upload_id), payload, "text/csv")
        created = self._uploads.add_upload(
            model, upload.upload_id, self._describe(upload, filename, subject)
        )
        return upload, created

    def start_presigned(
        self, model: str, upload_id: str, expires_seconds: int = 900
    ) -> dict[str, Any]:
        """A URL the client PUTs a large file to; then ``complete`` validates and counts it."""
        self._config(model)
        if self._presign is None:
            raise RuntimeError("presigned uploads are not wired into this service")
        key = self.incoming_key(model, upload_id)
        return {
            "upload_id": upload_id,
            "method": "PUT",
            "url": self._presign(key, expires_seconds),
            "headers": {"content-type": "text/csv"},
            "expires_in": expires_seconds,
        }

    def complete(
        self, model: str, upload_id: str, *, subject: str = "anonymous"
    ) -> tuple[ValidatedUpload, bool]:
        # One byte past the limit is enough for accept() to refuse it; a multi-GB PUT is never
        # read whole into the function's memory.
        payload = self._artifacts.get_bytes(
            self.incoming_key(model, upload_id), max_bytes=MAX_UPLOAD_BYTES + 1
        )
        return self.accept(model, payload, f"upload {upload_id}", subject=subject)

    def _describe(self, upload: ValidatedUpload, filename: str, subject: str) -> dict[str, Any]:
        return {
            "rows": upload.rows,
            "positives": upload.positives,
            "delimiter": upload.delimiter,
            "sha256": upload.sha256,
            "key": self.key(upload.model, upload.upload_id),
            "filename": filename[:200],
            "created_at": self._clock(),
            "subject": subject,
        }
