"""The storage the domain logic needs, as protocols; adapters implement them over AWS."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from propensity.columns import FeedbackColumns
from propensity.config import ModelConfig
from propensity.inputs import TrainingSet
from propensity.records import (
    Candidate,
    ChampionAlias,
    FeedbackErasure,
    FeedbackExclusion,
    FeedbackRecord,
    FeedbackStamp,
    ModelArchival,
    ModelCatalogue,
    PredictionRecord,
    PromotionEvent,
    RetrainJob,
    SecretStaging,
    SecretVersions,
    TokenRevocation,
    VersionRecord,
    VersionStatus,
)


class ArtifactStore(Protocol):
    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        """The object's bytes; only its first ``max_bytes`` when given."""
        ...

    def put_bytes(self, key: str, body: bytes, content_type: str = ...) -> None: ...


class IncomingUploads(Protocol):
    """Where clients send files too large for the API, by a presigned POST."""

    def presigned_post(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        metadata: dict[str, str],
        expires_seconds: int,
    ) -> tuple[str, dict[str, str]]:
        """The URL and form fields of a POST that stores 1..``max_bytes`` bytes at exactly
        ``key``, with that content type and metadata, until it expires."""
        ...

    def get_with_metadata(
        self, key: str, max_bytes: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The object's bytes (its first ``max_bytes`` when given) and its user metadata."""
        ...


class DatasetStore(Protocol):
    def read(self, source: str) -> tuple[bytes, str]:
        """The raw bytes of a model's base dataset (a config's ``dataset.source``) and the
        location they were read from; DatasetError naming that location when unreadable."""
        ...


class Registry(Protocol):
    def get_champion(self, model: str) -> ChampionAlias | None: ...

    def get_version(self, model: str, version: str) -> VersionRecord: ...

    def list_versions(self, model: str, limit: int = 100) -> list[VersionRecord]: ...

    def latest_version_number(self, model: str) -> int: ...

    def put_version(self, record: VersionRecord) -> None:
        """Create a version; ConflictError when that number exists already."""

    def promote(
        self, record: VersionRecord, *, expected_revision: int | None, event: PromotionEvent
    ) -> ChampionAlias:
        """Point the champion alias at ``record`` if it is still at ``expected_revision``."""

    def set_status(self, model: str, version: str, status: VersionStatus, reason: str) -> None: ...

    def list_promotions(self, model: str, limit: int = 50) -> list[PromotionEvent]: ...


class PredictionLog(Protocol):
    def put_many(self, records: Sequence[PredictionRecord]) -> None: ...

    def get(self, prediction_id: str) -> PredictionRecord: ...

    def get_many(self, prediction_ids: Sequence[str]) -> list[PredictionRecord]:
        """The logged predictions of those ids (ids not stored are left out), in any order."""
        ...

    def recent(
        self, model: str, limit: int, *, sources: Collection[str] | None = None
    ) -> list[PredictionRecord]:
        """The newest ``limit`` predictions of ``model``, of the given sources only (all when
        None), newest first."""
        ...


class FeedbackStore(Protocol):
    def add(self, record: FeedbackRecord) -> tuple[FeedbackRecord, bool]:
        """Store ``record`` and count it once; returns (stored record, created?)."""

    def list_for_model(self, model: str) -> list[FeedbackRecord]: ...

    def pending(self, model: str) -> int: ...

    def consume(self, model: str, count: int) -> None:
        """Subtract ``count`` from the pending counter (after a version was written)."""

    def list_exclusions(self, model: str) -> list[FeedbackExclusion]:
        """Every exclusion recorded for ``model``, lifted ones included: training reads them
        with the feedback, so no store can hand out feedback without its quarantine."""
        ...


class FeedbackLog(Protocol):
    """Feedback in the order it was committed: what a training snapshot appends from.

    Every feedback item is stored with a per-model sequence number, committed in order with
    the model's counter (number n is committed only after n - 1), so the committed number is
    a sound watermark: nothing at or below it can still arrive.
    """

    def committed(self, model: str) -> int:
        """The highest sequence number committed (0: none); every lower one is committed too."""
        ...

    def read_after(self, model: str, after: int, upto: int) -> Iterator[FeedbackColumns]:
        """The stored feedback numbered ``after`` < n <= ``upto``, page by page, in order
        (items erased or expired since are left out)."""
        ...

    def read_all(self, model: str, upto: int) -> Iterator[FeedbackColumns]:
        """Every stored feedback item numbered <= ``upto`` or stored before numbering, page by
        page: a snapshot made while some item has no number (``unnumbered``)."""
        ...

    def list_erasures(self, model: str) -> list[FeedbackErasure]: ...

    def unnumbered(self, model: str) -> int:
        """How many feedback items were counted without a sequence number (stored by code
        older than numbering); it only grows, so a rise means such items arrived since."""
        ...


class SnapshotStore(Protocol):
    """A model's training snapshot: content-addressed parts and one manifest, the commit point."""

    def read_manifest(self, model: str) -> tuple[bytes, str] | None:
        """The manifest's bytes and its version tag (None: the model has no snapshot yet)."""
        ...

    def write_manifest(self, model: str, body: bytes, *, replaces: str | None) -> None:
        """Store the manifest only if the stored one is still the version ``replaces`` (None:
        only if there is none); ConflictError otherwise, and nothing is written."""

    def read_part(self, model: str, sha256: str) -> bytes:
        """A part's bytes by its SHA-256; NotFoundError when there is none."""
        ...

    def write_part(self, model: str, sha256: str, body: bytes) -> None:
        """Store a part under its SHA-256 (the same bytes again: a harmless overwrite)."""

    def list_parts(self, model: str) -> list[tuple[str, datetime]]:
        """Every stored part, named by a manifest or not: its SHA-256 and when it was written."""
        ...

    def delete_parts(self, model: str, sha256s: Sequence[str]) -> None:
        """Delete these parts (a part already gone is no error)."""


class FeedbackCurationStore(Protocol):
    """What admins do to stored feedback: list it, quarantine it, erase a subject's items."""

    def stamps(self, model: str) -> list[FeedbackStamp]:
        """Every feedback item's provenance and label, without features (cheap to read)."""
        ...

    def get_many(self, model: str, feedback_ids: Sequence[str]) -> list[FeedbackRecord]:
        """The stored records of those ids (ids no longer stored are left out), in any order."""
        ...

    def list_exclusions(self, model: str) -> list[FeedbackExclusion]: ...

    def put_exclusion(self, exclusion: FeedbackExclusion) -> None:
        """Record a new exclusion; ConflictError when its id exists."""

    def lift_exclusion(
        self, model: str, exclusion_id: str, *, lifted_by: str, lifted_at: str
    ) -> FeedbackExclusion:
        """Mark an active exclusion lifted (the record stays); an exclusion lifted already is
        returned as stored. NotFoundError when there is none of that id."""
        ...

    def delete_feedback(self, model: str, feedback_ids: Sequence[str]) -> int:
        """Delete those feedback items (an id not stored is no error); how many were asked."""
        ...

    def put_erasure(self, erasure: FeedbackErasure) -> None: ...

    def list_erasures(self, model: str) -> list[FeedbackErasure]: ...


class UploadStore(Protocol):
    def add_upload(self, model: str, upload_id: str, description: dict[str, Any]) -> bool:
        """Record an upload and add its rows to the pending counter once; False if known."""

    def list_uploads(self, model: str) -> list[dict[str, Any]]: ...


class JobStore(Protocol):
    def put_job(self, job: RetrainJob) -> None:
        """Create a job (the retrain function picks it up from the table's stream)."""

    def get_job(self, model: str, job_id: str) -> RetrainJob: ...

    def list_jobs(self, model: str) -> list[RetrainJob]: ...

    def update_job(self, job: RetrainJob) -> None: ...


class SecretSource(Protocol):
    def read(self) -> SecretVersions:
        """The admin secret's current (and previous) value, read now (no cache)."""
        ...


class RotatingSecret(Protocol):
    """The admin secret's versions as Secrets Manager's rotation moves them."""

    def staging(self) -> SecretStaging:
        """Whether rotation is enabled, and every version id with its staging labels."""
        ...

    def value_at(self, version_id: str, stage: str) -> str | None:
        """The value of version ``version_id`` if it holds ``stage``; None when it has no
        value (the empty version Secrets Manager stages when a rotation starts) or no such
        version holds that label."""
        ...

    def put_pending(self, version_id: str, value: str) -> None:
        """Store ``value`` as version ``version_id``, labelled ``AWSPENDING``."""

    def make_current(self, version_id: str, *, replacing: str) -> None:
        """Move ``AWSCURRENT`` from version ``replacing`` to ``version_id``; ``AWSPREVIOUS``
        follows to ``replacing``."""


class RevocationStore(Protocol):
    def add(self, revocation: TokenRevocation) -> tuple[TokenRevocation, bool]:
        """Record a revocation once; returns (the stored revocation, created?)."""
        ...

    def since(self, epoch: int) -> list[TokenRevocation]:
        """Every revocation recorded after ``epoch`` (seconds)."""
        ...


class RetrainLock(Protocol):
    def acquire(self, model: str, owner: str, ttl_seconds: int) -> bool:
        """Take the model's retrain lock unless someone holds an unexpired one."""

    def release(self, model: str, owner: str) -> None: ...


class Trainer(Protocol):
    """Trains a candidate from bytes and records (``training.candidate.SklearnTrainer``)."""

    def train(
        self,
        config: ModelConfig,
        data: TrainingSet,
        *,
        version: str,
        comparators: Mapping[str, Any],
    ) -> Candidate:
        """``comparators`` are scorers (champion, reference) to evaluate on the same rows."""
        ...


class SparkJobs(Protocol):
    """Starts Spark training jobs (``adapters.emr_serverless.EmrServerlessJobs``)."""

    def submit(self, model: str, version: str, request_prefix: str) -> str:
        """Start the job that trains ``version`` from the request under ``request_prefix``;
        returns its job run id (the completion event names it)."""
        ...


class DriftCheck(Protocol):
    def refresh(self, model: str) -> Mapping[str, Any]:
        """Recompute and store the model's drift report; its ``drift`` key says if it drifted."""
        ...


class ModelConfigSource(Protocol):
    """The models a function knows: packaged configs plus those added at run time.

    ``get`` answers only models that are served (UnknownModelError, ModelArchivedError);
    ``known`` also answers archived ones, whose versions stay readable.
    """

    def get(self, model: str) -> ModelConfig: ...

    def known(self, model: str) -> ModelConfig: ...

    def names(self) -> list[str]:
        """The served models, sorted."""
        ...

    def configs(self) -> Mapping[str, ModelConfig]:
        """The served models' configs, by name, sorted, as one read of the catalogue saw them."""
        ...

    def archival(self, model: str) -> ModelArchival | None: ...

    def __contains__(self, model: object) -> bool: ...


class ModelConfigStore(Protocol):
    """Where configs added at run time, their datasets and the catalogue of them are kept."""

    def read_catalogue(self) -> ModelCatalogue:
        """The catalogue as stored now (an empty one, revision None, before the first write)."""
        ...

    def write_catalogue(self, catalogue: ModelCatalogue) -> None:
        """Replace the catalogue; ConflictError when it changed since ``catalogue.revision``."""
        ...

    def read_config(self, model: str, sha256: str) -> bytes: ...

    def put_config(self, model: str, sha256: str, body: bytes) -> None: ...

    def dataset_source(self, model: str, sha256: str) -> str:
        """The ``dataset.source`` a stored dataset is read by (what the retrain resolves)."""
        ...

    def put_dataset(self, model: str, sha256: str, body: bytes) -> None: ...

    def dataset_upload_form(
        self, model: str, upload_id: str, *, sha256: str, max_bytes: int, expires_seconds: int
    ) -> tuple[str, dict[str, str]]:
        """A presigned POST (URL, fields) that stores a dataset file for ``model``."""
        ...

    def read_dataset_upload(
        self, model: str, upload_id: str, max_bytes: int
    ) -> tuple[bytes, dict[str, str]]:
        """A posted dataset's first ``max_bytes`` bytes and metadata; NotFoundError if none."""
        ...
