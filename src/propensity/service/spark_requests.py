"""What the retrain function hands a Spark job, and what the job hands back, as S3 objects.

Under ``spark-jobs/<model>/<version>/``:

- ``request.json``: the model's config, the version to train, the base dataset's location and
  SHA-256 (the job reads it again and checks it), the comparators' scorecards (key, SHA-256),
  and the training set's provenance (exclusions, snapshot lineage);
- ``feedback.json.gz``: the screened feedback, in the training snapshot's part format;
- ``uploads/<id>.csv``: each accepted upload;
- ``candidate/…`` and ``candidate.json``: the job's rendered artifacts and everything else of
  the ``Candidate``, which the completion event publishes through the gate.

Plain Python over the ``ArtifactStore`` port: the job and the function share this module.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from propensity.config import ModelConfig
from propensity.errors import ArtifactError, DatasetError
from propensity.inputs import TrainingSet
from propensity.records import AppliedExclusion, Candidate, UploadedData
from propensity.service.ports import ArtifactStore, DatasetStore
from propensity.service.snapshot_format import PartEntry, decode_part, encode_part

PREFIX = "spark-jobs/"
REQUEST_FILE = "request.json"
FEEDBACK_FILE = "feedback.json.gz"
CANDIDATE_FILE = "candidate.json"


def job_prefix(model: str, version: str) -> str:
    return f"{PREFIX}{model}/{version}/"


def run_key(job_run_id: str) -> str:
    """Where a submitted job run's record is kept (its model, version and state)."""
    return f"{PREFIX}runs/{job_run_id}.json"


def latest_run_key(model: str) -> str:
    """Where the job run id of a model's latest submission is kept."""
    return f"{PREFIX}latest/{model}.json"


def _finite(value: Any) -> Any:
    """JSON has no NaN: an undefined number (a single-class slice) is written as null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(_finite(payload), sort_keys=True, allow_nan=False).encode()


@dataclass(frozen=True)
class SparkRequest:
    config: ModelConfig
    version: str
    data: TrainingSet
    comparators: dict[str, tuple[str, str]]  # name → (scorecard key, SHA-256)


def write_request(
    store: ArtifactStore,
    config: ModelConfig,
    data: TrainingSet,
    *,
    version: str,
    comparators: Mapping[str, tuple[str, str]],
) -> str:
    """Store what the job needs to train ``version``; returns the job's prefix."""
    prefix = job_prefix(config.name, version)
    feedback, entry = encode_part(config.name, data.feedback)
    store.put_bytes(prefix + FEEDBACK_FILE, feedback, "application/gzip")
    uploads = []
    for upload in data.uploads:
        key = f"{prefix}uploads/{upload.upload_id}.csv"
        store.put_bytes(key, upload.payload, "text/csv")
        uploads.append(
            {
                "upload_id": upload.upload_id,
                "sha256": upload.sha256,
                "delimiter": upload.delimiter,
                "subject": upload.subject,
                "created_at": upload.created_at,
                "key": key,
            }
        )
    request = {
        "config": config.model_dump(mode="json"),
        "version": version,
        "base": {
            "location": data.base_location,
            "sha256": hashlib.sha256(data.base).hexdigest(),
        },
        "feedback": entry.__dict__,
        "uploads": uploads,
        "exclusions": [e.__dict__ for e in data.exclusions],
        "feedback_excluded": data.feedback_excluded,
        "uploads_excluded": data.uploads_excluded,
        "snapshot": data.snapshot,
        "comparators": {name: list(ref) for name, ref in comparators.items()},
    }
    store.put_bytes(prefix + REQUEST_FILE, _json(request), "application/json")
    return prefix


def read_request(store: ArtifactStore, datasets: DatasetStore, prefix: str) -> SparkRequest:
    """The training set the function read, rebuilt in the job (base data read again)."""
    raw = json.loads(store.get_bytes(prefix + REQUEST_FILE))
    config = ModelConfig.model_validate(raw["config"])
    base, location = datasets.read(config.dataset.source)
    if hashlib.sha256(base).hexdigest() != raw["base"]["sha256"]:
        raise DatasetError(location, "changed since the retrain that submitted this job")
    feedback = decode_part(
        config.name, PartEntry(**raw["feedback"]), store.get_bytes(prefix + FEEDBACK_FILE)
    )
    uploads = []
    for upload in raw["uploads"]:
        payload = store.get_bytes(upload["key"])
        if hashlib.sha256(payload).hexdigest() != upload["sha256"]:
            raise ArtifactError(f"upload {upload['upload_id']}: content differs from its SHA-256")
        uploads.append(
            UploadedData(
                upload["upload_id"],
                upload["sha256"],
                upload["delimiter"],
                payload,
                subject=upload["subject"],
                created_at=upload["created_at"],
            )
        )
    data = TrainingSet(
        config.name,
        base,
        location,
        feedback,
        tuple(uploads),
        exclusions=tuple(AppliedExclusion(**e) for e in raw["exclusions"]),
        feedback_excluded=int(raw["feedback_excluded"]),
        uploads_excluded=int(raw["uploads_excluded"]),
        snapshot=dict(raw["snapshot"]),
    )
    comparators = {name: (str(k), str(h)) for name, (k, h) in raw["comparators"].items()}
    return SparkRequest(config, str(raw["version"]), data, comparators)


def write_candidate(store: ArtifactStore, prefix: str, candidate: Candidate) -> None:
    """The job's output: files first, ``candidate.json`` (the commit point) last."""
    for name, body in candidate.files.items():
        store.put_bytes(f"{prefix}candidate/{name}", body)
    described = {
        "model": candidate.model,
        "version": candidate.version,
        "files": sorted(candidate.files),
        "artifacts": dict(candidate.artifacts),
        "metrics": dict(candidate.metrics),
        "comparisons": {k: dict(v) for k, v in candidate.comparisons.items()},
        "threshold": candidate.threshold,
        "rows_train": candidate.rows_train,
        "extra_rows": candidate.extra_rows,
        "data_sha256": candidate.data_sha256,
        "lineage": dict(candidate.lineage),
        "evidence": dict(candidate.evidence),
        "feedback_holdout": dict(candidate.feedback_holdout),
    }
    store.put_bytes(prefix + CANDIDATE_FILE, _json(described), "application/json")


def read_candidate(store: ArtifactStore, prefix: str) -> Candidate:
    raw = json.loads(store.get_bytes(prefix + CANDIDATE_FILE))
    files = {name: store.get_bytes(f"{prefix}candidate/{name}") for name in raw["files"]}
    for name, body in files.items():
        expected = raw["artifacts"].get(name)
        if expected is not None and hashlib.sha256(body).hexdigest() != expected:
            raise ArtifactError(f"{prefix}candidate/{name}: content differs from its SHA-256")
    return Candidate(
        model=raw["model"],
        version=raw["version"],
        files=files,
        artifacts=raw["artifacts"],
        metrics=raw["metrics"],
        comparisons=raw["comparisons"],
        threshold=float(raw["threshold"]),
        rows_train=int(raw["rows_train"]),
        extra_rows=int(raw["extra_rows"]),
        data_sha256=raw["data_sha256"],
        lineage=raw["lineage"],
        evidence=raw["evidence"],
        feedback_holdout=raw["feedback_holdout"],
    )
