"""Where dataset bytes come from: the stack's bucket, a local directory, or any location.

The service and training code receive bytes; only this adapter knows S3 and URLs.
"""

from __future__ import annotations

from pathlib import Path

from propensity.adapters.object_store import ObjectStore, split_s3_uri
from propensity.errors import DatasetError, NotFoundError, StorageError
from propensity.sources import read_local_or_http, resolve_source


class BucketDatasets:
    """Datasets under a key prefix of the stack's bucket (``datasets/bank-full.csv.gz``)."""

    def __init__(self, store: ObjectStore, prefix: str = "datasets/") -> None:
        self._store = store
        self._prefix = prefix.strip("/") + "/"

    def location(self, source: str) -> str:
        return f"s3://{self._store.bucket}/{self._prefix}{source}"

    def read(self, source: str) -> tuple[bytes, str]:
        location = self.location(source)
        try:
            return self._store.get_bytes(self._prefix + source), location
        except (NotFoundError, StorageError) as exc:
            raise DatasetError(location, str(exc).removeprefix(location + " ")) from exc


class DirectoryDatasets:
    """Datasets relative to a root that is a local directory or an ``s3://`` prefix (CLI)."""

    def __init__(self, root: str | Path) -> None:
        self._root = root

    def location(self, source: str) -> str:
        return resolve_source(source, self._root)

    def read(self, source: str) -> tuple[bytes, str]:
        location = self.location(source)
        return read_location(location), location


def read_location(location: str) -> bytes:
    """Raw bytes of a local path, ``s3://`` object or ``http(s)://`` URL."""
    if not location.startswith("s3://"):
        return read_local_or_http(location)
    bucket, key = split_s3_uri(location)
    try:
        return ObjectStore(bucket).get_bytes(key)
    except (NotFoundError, StorageError) as exc:
        raise DatasetError(location, str(exc).removeprefix(location + " ")) from exc
