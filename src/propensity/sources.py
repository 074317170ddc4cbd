"""Dataset locations and reading the ones the standard library can reach (files, HTTP).

At the bottom of the package: training (CLI datasets) and the dataset adapter (which adds
``s3://``) both read through here, so neither reaches into the other.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

from propensity.errors import DatasetError

MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024


def resolve_source(source: str, data_root: str | Path) -> str:
    """An absolute location for ``source``: URLs and absolute paths stay as they are."""
    if "://" in source or Path(source).is_absolute():
        return source
    root = str(data_root)
    if "://" in root:
        return root.rstrip("/") + "/" + source
    return str(Path(root) / source)


def read_local_or_http(location: str, *, timeout: float = 60.0) -> bytes:
    """Raw bytes of a local path or an http(s):// URL (``s3://`` goes through the adapter)."""
    if location.startswith("s3://"):
        raise DatasetError(location, "s3:// sources are read by adapters.datasets.read_location")
    if location.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(location, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
                payload: bytes = response.read(MAX_DOWNLOAD_BYTES + 1)
        except OSError as exc:
            raise DatasetError(location, f"download failed: {exc}") from exc
        if len(payload) > MAX_DOWNLOAD_BYTES:
            raise DatasetError(location, f"larger than {MAX_DOWNLOAD_BYTES} bytes")
        return payload
    path = Path(location.removeprefix("file://"))
    if not path.is_file():
        raise DatasetError(location, "file not found")
    return path.read_bytes()
