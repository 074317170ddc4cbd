"""In-memory implementations of the service ports: domain tests without AWS or moto."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from propensity.columns import FeedbackColumns
from propensity.errors import ConflictError, NotFoundError, StorageError
from propensity.records import (
    ChampionAlias,
    FeedbackErasure,
    FeedbackExclusion,
    FeedbackRecord,
    FeedbackStamp,
    ModelCatalogue,
    PredictionRecord,
    PromotionEvent,
    RetrainJob,
    VersionRecord,
    VersionStatus,
)


class FakeArtifacts:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.fail = False

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        if self.fail:
            raise StorageError("s3 unavailable")
        if key not in self.objects:
            raise NotFoundError(f"{key} does not exist")
        return self.objects[key][:max_bytes]

    def put_bytes(
        self, key: str, body: bytes, content_type: str = "application/octet-stream"
    ) -> None:
        if self.fail:
            raise StorageError("s3 unavailable")
        self.objects[key] = body


class FakeRegistry:
    def __init__(self) -> None:
        self.versions: dict[tuple[str, int], VersionRecord] = {}
        self.champions: dict[str, ChampionAlias] = {}
        self.promotions: list[PromotionEvent] = []
        self.fail = False

    def get_champion(self, model: str) -> ChampionAlias | None:
        if self.fail:
            raise StorageError("registry unavailable")
        return self.champions.get(model)

    def get_version(self, model: str, version: str) -> VersionRecord:
        for (m, _), record in self.versions.items():
            if m == model and record.version == version:
                return record
        raise NotFoundError(f"{model} {version}")

    def list_versions(self, model: str, limit: int = 100) -> list[VersionRecord]:
        mine = sorted(
            (r for (m, _), r in self.versions.items() if m == model), key=lambda r: -r.number
        )
        return mine[:limit]

    def latest_version_number(self, model: str) -> int:
        return max((n for (m, n) in self.versions if m == model), default=0)

    def put_version(self, record: VersionRecord) -> None:
        key = (record.model, record.number)
        if key in self.versions:
            raise ConflictError(f"{record.model} {record.version} exists")
        self.versions[key] = record

    def set_status(self, model: str, version: str, status: VersionStatus, reason: str) -> None:
        record = self.get_version(model, version)
        self.versions[(model, record.number)] = dataclasses.replace(
            record, status=status, reason=reason
        )

    def promote(
        self, record: VersionRecord, *, expected_revision: int | None, event: PromotionEvent
    ) -> ChampionAlias:
        current = self.champions.get(record.model)
        if (current.revision if current else None) != expected_revision:
            raise ConflictError("champion changed meanwhile")
        alias = ChampionAlias(
            model=record.model,
            version=record.version,
            scorecard_key=record.scorecard_key,
            scorecard_sha256=record.artifacts["scorecard.json"],
            revision=(expected_revision or 0) + 1,
            updated_at=event.at,
            previous_version=event.previous_version,
            reason=event.reason,
            actor=event.actor,
        )
        self.champions[record.model] = alias
        self.set_status(record.model, record.version, "promoted", record.reason)
        self.promotions.append(event)
        return alias

    def list_promotions(self, model: str, limit: int = 50) -> list[PromotionEvent]:
        return [p for p in reversed(self.promotions) if p.model == model][:limit]


class FakePredictionLog:
    def __init__(self) -> None:
        self.records: dict[str, PredictionRecord] = {}

    def put_many(self, records: Sequence[PredictionRecord]) -> None:
        for record in records:
            self.records[record.prediction_id] = record

    def get(self, prediction_id: str) -> PredictionRecord:
        if prediction_id not in self.records:
            raise NotFoundError(prediction_id)
        return self.records[prediction_id]

    def get_many(self, prediction_ids: Sequence[str]) -> list[PredictionRecord]:
        return [self.records[i] for i in prediction_ids if i in self.records]

    def recent(
        self, model: str, limit: int, *, sources: Collection[str] | None = None
    ) -> list[PredictionRecord]:
        mine = [
            r
            for r in self.records.values()
            if r.model == model and (sources is None or r.source in sources)
        ]
        return sorted(mine, key=lambda r: r.created_at, reverse=True)[:limit]


class FakeFeedbackStore:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], FeedbackRecord] = {}
        self.counters: dict[str, int] = {}
        self.uploads: dict[tuple[str, str], dict[str, Any]] = {}
        self.jobs: dict[tuple[str, str], RetrainJob] = {}
        self.exclusions: dict[tuple[str, str], FeedbackExclusion] = {}
        self.erasures: list[FeedbackErasure] = []
        # FeedbackLog: each item's number, in commit order, and how many items were read.
        self.numbers: dict[tuple[str, str], int] = {}
        self.sequences: dict[str, int] = {}
        self.expiries: dict[tuple[str, str], int] = {}  # TTLs (epoch seconds), by item
        self.items_read = 0

    def add(self, record: FeedbackRecord) -> tuple[FeedbackRecord, bool]:
        key = (record.model, record.feedback_id)
        if key in self.items:
            return self.items[key], False
        self.items[key] = record
        self.counters[record.model] = self.counters.get(record.model, 0) + 1
        self.sequences[record.model] = self.sequences.get(record.model, 0) + 1
        self.numbers[key] = self.sequences[record.model]
        return record, True

    # FeedbackLog
    def committed(self, model: str) -> int:
        return self.sequences.get(model, 0)

    def _numbered(
        self, model: str, keep: Any, extra: dict[tuple[str, str], int] | None = None
    ) -> Iterator[FeedbackColumns]:
        numbers = {**(extra or {}), **self.numbers}
        mine = sorted((n, i) for (m, i), n in numbers.items() if m == model and keep(n))
        page = FeedbackColumns()
        for n, feedback_id in mine:
            if (model, feedback_id) not in self.items:
                continue  # erased
            r = self.items[(model, feedback_id)]
            self.items_read += 1
            meta = {
                "seq": n,
                "expires_at": self.expiries.get((model, feedback_id)),
                **dataclasses.asdict(r),
            }
            page.append(meta, r.features)
            if len(page) == 2:  # small pages: the paging is exercised too
                yield page
                page = FeedbackColumns()
        if page:
            yield page

    def read_after(self, model: str, after: int, upto: int) -> Iterator[FeedbackColumns]:
        return self._numbered(model, lambda n: after < n <= upto)

    def read_all(self, model: str, upto: int) -> Iterator[FeedbackColumns]:
        unnumbered = {key: 0 for key in self.items if key[0] == model and key not in self.numbers}
        return self._numbered(model, lambda n: n <= upto, unnumbered)

    def unnumbered(self, model: str) -> int:
        return sum(1 for key in self.items if key[0] == model and key not in self.numbers)

    def list_for_model(self, model: str) -> list[FeedbackRecord]:
        return [r for (m, _), r in self.items.items() if m == model]

    def pending(self, model: str) -> int:
        return self.counters.get(model, 0)

    def consume(self, model: str, count: int) -> None:
        self.counters[model] = self.counters.get(model, 0) - count

    # UploadStore: an upload's description, counted once as its rows.
    def add_upload(self, model: str, upload_id: str, description: dict[str, Any]) -> bool:
        key = (model, f"upload:{upload_id}")
        if key in self.uploads:
            return False
        self.uploads[key] = {"upload_id": upload_id, **description}
        self.counters[model] = self.counters.get(model, 0) + int(description["rows"])
        return True

    def list_uploads(self, model: str) -> list[dict[str, Any]]:
        return [u for (m, _), u in self.uploads.items() if m == model]

    # JobStore
    def put_job(self, job: RetrainJob) -> None:
        if (job.model, job.job_id) in self.jobs:
            raise ConflictError(f"job {job.job_id} exists")
        self.jobs[(job.model, job.job_id)] = job

    def get_job(self, model: str, job_id: str) -> RetrainJob:
        if (model, job_id) not in self.jobs:
            raise NotFoundError(f"model {model!r} has no retrain job {job_id!r}")
        return self.jobs[(model, job_id)]

    def update_job(self, job: RetrainJob) -> None:
        self.get_job(job.model, job.job_id)
        self.jobs[(job.model, job.job_id)] = job

    def list_jobs(self, model: str) -> list[RetrainJob]:
        return [j for (m, _), j in self.jobs.items() if m == model]

    # FeedbackCurationStore (and FeedbackStore.list_exclusions)
    def stamps(self, model: str) -> list[FeedbackStamp]:
        return [
            FeedbackStamp(r.feedback_id, r.created_at, r.source, r.subject, r.label)
            for r in self.list_for_model(model)
        ]

    def get_many(self, model: str, feedback_ids: Sequence[str]) -> list[FeedbackRecord]:
        return [self.items[(model, i)] for i in feedback_ids if (model, i) in self.items]

    def list_exclusions(self, model: str) -> list[FeedbackExclusion]:
        return [e for (m, _), e in self.exclusions.items() if m == model]

    def put_exclusion(self, exclusion: FeedbackExclusion) -> None:
        key = (exclusion.model, exclusion.exclusion_id)
        if key in self.exclusions:
            raise ConflictError(f"exclusion {exclusion.exclusion_id} exists")
        self.exclusions[key] = exclusion

    def lift_exclusion(
        self, model: str, exclusion_id: str, *, lifted_by: str, lifted_at: str
    ) -> FeedbackExclusion:
        if (model, exclusion_id) not in self.exclusions:
            raise NotFoundError(f"model {model!r} has no feedback exclusion {exclusion_id!r}")
        stored = self.exclusions[(model, exclusion_id)]
        if stored.active:
            stored = dataclasses.replace(stored, lifted_by=lifted_by, lifted_at=lifted_at)
            self.exclusions[(model, exclusion_id)] = stored
        return stored

    def delete_feedback(self, model: str, feedback_ids: Sequence[str]) -> int:
        for feedback_id in feedback_ids:
            self.items.pop((model, feedback_id), None)
        return len(feedback_ids)

    def put_erasure(self, erasure: FeedbackErasure) -> None:
        self.erasures.append(erasure)

    def list_erasures(self, model: str) -> list[FeedbackErasure]:
        return [e for e in self.erasures if e.model == model]


class FakeSnapshots:
    """SnapshotStore in memory: the manifest's version is a counter; ``fail_after_parts``
    makes every write after that many parts fail (a crash between parts and manifest)."""

    def __init__(self) -> None:
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.parts: dict[tuple[str, str], bytes] = {}
        self.written: dict[tuple[str, str], datetime] = {}
        self.part_writes = 0
        self.fail_after_parts: int | None = None
        self.fail_manifest = False

    def read_manifest(self, model: str) -> tuple[bytes, str] | None:
        return self.manifests.get(model)

    def write_manifest(self, model: str, body: bytes, *, replaces: str | None) -> None:
        if self.fail_manifest:
            raise StorageError("s3 unavailable")
        current = self.manifests.get(model)
        if (current[1] if current else None) != replaces:
            raise ConflictError(f"manifest of {model} changed meanwhile")
        self.manifests[model] = (body, hashlib.sha256(body).hexdigest())

    def read_part(self, model: str, sha256: str) -> bytes:
        if (model, sha256) not in self.parts:
            raise NotFoundError(f"part {sha256} of {model}")
        return self.parts[(model, sha256)]

    def write_part(self, model: str, sha256: str, body: bytes) -> None:
        if self.fail_after_parts is not None and self.part_writes >= self.fail_after_parts:
            raise StorageError("s3 unavailable")
        self.part_writes += 1
        self.parts[(model, sha256)] = body
        self.written[(model, sha256)] = datetime.now(UTC)

    def list_parts(self, model: str) -> list[tuple[str, datetime]]:
        return [(sha, at) for (m, sha), at in self.written.items() if m == model]

    def delete_parts(self, model: str, sha256s: Sequence[str]) -> None:
        for sha in sha256s:
            self.parts.pop((model, sha), None)
            self.written.pop((model, sha), None)


class FakeModelConfigStore:
    """The bucket's model catalogue, configs and datasets, in memory; ``fail`` makes it
    unreachable. Its revision counts writes, as an ETag would change."""

    def __init__(self) -> None:
        self.catalogue = ModelCatalogue()
        self.objects: dict[str, bytes] = {}
        self.reads = 0
        self.fail = False

    def read_catalogue(self) -> ModelCatalogue:
        if self.fail:
            raise StorageError("s3 unavailable")
        self.reads += 1
        return self.catalogue

    def write_catalogue(self, catalogue: ModelCatalogue) -> None:
        if catalogue.revision != self.catalogue.revision:
            raise ConflictError("catalogue changed meanwhile")
        self.catalogue = dataclasses.replace(
            catalogue, revision=str(int(catalogue.revision or 0) + 1)
        )

    def read_config(self, model: str, sha256: str) -> bytes:
        if self.fail:
            raise StorageError("s3 unavailable")
        key = f"configs/{model}/{sha256}"
        if key not in self.objects:
            raise NotFoundError(f"{key} does not exist")
        return self.objects[key]

    def put_config(self, model: str, sha256: str, body: bytes) -> None:
        self.objects[f"configs/{model}/{sha256}"] = body

    def dataset_source(self, model: str, sha256: str) -> str:
        return f"added/{model}/{sha256[:32]}.csv"

    def put_dataset(self, model: str, sha256: str, body: bytes) -> None:
        self.objects["datasets/" + self.dataset_source(model, sha256)] = body

    def dataset_upload_form(
        self, model: str, upload_id: str, *, sha256: str, max_bytes: int, expires_seconds: int
    ) -> tuple[str, dict[str, str]]:
        return f"https://uploads.invalid/{model}/{upload_id}", {"sha256": sha256}

    def read_dataset_upload(
        self, model: str, upload_id: str, max_bytes: int
    ) -> tuple[bytes, dict[str, str]]:
        key = f"incoming/{model}/{upload_id}"
        if key not in self.objects:
            raise NotFoundError(f"{key} does not exist")
        body = self.objects[key][:max_bytes]
        return body, {"sha256": hashlib.sha256(self.objects[key]).hexdigest()}
