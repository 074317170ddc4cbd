"""Streaming batch scoring of CSV files with the pure-Python scorer (the CLI's ``predict``).

Rows are read, validated and scored one at a time and written to a temporary file that replaces
the output only when every row succeeded, so a bad row never leaves a partial output behind.
"""

from __future__ import annotations

import csv
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from propensity.errors import DatasetError, InvalidInputError
from propensity.scoring import Scorer
from propensity.tabular import parse_number

_HEADER_LINES = 1
_PROGRESS_EVERY = 100_000


def _parse_number(text: str, source: str, row: int, column: str) -> float | None:
    # The number grammar of uploads and training (propensity.tabular): one verdict everywhere.
    if not text.strip():
        return None
    value = parse_number(text)
    if value is None:
        raise DatasetError(source, f"{text!r} is not a finite number", row=row, column=column)
    return value


def _rows(reader: Iterator[list[str]], width: int, source: str) -> Iterator[tuple[int, list[str]]]:
    for offset, cells in enumerate(reader):
        row = offset + _HEADER_LINES + 1
        if not cells:
            continue
        if len(cells) != width:
            raise DatasetError(source, f"has {len(cells)} fields, the header has {width}", row=row)
        yield row, cells


def score_csv(
    scorer: Scorer,
    input_path: Path,
    output_path: Path,
    *,
    target_column: str,
    delimiter: str,
    numeric_features: frozenset[str],
    labels: tuple[str, str],
    top_reasons: int = 3,
    progress: Callable[[str], None] | None = None,
) -> int:
    """Score every row of ``input_path`` into ``output_path``; returns the number of rows."""
    source = str(input_path)
    if not input_path.is_file():
        raise DatasetError(source, "file not found")
    output_path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{output_path.name}.", dir=output_path.parent)
    count = 0
    try:
        count = _score_into(
            scorer,
            input_path,
            handle,
            source,
            target_column=target_column,
            delimiter=delimiter,
            numeric_features=numeric_features,
            labels=labels,
            top_reasons=top_reasons,
            progress=progress,
        )
        os.replace(temporary, output_path)
    except (UnicodeDecodeError, csv.Error) as exc:
        Path(temporary).unlink(missing_ok=True)
        raise DatasetError(source, f"unreadable CSV: {exc}") from exc
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return count


def _score_into(
    scorer: Scorer,
    input_path: Path,
    handle: int,
    source: str,
    *,
    target_column: str,
    delimiter: str,
    numeric_features: frozenset[str],
    labels: tuple[str, str],
    top_reasons: int,
    progress: Callable[[str], None] | None,
) -> int:
    count = 0
    with (
        open(input_path, newline="", encoding="utf-8") as infile,
        os.fdopen(handle, "w", newline="", encoding="utf-8") as outfile,
    ):
        reader = csv.reader(infile, delimiter=delimiter)
        header = next(reader, None)
        if not header:
            raise DatasetError(source, "file is empty")
        header = [h.strip() for h in header]
        missing = [f for f in scorer.feature_names if f not in header]
        if missing:
            hint = ""
            if len(header) == 1 and any(d in header[0] for d in ",;\t|" if d != delimiter):
                hint = f" (the header does not look {delimiter!r}-separated)"
            raise DatasetError(
                source, f"missing column(s) {', '.join(missing)}{hint}", column=missing[0]
            )
        positions = [(name, header.index(name)) for name in scorer.feature_names]
        writer = csv.writer(outfile, delimiter=delimiter)
        writer.writerow(
            [
                *header,
                f"pred_{target_column}",
                f"proba_{target_column}",
                f"label_{target_column}",
                f"reasons_{target_column}",
            ]
        )
        for row, cells in _rows(reader, len(header), source):
            features: dict[str, object] = {}
            for name, index in positions:
                text = cells[index]
                if name in numeric_features:
                    features[name] = _parse_number(text, source, row, name)
                else:
                    features[name] = text.strip() or None
            try:
                score = scorer.score(features)
            except InvalidInputError as exc:
                raise DatasetError(source, exc.reason, row=row, column=exc.field) from exc
            reasons = "; ".join(c.describe() for c in score.reasons(top_reasons))
            writer.writerow(
                [
                    *cells,
                    score.prediction,
                    repr(score.probability),
                    labels[score.prediction],
                    reasons,
                ]
            )
            count += 1
            if progress and count % _PROGRESS_EVERY == 0:
                progress(f"scored {count:,} rows")
        if count == 0:
            raise DatasetError(source, "no data rows below the header")
    return count
