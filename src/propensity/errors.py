"""Domain exceptions: every failure a caller can cause or observe has a name here.

Adapters translate infrastructure errors (botocore ``ClientError``…) into these, and one place
per entry point (HTTP error handlers, CLI) maps them to status codes / exit messages.
"""

from __future__ import annotations

from dataclasses import dataclass


class PropensityError(Exception):
    """Base class of every domain error."""


class InvalidInputError(PropensityError):
    """The caller sent data that cannot be used; ``field`` names what is wrong."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class DatasetError(PropensityError):
    """A data file is unusable; names the file, and the row and column when known."""

    def __init__(
        self, source: str, reason: str, *, row: int | None = None, column: str | None = None
    ) -> None:
        where = source
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column {column!r}"
        super().__init__(f"{where}: {reason}")
        self.source = source
        self.reason = reason
        self.row = row
        self.column = column


class ConfigError(PropensityError):
    """A model configuration file is missing or invalid."""


class UnknownModelError(PropensityError):
    """No model of that name is configured or served."""

    def __init__(self, model: str) -> None:
        super().__init__(f"unknown model {model!r}")
        self.model = model


class ArtifactError(PropensityError):
    """A stored artifact is missing, corrupt or does not match its recorded SHA-256."""


class StorageError(PropensityError):
    """The storage service failed (throttled, unavailable, access denied)."""


class NotFoundError(PropensityError):
    """A requested record (prediction, version, job) does not exist."""


class ConflictError(PropensityError):
    """A conditional write lost a race or the record changed meanwhile."""


class UnauthorizedError(PropensityError):
    """No credential, or one that is wrong or expired (401)."""


class ForbiddenError(PropensityError):
    """A valid credential that does not cover this model (403)."""


class ModelUnavailableError(PropensityError):
    """The model is configured but no usable champion can be served (yet)."""


class ModelArchivedError(PropensityError):
    """The model was archived: it is no longer served, taught or retrained (its versions stay)."""

    def __init__(self, model: str, archived_by: str, archived_at: str, reason: str = "") -> None:
        why = f": {reason}" if reason else ""
        super().__init__(
            f"model {model!r} was archived by {archived_by} at {archived_at}{why}; "
            "it is no longer served"
        )
        self.model = model
        self.archived_by = archived_by
        self.archived_at = archived_at
        self.reason = reason


class PayloadTooLargeError(PropensityError):
    """A request part is larger than the route accepts inline (413); names the field."""

    def __init__(self, field: str, size: int, limit: int, hint: str = "") -> None:
        super().__init__(f"{field}: {size} bytes exceeds the limit of {limit}{hint}")
        self.field = field
        self.size = size
        self.limit = limit


class BatchTooLargeError(PropensityError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"batch of {size} rows exceeds the limit of {limit}")
        self.size = size
        self.limit = limit


class RetrainBusyError(ConflictError):
    """Another retrain of the model holds the lock."""


class RotationError(PropensityError):
    """A step of the admin secret's rotation cannot go on: rotation is not enabled, the event
    names another secret or a version that is not staged, or the pending value is unusable.
    The rotation function fails, and Secrets Manager records the rotation as failed."""


@dataclass(frozen=True)
class Problem:
    row: int | None
    column: str | None
    reason: str


class UploadInvalidError(DatasetError):
    """The file cannot be used; ``problems`` lists each cell or line at fault."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        first = problems[0]
        more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
        super().__init__(source, first.reason + more, row=first.row, column=first.column)
        self.problems = problems
