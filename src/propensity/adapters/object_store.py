"""S3 access for artifacts and datasets. ``ClientError`` becomes a domain error here, once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import translate

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def split_s3_uri(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.lstrip("/"):
        raise ValueError(f"not an s3://bucket/key URI: {uri!r}")
    return parsed.netloc, parsed.path.lstrip("/")


class ObjectStore:
    """A bucket of objects addressed by key. The endpoint comes from AWS_ENDPOINT_URL_S3."""

    def __init__(self, bucket: str, client: S3Client | None = None) -> None:
        self.bucket = bucket
        # SigV4 everywhere: presigned URLs are otherwise SigV2 in some regions.
        self._client: S3Client = client or boto3.client(
            "s3", config=Config(signature_version="s3v4")
        )

    def get_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        return self.get_with_metadata(key, max_bytes)[0]

    def put_bytes(
        self,
        key: str,
        body: bytes,
        content_type: str = "application/octet-stream",
        metadata: dict[str, str] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
        }
        if metadata:
            kwargs["Metadata"] = metadata
        try:
            self._client.put_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc

    def get_with_metadata(
        self, key: str, max_bytes: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """The object's bytes (only its first ``max_bytes`` when given) and its user metadata."""
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        if max_bytes is not None:  # S3 sends no more than this: a huge object cannot exhaust memory
            kwargs["Range"] = f"bytes=0-{max_bytes - 1}"
        try:
            response = self._client.get_object(**kwargs)
            body: bytes = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc
        return body, dict(response.get("Metadata", {}))

    def get_with_etag(self, key: str) -> tuple[bytes, str]:
        """The object's bytes and its ETag (what ``put_if`` compares)."""
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=key)
            body: bytes = response["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc
        return body, str(response.get("ETag", ""))

    def put_if(self, key: str, body: bytes, content_type: str, *, etag: str | None) -> None:
        """Write only while the object is still at ``etag`` (None: only if there is none yet);
        ConflictError otherwise (S3 conditional writes)."""
        kwargs: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": key,
            "Body": body,
            "ContentType": content_type,
        }
        if etag is None:
            kwargs["IfNoneMatch"] = "*"
        else:
            kwargs["IfMatch"] = etag
        try:
            self._client.put_object(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc

    def presigned_post(
        self,
        key: str,
        *,
        content_type: str,
        max_bytes: int,
        metadata: dict[str, str],
        expires_seconds: int,
    ) -> tuple[str, dict[str, str]]:
        """A URL and form fields that let their holder POST one object to exactly ``key``.

        The signed policy pins the key, the content type and each metadata value, and bounds
        the size to 1..``max_bytes``: S3 refuses any other POST (``EntityTooLarge``,
        ``AccessDenied``) before storing a byte.
        """
        fields = {"Content-Type": content_type} | {
            f"x-amz-meta-{name}": value for name, value in metadata.items()
        }
        # boto3 adds the bucket and exact-key conditions itself.
        conditions: list[Any] = [{name: value} for name, value in fields.items()]
        conditions.append(["content-length-range", 1, max_bytes])
        try:
            post = self._client.generate_presigned_post(
                Bucket=self.bucket,
                Key=key,
                Fields=fields,
                Conditions=conditions,
                ExpiresIn=expires_seconds,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"s3://{self.bucket}/{key}") from exc
        return str(post["url"]), {str(k): str(v) for k, v in post["fields"].items()}


def read_s3_uri(uri: str) -> bytes:
    bucket, key = split_s3_uri(uri)
    return ObjectStore(bucket).get_bytes(key)
