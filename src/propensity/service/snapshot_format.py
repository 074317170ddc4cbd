"""The bytes of a training snapshot: parts (gzip JSON columns) and the manifest (JSON).

A part is ``{"format": 1, "model": ..., "columns": FeedbackColumns.to_json()}``, JSON written
with sorted keys and gzip with a zero mtime: the same rows always give the same bytes, so a
part's SHA-256 names its content, and a part written twice (a retried retrain) is one object.
Standard library only: the service reads it without pandas, and training never has to.

The manifest lists the parts in order, each with its SHA-256, rows, bytes, the sequence
numbers it covers and its first TTL expiry; the watermark (every feedback item numbered at or
below it is in a part, or was erased or expired) and the erasures applied. Its digest (over
the parts' hashes and rows, in order) names the snapshot's content: the training input's
fingerprint.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from dataclasses import asdict, dataclass
from typing import Any

from propensity.columns import FeedbackColumns
from propensity.errors import ArtifactError

FORMAT = 1


@dataclass(frozen=True)
class PartEntry:
    sha256: str
    rows: int
    bytes: int
    first_seq: int  # 0 for items stored before sequence numbers
    last_seq: int
    # The earliest TTL expiry of its rows (epoch seconds; None: no row expires): a part whose
    # rows expire is rewritten without them, so retention holds in the snapshot too.
    expires_at: int | None = None


@dataclass(frozen=True)
class Manifest:
    model: str
    watermark: int = 0
    parts: tuple[PartEntry, ...] = ()
    erasures: tuple[str, ...] = ()  # erasure ids whose subject's rows were removed
    updated_at: str = ""
    format: int = FORMAT
    # Feedback counted without a sequence number when this snapshot was read (it holds them):
    # more of them later means items ``read_after`` cannot see, so the snapshot is rebuilt.
    unnumbered: int = 0

    @property
    def rows(self) -> int:
        return sum(p.rows for p in self.parts)

    def digest(self) -> str:
        """SHA-256 of what the snapshot holds: its parts' hashes and rows, in order."""
        content = [[p.sha256, p.rows] for p in self.parts]
        return hashlib.sha256(json.dumps(content, separators=(",", ":")).encode()).hexdigest()

    def summary(self) -> dict[str, Any]:
        return {
            "digest": self.digest(),
            "watermark": self.watermark,
            "parts": len(self.parts),
            "rows": self.rows,
            "bytes": sum(p.bytes for p in self.parts),
            "erasures_applied": len(self.erasures),
            "unnumbered": self.unnumbered,
        }

    def to_bytes(self) -> bytes:
        payload = asdict(self)
        return json.dumps(payload, sort_keys=True, indent=1).encode()

    @classmethod
    def from_bytes(cls, body: bytes, model: str) -> Manifest:
        try:
            payload = json.loads(body)
            if payload.get("format") != FORMAT or payload.get("model") != model:
                raise ValueError(f"format {payload.get('format')!r} of {payload.get('model')!r}")
            return cls(
                model=model,
                watermark=int(payload["watermark"]),
                parts=tuple(PartEntry(**p) for p in payload["parts"]),
                erasures=tuple(str(e) for e in payload.get("erasures", ())),
                updated_at=str(payload.get("updated_at", "")),
                unnumbered=int(payload.get("unnumbered", 0)),
            )
        except (ValueError, TypeError, KeyError) as exc:
            raise ArtifactError(
                f"training snapshot manifest of {model} is unreadable: {exc}"
            ) from exc


def encode_part(model: str, columns: FeedbackColumns) -> tuple[bytes, PartEntry]:
    text = json.dumps(
        {"format": FORMAT, "model": model, "columns": columns.to_json()},
        sort_keys=True,
        separators=(",", ":"),
        allow_nan=False,
    )
    body = gzip.compress(text.encode(), compresslevel=6, mtime=0)
    seqs = [s for s in columns.seq if s] or [0]
    expiries = [e for e in columns.expires_at if e is not None]
    entry = PartEntry(
        sha256=hashlib.sha256(body).hexdigest(),
        rows=len(columns),
        bytes=len(body),
        first_seq=min(seqs),
        last_seq=max(seqs),
        expires_at=min(expiries) if expiries else None,
    )
    return body, entry


def decode_part(model: str, entry: PartEntry, body: bytes) -> FeedbackColumns:
    """A part's rows, checked against its manifest entry (hash, then rows)."""
    where = f"training snapshot part {entry.sha256[:12]} of {model}"
    if hashlib.sha256(body).hexdigest() != entry.sha256:
        raise ArtifactError(f"{where}: content differs from the SHA-256 in the manifest")
    try:
        payload = json.loads(gzip.decompress(body))
        columns = FeedbackColumns.from_json(payload["columns"])
    except (OSError, EOFError, ValueError, TypeError, KeyError) as exc:
        raise ArtifactError(f"{where} is unreadable: {exc}") from exc
    if len(columns) != entry.rows:
        raise ArtifactError(f"{where}: {len(columns)} rows, the manifest says {entry.rows}")
    return columns
