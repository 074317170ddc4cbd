"""Reading an artifact only if it is exactly what the registry recorded."""

from __future__ import annotations

import hashlib

from propensity.errors import ArtifactError, NotFoundError
from propensity.service.ports import ArtifactStore


def load_verified(store: ArtifactStore, key: str, sha256: str) -> bytes:
    """The bytes at ``key``; ArtifactError when missing or when their SHA-256 differs."""
    try:
        body = store.get_bytes(key)
    except NotFoundError as exc:
        raise ArtifactError(f"{key} is missing") from exc
    digest = hashlib.sha256(body).hexdigest()
    if not sha256 or digest != sha256:
        raise ArtifactError(f"{key}: SHA-256 {digest[:12]}… does not match the registry")
    return body
