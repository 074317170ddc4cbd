"""Loading and validating tabular datasets described by a model config.

Sources: a path (absolute, or relative to the data root), ``s3://bucket/key``, or an
``http(s)://`` URL. Gzip and zip payloads are unpacked (nested zips such as UCI's
``bank+marketing.zip`` → ``bank.zip`` → ``bank-full.csv`` through ``origin_member``).
Every problem is reported as a ``DatasetError`` naming the file, and the row and column when
one is to blame; nothing is half-loaded.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from propensity.config import ModelConfig
from propensity.errors import DatasetError
from propensity.sources import read_local_or_http, resolve_source
from propensity.tabular import LabelledTable, parse_labelled_csv

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"


def unpack(payload: bytes, source: str, member: str | None = None) -> bytes:
    """Decompress gzip, and walk zip archives down ``member`` ("outer.zip/inner.csv")."""
    if payload.startswith(_GZIP_MAGIC):
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError) as exc:
            raise DatasetError(source, f"corrupt gzip data: {exc}") from exc
    parts = [p for p in (member or "").split("/") if p]
    while payload.startswith(_ZIP_MAGIC):
        try:
            archive = zipfile.ZipFile(io.BytesIO(payload))
        except zipfile.BadZipFile as exc:
            raise DatasetError(source, f"corrupt zip archive: {exc}") from exc
        names = archive.namelist()
        wanted = parts.pop(0) if parts else None
        if wanted is None:
            csvs = [n for n in names if n.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise DatasetError(
                    source, f"zip holds {len(csvs)} CSV files; name one with origin_member"
                )
            wanted = csvs[0]
        matches = [n for n in names if n == wanted or n.endswith("/" + wanted)]
        if not matches:
            raise DatasetError(source, f"zip archive has no member {wanted!r}")
        payload = archive.read(matches[0])
    return payload


def sha256_hex(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """SHA-256 of the rows' content, order-sensitive: the training-data fingerprint."""
    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update(",".join(map(str, frame.columns)).encode())
    return digest.hexdigest()


def table_frame(table: LabelledTable, config: ModelConfig) -> pd.DataFrame:
    """A parsed table as the training frame: float numerics (NaN missing), object categories
    (NaN missing) and, when the table has labels, the 0/1 target."""
    columns: dict[str, Any] = {}
    for name in config.features.numeric:
        columns[name] = np.array(table.numeric[name], dtype=np.float64)  # None → NaN
    for name in config.features.categorical:
        values = np.array(table.categorical[name], dtype=object)
        values[pd.isna(values)] = np.nan  # one spelling of "missing" for the pipeline
        columns[name] = values
    if table.labels is not None:
        columns[config.target.column] = np.array(table.labels, dtype=int)
    return pd.DataFrame(columns)


def load_labelled_csv(
    payload: bytes,
    source: str,
    config: ModelConfig,
    *,
    delimiter: str | None = None,
    require_target: bool = True,
) -> pd.DataFrame:
    """Parse and validate an in-memory CSV (base data, uploads, eval data) with the one parser
    upload validation uses too (``propensity.tabular``)."""
    table = parse_labelled_csv(
        config, payload, source, require_target=require_target, delimiter=delimiter
    )
    return table_frame(table, config)


def load_dataset(
    config: ModelConfig,
    data_root: str | Path,
    *,
    source: str | None = None,
    read: Callable[[str], bytes] = read_local_or_http,
) -> tuple[pd.DataFrame, str]:
    """The model's base dataset, validated; returns (frame, location it was read from).

    ``source`` overrides the config's dataset (e.g. the UCI origin URL). ``read`` fetches the
    bytes of a location (``adapters.datasets.read_location`` adds ``s3://``).
    """
    location = resolve_source(source or config.dataset.source, data_root)
    canonical = source is None or source == config.dataset.origin_url
    member = config.dataset.origin_member if source == config.dataset.origin_url else None
    return parse_dataset(config, read(location), location, member=member, canonical=canonical), (
        location
    )


def parse_dataset(
    config: ModelConfig,
    payload: bytes,
    location: str,
    *,
    member: str | None = None,
    canonical: bool = True,
) -> pd.DataFrame:
    """A base dataset's raw bytes (gzip/zip allowed) as a validated frame.

    The config's SHA-256, when set, is checked against the unpacked CSV of a ``canonical``
    source (the configured one, or its origin URL).
    """
    unpacked = unpack(payload, location, member)
    expected = config.dataset.sha256
    if expected and canonical and sha256_hex(unpacked) != expected:
        raise DatasetError(location, "SHA-256 differs from the one recorded in the model config")
    return load_labelled_csv(unpacked, location, config)
