"""The one CSV reader: upload validation, the CLI and training all parse labelled files here.

Standard library only (the admin function validates uploads without pandas), so a file that is
accepted at upload is, by construction, a file that trains: there is no second parser to
disagree. Every problem names its file line and column, up to a limit, so a user can fix a file
in one go.

What a cell may hold:
- numbers: ASCII digits with an optional sign, decimal point and exponent (``1_000``, Unicode
  digits, ``inf`` and ``nan`` are refused, as every one of them once passed ``float()`` here and
  then failed in training);
- categories: any text up to ``MAX_CATEGORY_LENGTH`` that does not start like a spreadsheet
  formula (``=``, ``+``, ``-``, ``@``): such cells are refused, never stored;
- missing: empty after stripping, or one of the dataset's ``na_values`` spellings.
Rows whose cells are all blank (blank lines, a row of only delimiters from a spreadsheet export)
are skipped; any other row must have as many fields as the header.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from propensity.config import ModelConfig, parse_label
from propensity.errors import Problem, UploadInvalidError
from propensity.scoring.text import MAX_CATEGORY_LENGTH

MAX_COLUMNS = 500
MAX_REPORTED_PROBLEMS = 20
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?", re.ASCII)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_OTHER_DELIMITERS = (",", ";", "\t", "|")


def parse_number(text: str) -> float | None:
    """The finite number ``text`` spells (surrounding blanks allowed); None when it is none."""
    stripped = text.strip()
    if not _NUMBER.fullmatch(stripped):
        return None
    value = float(stripped)
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class LabelledTable:
    """A validated file, as columns: numbers (None = missing), categories, 0/1 labels."""

    source: str
    delimiter: str
    header: tuple[str, ...]
    numeric: dict[str, list[float | None]]
    categorical: dict[str, list[str | None]]
    labels: list[int] | None
    rows: int

    @property
    def positives(self) -> int:
        return sum(self.labels or ())


def decode(payload: bytes, source: str, encoding: str = "utf-8") -> str:
    """The file's text, without a byte-order mark; refuses empty and binary payloads."""
    if not payload.strip():
        raise UploadInvalidError(source, [Problem(None, None, "file is empty")])
    codec = "utf-8-sig" if encoding.lower().replace("_", "-") in ("utf-8", "utf8") else encoding
    try:
        text = payload.decode(codec)
    except UnicodeDecodeError as exc:
        raise UploadInvalidError(
            source, [Problem(None, None, f"not {encoding.upper()} text (byte {exc.start})")]
        ) from exc
    if "\x00" in text:
        raise UploadInvalidError(source, [Problem(None, None, "binary data (NUL bytes) in a CSV")])
    return text


def choose_delimiter(text: str, configured: str) -> str:
    """The configured delimiter, or the other common one when the header clearly uses it."""
    first_line = text.split("\n", 1)[0]
    if configured in first_line:
        return configured
    return next((d for d in _OTHER_DELIMITERS if d != configured and d in first_line), configured)


def records(text: str, delimiter: str, quotechar: str) -> Iterator[tuple[int, list[str]]]:
    """(file line, cells) of every row with a non-blank cell; csv.Error on malformed quoting."""
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar=quotechar, strict=True)
    for cells in reader:
        if "".join(cells).strip():
            yield reader.line_num, cells


def parse_labelled_csv(
    config: ModelConfig,
    payload: bytes,
    source: str,
    *,
    require_target: bool = True,
    delimiter: str | None = None,
    max_rows: int | None = None,
) -> LabelledTable:
    """Parse and validate a CSV against the model's schema; UploadInvalidError lists problems."""
    dataset = config.dataset
    text = decode(payload, source, dataset.encoding)
    chosen = delimiter or choose_delimiter(text, dataset.delimiter)
    rows = records(text, chosen, dataset.quotechar)
    try:
        _, header = next(rows)
    except StopIteration:
        raise UploadInvalidError(source, [Problem(None, None, "file is empty")]) from None
    except csv.Error as exc:
        raise UploadInvalidError(source, [Problem(1, None, f"unreadable header: {exc}")]) from exc
    header = [h.strip() for h in header]
    if len(header) > MAX_COLUMNS:
        raise UploadInvalidError(
            source, [Problem(1, None, f"{len(header)} columns; at most {MAX_COLUMNS}")]
        )
    required = [*config.features.all, *([config.target.column] if require_target else [])]
    problems: list[Problem] = []
    for name in required:
        if name not in header:
            problems.append(Problem(1, name, "required column is missing" + _hint(header, chosen)))
        elif header.count(name) > 1:
            problems.append(Problem(1, name, "column appears more than once in the header"))
    if problems:
        raise UploadInvalidError(source, problems)
    lines: list[int] = []
    kept: list[list[str]] = []
    count = 0
    try:
        for line, cells in rows:
            count += 1
            if max_rows is not None and count > max_rows:
                _add(problems, Problem(line, None, f"more than {max_rows} rows"))
                break
            if len(cells) != len(header):
                reason = f"{len(cells)} fields, the header has {len(header)}"
                _add(problems, Problem(line, None, reason))
                continue
            lines.append(line)
            kept.append(cells)
    except csv.Error as exc:
        _add(problems, Problem(None, None, f"malformed CSV: {exc}"))
    if count == 0 and not problems:
        raise UploadInvalidError(source, [Problem(None, None, "no data rows below the header")])
    # Every cell problem is collected too, so one answer lists what to fix in the whole file.
    columns = _Columns(config, header, lines, kept, problems)
    numeric = {name: columns.numbers(name) for name in config.features.numeric}
    categorical = {name: columns.categories(name) for name in config.features.categorical}
    labels = columns.labels() if require_target else None
    if problems:
        problems.sort(key=lambda p: p.row or 0)
        raise UploadInvalidError(source, problems)
    return LabelledTable(source, chosen, tuple(header), numeric, categorical, labels, count)


def _add(problems: list[Problem], problem: Problem) -> None:
    if len(problems) < MAX_REPORTED_PROBLEMS:
        problems.append(problem)


def _hint(header: list[str], delimiter: str) -> str:
    if len(header) == 1:
        for other in _OTHER_DELIMITERS:
            if other != delimiter and other in header[0]:
                return f" (the header looks {other!r}-separated; expected {delimiter!r})"
    return ""


class _Columns:
    """Typed columns of the kept rows, converted a column at a time (one comprehension per
    column, no call per cell: the bank dataset has 700k cells and retrains read it each time)."""

    def __init__(
        self,
        config: ModelConfig,
        header: list[str],
        lines: list[int],
        rows: list[list[str]],
        problems: list[Problem],
    ) -> None:
        self._config = config
        self._position = {name: header.index(name) for name in header}
        self._lines = lines
        self._rows = rows
        self._problems = problems
        self._na = frozenset(v.strip() for v in config.dataset.na_values) | {""}

    def _cells(self, name: str) -> list[str]:
        position = self._position[name]
        return [row[position].strip() for row in self._rows]

    def _flag(self, name: str, bad: list[int], reason: Callable[[str], str]) -> None:
        cells = self._cells(name)
        for index in bad[:MAX_REPORTED_PROBLEMS]:
            _add(self._problems, Problem(self._lines[index], name, reason(cells[index])))

    def numbers(self, name: str) -> list[float | None]:
        na, match = self._na, _NUMBER.fullmatch
        values: list[float | None] = [
            None if cell in na else (float(cell) if match(cell) else math.nan)
            for cell in self._cells(name)
        ]
        # One C-speed sum finds out whether any value is NaN (unparsable) or infinite; only then
        # are the culprits looked for.
        if not math.isfinite(sum(v for v in values if v is not None)):
            bad = [i for i, v in enumerate(values) if v is not None and not math.isfinite(v)]
            self._flag(name, bad, lambda cell: f"{cell[:40]!r} is not a finite number")
        return values

    def categories(self, name: str) -> list[str | None]:
        na = self._na
        values: list[str | None] = [None if cell in na else cell for cell in self._cells(name)]
        formulas = [
            i for i, v in enumerate(values) if v is not None and v.startswith(_FORMULA_START)
        ]
        if formulas:
            self._flag(name, formulas, lambda _: "looks like a spreadsheet formula; refused")
        long = [i for i, v in enumerate(values) if v is not None and len(v) > MAX_CATEGORY_LENGTH]
        if long:
            self._flag(name, long, lambda _: f"longer than {MAX_CATEGORY_LENGTH} characters")
        return values

    def labels(self) -> list[int]:
        target = self._config.target
        cells = self._cells(target.column)
        verdicts: dict[str, int | str] = {}
        for token in set(cells):
            if not token:
                verdicts[token] = "label is missing"
                continue
            try:
                verdicts[token] = parse_label(token, target)
            except ValueError as exc:
                verdicts[token] = str(exc)
        labels = [verdicts[cell] for cell in cells]
        bad = [i for i, v in enumerate(labels) if isinstance(v, str)]
        if bad:
            self._flag(target.column, bad, lambda cell: str(verdicts[cell]))
        return [v if isinstance(v, int) else 0 for v in labels]


def _category_problem(cell: str) -> str:
    if cell.startswith(_FORMULA_START):
        return "looks like a spreadsheet formula; refused"
    return f"longer than {MAX_CATEGORY_LENGTH} characters"
