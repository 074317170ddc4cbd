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

import numpy as np
import pandas as pd

from propensity.config import ModelConfig, TargetConfig, parse_label
from propensity.errors import DatasetError
from propensity.sources import read_local_or_http, resolve_source

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGIC = b"PK\x03\x04"
_CANDIDATE_DELIMITERS = (",", ";", "\t", "|")
# Data rows start on file line 2 (line 1 is the header): errors quote file lines.
_HEADER_LINES = 1


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


def parse_csv(
    payload: bytes,
    source: str,
    *,
    delimiter: str,
    quotechar: str = '"',
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Every cell as a string (empty → missing), so validation can point at the exact cell."""
    if not payload.strip():
        raise DatasetError(source, "file is empty")
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError as exc:
        raise DatasetError(
            source, f"not {encoding} text: {exc.reason} at byte {exc.start}"
        ) from exc
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            quotechar=quotechar,
            dtype=str,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=False,
        )
    except pd.errors.EmptyDataError as exc:
        raise DatasetError(source, "file is empty") from exc
    except pd.errors.ParserError as exc:
        raise DatasetError(source, f"malformed CSV: {exc}") from exc
    if frame.empty:
        raise DatasetError(source, "no data rows below the header")
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _delimiter_hint(columns: list[str], delimiter: str) -> str:
    if len(columns) == 1:
        header = columns[0]
        for other in _CANDIDATE_DELIMITERS:
            if other != delimiter and other in header:
                return f" (the header looks {other!r}-separated; expected {delimiter!r})"
    return ""


def validate_frame(
    frame: pd.DataFrame,
    config: ModelConfig,
    source: str,
    *,
    require_target: bool = True,
    delimiter: str | None = None,
) -> pd.DataFrame:
    """Typed features (+ ``target`` as 0/1 when required); raises on the first bad cell."""
    wanted = config.features.all + ([config.target.column] if require_target else [])
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        hint = _delimiter_hint(list(frame.columns), delimiter or config.dataset.delimiter)
        raise DatasetError(
            source, f"missing column(s) {', '.join(missing)}{hint}", column=missing[0]
        )
    typed = pd.DataFrame(index=frame.index)
    for column in config.features.numeric:
        typed[column] = to_numeric_column(frame[column], source, column)
    for column in config.features.categorical:
        values = frame[column]
        typed[column] = values.where(values.isna(), values.astype(str).str.strip()).astype(object)
    if require_target:
        typed[config.target.column] = to_label_column(
            frame[config.target.column], config.target, source
        )
    return typed.reset_index(drop=True)


def to_numeric_column(values: pd.Series, source: str, column: str) -> pd.Series:
    stripped = values.str.strip()
    numbers = pd.to_numeric(stripped, errors="coerce")
    bad = stripped.notna() & (numbers.isna() | ~np.isfinite(numbers.fillna(0.0)))
    if bad.any():
        position = int(np.flatnonzero(bad.to_numpy())[0])
        raise DatasetError(
            source,
            f"{values.iloc[position]!r} is not a finite number",
            row=position + _HEADER_LINES + 1,
            column=column,
        )
    return numbers.astype(float)


def to_label_column(values: pd.Series, target: TargetConfig, source: str) -> pd.Series:
    tokens = values.fillna("").astype(str).str.strip()
    mapping: dict[str, int] = {}
    for token in tokens.unique():
        try:
            mapping[token] = parse_label(token, target)
        except ValueError as exc:
            position = int(np.flatnonzero((tokens == token).to_numpy())[0])
            reason = "label is missing" if token == "" else str(exc)
            raise DatasetError(
                source, reason, row=position + _HEADER_LINES + 1, column=target.column
            ) from exc
    return tokens.map(mapping).astype(int)


def load_labelled_csv(
    payload: bytes,
    source: str,
    config: ModelConfig,
    *,
    delimiter: str | None = None,
    require_target: bool = True,
) -> pd.DataFrame:
    """Parse and validate an in-memory CSV (uploads, feedback files, eval data)."""
    chosen = delimiter or config.dataset.delimiter
    frame = parse_csv(
        payload,
        source,
        delimiter=chosen,
        quotechar=config.dataset.quotechar,
        encoding=config.dataset.encoding,
    )
    return validate_frame(frame, config, source, require_target=require_target, delimiter=chosen)


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
