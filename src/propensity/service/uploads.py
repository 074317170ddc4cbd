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
from propensity.config import ModelConfig
from propensity.errors import InvalidInputError, Problem, UploadInvalidError
from propensity.service.model_configs import as_source
from propensity.service.ports import (
    ArtifactStore,
    IncomingUploads,
    ModelConfigSource,
    UploadStore,
)
from propensity.tabular import MAX_COLUMNS, parse_labelled_csv

__all__ = [
    "MAX_COLUMNS",
    "MAX_ROWS",
    "MAX_UPLOAD_BYTES",
    "PRESIGNED_EXPIRES_SECONDS",
    "UploadService",
    "ValidatedUpload",
]

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_ROWS = 1_000_000
# Long enough to start sending a 50 MB file, short enough that a leaked form is soon useless
# (S3 checks the expiry when the POST begins, not when it ends).
PRESIGNED_EXPIRES_SECONDS = 300


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
    _refuse_oversize(payload, source)
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


def _refuse_oversize(payload: bytes, source: str) -> None:
    if len(payload) > MAX_UPLOAD_BYTES:
        raise UploadInvalidError(
            source, [Problem(None, None, f"larger than {MAX_UPLOAD_BYTES} bytes")]
        )


class UploadService:
    """Stores validated uploads as training data: S3 object + an UPLOAD# item counting its rows."""

    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        artifacts: ArtifactStore,
        uploads: UploadStore,
        *,
        incoming: IncomingUploads | None = None,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._configs = as_source(configs)
        self._artifacts = artifacts
        self._uploads = uploads
        self._incoming = incoming
        self._clock = clock

    def _config(self, model: str) -> ModelConfig:
        return self._configs.get(model)

    @staticmethod
    def key(model: str, upload_id: str) -> str:
        """Where an accepted upload is kept: as long as versions are trained on it."""
        return f"uploads/{model}/{upload_id}.csv"

    @staticmethod
    def incoming_key(model: str, upload_id: str) -> str:
        """The presigned POST target: unfinished uploads expire (the bucket's lifecycle rule)."""
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
        self, model: str, sha256: str, expires_seconds: int = PRESIGNED_EXPIRES_SECONDS
    ) -> dict[str, Any]:
        """A form the client POSTs a large file with; then ``complete`` validates and counts it.

        The client states the file's SHA-256 here, before any byte moves: the upload's id is
        derived from it (an accepted upload's id is its content hash, as for direct uploads),
        and the signed policy pins it as the object's metadata, so ``complete`` needs nothing
        from the client but the id and refuses a file that is not the one announced.
        """
        self._config(model)
        incoming = self._require_incoming()
        upload_id = sha256[:32]
        url, fields = incoming.presigned_post(
            self.incoming_key(model, upload_id),
            content_type="text/csv",
            max_bytes=MAX_UPLOAD_BYTES,
            metadata={"sha256": sha256},
            expires_seconds=expires_seconds,
        )
        return {
            "upload_id": upload_id,
            "method": "POST",
            "url": url,
            "fields": fields,
            "expires_in": expires_seconds,
            "max_bytes": MAX_UPLOAD_BYTES,
        }

    def complete(
        self, model: str, upload_id: str, *, subject: str = "anonymous"
    ) -> tuple[ValidatedUpload, bool]:
        """Check the posted file is the one announced, then ``accept`` it; nothing is stored
        or counted otherwise."""
        source = f"upload {upload_id}"
        # One byte past the limit is enough to refuse it; a multi-GB object (S3's own policy
        # refuses one, this holds whatever reached the bucket) is never read whole into memory.
        payload, metadata = self._require_incoming().get_with_metadata(
            self.incoming_key(model, upload_id), max_bytes=MAX_UPLOAD_BYTES + 1
        )
        _refuse_oversize(payload, source)
        digest = hashlib.sha256(payload).hexdigest()
        stated = metadata.get("sha256", "")
        # The id is the stated hash's prefix, signed into the key: even an object written
        # around the policy must hash to its own id.
        if digest != stated or digest[:32] != upload_id:
            raise InvalidInputError(
                "sha256",
                f"the uploaded file's SHA-256 is {digest}, not the {stated or upload_id + '…'}"
                " stated when the upload started: it was changed or cut short; start again",
            )
        return self.accept(model, payload, source, subject=subject)

    def _require_incoming(self) -> IncomingUploads:
        if self._incoming is None:
            raise RuntimeError("presigned uploads are not wired into this service")
        return self._incoming

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
