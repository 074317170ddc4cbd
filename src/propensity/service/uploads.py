"""Labelled CSV uploads for retraining: validated completely before anything is stored.

Standard library only (the admin function has no pandas). Every problem found is reported with
its row and column, up to a limit, so a user can fix a file in one go.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from propensity.config import ModelConfig, parse_label
from propensity.errors import Problem, UnknownModelError, UploadInvalidError
from propensity.scoring.scorecard import MAX_CATEGORY_LENGTH
from propensity.service.ports import ArtifactStore, UploadStore

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_COLUMNS = 500
MAX_ROWS = 1_000_000
MAX_REPORTED_PROBLEMS = 20
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_OTHER_DELIMITERS = (",", ";", "\t", "|")


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
    """Check a labelled CSV against the model's schema; raises UploadInvalidError."""
    if len(payload) > MAX_UPLOAD_BYTES:
        raise UploadInvalidError(
            source, [Problem(None, None, f"larger than {MAX_UPLOAD_BYTES} bytes")]
        )
    if not payload.strip():
        raise UploadInvalidError(source, [Problem(None, None, "file is empty")])
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UploadInvalidError(
            source, [Problem(None, None, f"not UTF-8 text (byte {exc.start})")]
        ) from exc
    if "\x00" in text:
        raise UploadInvalidError(source, [Problem(None, None, "binary data (NUL bytes) in a CSV")])
    delimiter = config.dataset.delimiter
    first_line = text.split("\n", 1)[0]
    if first_line.count(delimiter) == 0:
        guess = next((d for d in _OTHER_DELIMITERS if d != delimiter and d in first_line), None)
        if guess is not None:
            delimiter = guess  # accept the other common delimiter when the header clearly uses it
    reader = csv.reader(
        io.StringIO(text), delimiter=delimiter, quotechar=config.dataset.quotechar, strict=True
    )
    try:
        header = [h.strip() for h in next(reader)]
    except (StopIteration, csv.Error) as exc:
        raise UploadInvalidError(source, [Problem(1, None, f"unreadable header: {exc}")]) from exc
    if len(header) > MAX_COLUMNS:
        raise UploadInvalidError(
            source, [Problem(1, None, f"{len(header)} columns; at most {MAX_COLUMNS}")]
        )
    required = [*config.features.all, config.target.column]
    missing = [c for c in required if c not in header]
    if missing:
        raise UploadInvalidError(
            source, [Problem(1, c, "required column is missing") for c in missing]
        )
    position = {name: header.index(name) for name in required}
    numeric = set(config.features.numeric)
    problems: list[Problem] = []
    rows = positives = 0

    def problem(row: int, column: str | None, reason: str) -> None:
        if len(problems) < MAX_REPORTED_PROBLEMS:
            problems.append(Problem(row, column, reason))

    try:
        for line_number, cells in enumerate(reader, start=2):
            if not cells or all(not c.strip() for c in cells):
                continue
            rows += 1
            if rows > MAX_ROWS:
                problem(line_number, None, f"more than {MAX_ROWS} rows")
                break
            if len(cells) != len(header):
                problem(line_number, None, f"{len(cells)} fields, the header has {len(header)}")
                continue
            for name in config.features.all:
                value = cells[position[name]].strip()
                if not value:
                    continue  # missing: imputed at training time
                if name in numeric:
                    try:
                        number = float(value)
                    except ValueError:
                        problem(line_number, name, f"{value[:40]!r} is not a number")
                        continue
                    if not math.isfinite(number):
                        problem(line_number, name, f"{value[:40]!r} is not a finite number")
                elif value.startswith(_FORMULA_START):
                    problem(line_number, name, "looks like a spreadsheet formula; refused")
                elif len(value) > MAX_CATEGORY_LENGTH:
                    problem(line_number, name, f"longer than {MAX_CATEGORY_LENGTH} characters")
            try:
                positives += parse_label(cells[position[config.target.column]], config.target)
            except ValueError as exc:
                problem(line_number, config.target.column, str(exc))
    except csv.Error as exc:
        problem(reader.line_num, None, f"malformed CSV: {exc}")
    if problems:
        raise UploadInvalidError(source, problems)
    if rows == 0:
        raise UploadInvalidError(source, [Problem(None, None, "no data rows below the header")])
    digest = hashlib.sha256(payload).hexdigest()
    return ValidatedUpload(
        digest[:32], config.name, rows, positives, delimiter, digest, tuple(header)
    )


def _utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class UploadService:
    """Stores validated uploads as training data: S3 object + an UPLOAD# item counting its rows."""

    def __init__(
        self,
        configs: Mapping[str, ModelConfig],
        artifacts: ArtifactStore,
        uploads: UploadStore,
        *,
        presign: Callable[[str, int], str] | None = None,
        clock: Callable[[], str] = _utc_now,
    ) -> None:
        self._configs = dict(configs)
        self._artifacts = artifacts
        self._uploads = uploads
        self._presign = presign
        self._clock = clock

    def _config(self, model: str) -> ModelConfig:
        config = self._configs.get(model)
        if config is None:
            raise UnknownModelError(model)
        return config

    @staticmethod
    def key(model: str, upload_id: str) -> str:
        return f"uploads/{model}/{upload_id}.csv"

    def accept(self, model: str, payload: bytes, filename: str) -> tuple[ValidatedUpload, bool]:
        """Validate, then store; the same file uploaded twice is stored and counted once."""
        upload = validate_labelled_csv(self._config(model), payload, filename or "labeled_csv")
        self._artifacts.put_bytes(self.key(model, upload.upload_id), payload, "text/csv")
        created = self._uploads.add_upload(
            model, upload.upload_id, self._describe(upload, filename)
        )
        return upload, created

    def start_presigned(
        self, model: str, upload_id: str, expires_seconds: int = 900
    ) -> dict[str, Any]:
        """A URL the client PUTs a large file to; then ``complete`` validates and counts it."""
        self._config(model)
        if self._presign is None:
            raise RuntimeError("presigned uploads are not wired into this service")
        key = f"uploads/{model}/incoming/{upload_id}.csv"
        return {
            "upload_id": upload_id,
            "method": "PUT",
            "url": self._presign(key, expires_seconds),
            "headers": {"content-type": "text/csv"},
            "expires_in": expires_seconds,
        }

    def complete(self, model: str, upload_id: str) -> tuple[ValidatedUpload, bool]:
        # One byte past the limit is enough for accept() to refuse it; a multi-GB PUT is never
        # read whole into the function's memory.
        payload = self._artifacts.get_bytes(
            f"uploads/{model}/incoming/{upload_id}.csv", max_bytes=MAX_UPLOAD_BYTES + 1
        )
        return self.accept(model, payload, f"upload {upload_id}")

    def _describe(self, upload: ValidatedUpload, filename: str) -> dict[str, Any]:
        return {
            "rows": upload.rows,
            "positives": upload.positives,
            "delimiter": upload.delimiter,
            "sha256": upload.sha256,
            "key": self.key(upload.model, upload.upload_id),
            "filename": filename[:200],
            "created_at": self._clock(),
        }
