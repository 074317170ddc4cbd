"""Training snapshots in the artifacts bucket, under ``snapshots/<model>/``.

``parts/<sha256>.json.gz`` hold the rows (named by their content: writing one twice is one
object), ``manifest.json`` lists them. The manifest is replaced with S3's conditional writes:
``If-Match`` the ETag it was read with (``If-None-Match: *`` for the first), so of two retrains
that read one manifest only the first to write succeeds; the other gets a ConflictError.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import translate
from propensity.errors import NotFoundError, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

PREFIX = "snapshots"
PART_SUFFIX = ".json.gz"
DELETE_BATCH = 1000  # keys per DeleteObjects call (S3's limit)


class BucketSnapshots:
    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        self._client: S3Client = client or boto3.client(
            "s3", config=Config(signature_version="s3v4")
        )
        self.bytes_read = 0  # what the snapshot cost in S3 reads (the scale benchmark's number)

    def _manifest(self, model: str) -> str:
        return f"{PREFIX}/{model}/manifest.json"

    def _part(self, model: str, sha256: str) -> str:
        return f"{PREFIX}/{model}/parts/{sha256}{PART_SUFFIX}"

    def _get(self, key: str) -> tuple[bytes, str]:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc
        self.bytes_read += len(body)
        return body, str(response["ETag"])

    def _put(self, key: str, body: bytes, content_type: str, **condition: Any) -> None:
        try:
            self._client.put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, **condition
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc

    def read_manifest(self, model: str) -> tuple[bytes, str] | None:
        try:
            return self._get(self._manifest(model))
        except NotFoundError:
            return None

    def write_manifest(self, model: str, body: bytes, *, replaces: str | None) -> None:
        condition = {"IfMatch": replaces} if replaces is not None else {"IfNoneMatch": "*"}
        self._put(self._manifest(model), body, "application/json", **condition)

    def read_part(self, model: str, sha256: str) -> bytes:
        return self._get(self._part(model, sha256))[0]

    def write_part(self, model: str, sha256: str, body: bytes) -> None:
        self._put(self._part(model, sha256), body, "application/gzip")

    def list_parts(self, model: str) -> list[tuple[str, datetime]]:
        prefix = f"{PREFIX}/{model}/parts/"
        parts: list[tuple[str, datetime]] = []
        try:
            for page in self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=prefix
            ):
                for entry in page.get("Contents", []):
                    name = entry["Key"].removeprefix(prefix)
                    if name.endswith(PART_SUFFIX):
                        parts.append((name.removesuffix(PART_SUFFIX), entry["LastModified"]))
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{prefix}") from exc
        return parts

    def delete_parts(self, model: str, sha256s: Sequence[str]) -> None:
        keys = [self._part(model, sha) for sha in sha256s]
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            try:
                answer = self._client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True},
                )
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, f"s3://{self.bucket}/{PREFIX}/{model}/parts/") from exc
            failed = answer.get("Errors", [])
            if failed:
                first = failed[0]
                raise StorageError(
                    f"s3://{self.bucket}/{first.get('Key')}: {len(failed)} parts not deleted "
                    f"({first.get('Code')}: {first.get('Message')})"
                )
