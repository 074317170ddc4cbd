"""Labelled CSV validation: every problem named by row and column, nothing half-accepted."""

from __future__ import annotations

import gzip

import pytest

from propensity.config import ModelConfig
from propensity.errors import UploadInvalidError
from propensity.service.uploads import MAX_COLUMNS, validate_labelled_csv

HEADER = "calls,minutes,messages,mb_used,is_ultra\n"


def test_a_valid_file_is_counted(telecom_config: ModelConfig) -> None:
    upload = validate_labelled_csv(
        telecom_config, (HEADER + "1,2,3,4,1\n5,,7,8,no\n\n").encode(), "f.csv"
    )
    assert (upload.rows, upload.positives, upload.delimiter) == (2, 1, ",")
    assert len(upload.upload_id) == 32 and upload.sha256.startswith(upload.upload_id)


def test_every_problem_is_reported_with_row_and_column(telecom_config: ModelConfig) -> None:
    payload = (HEADER + "1,2,3,4,1\n5,abc,7,8,1\n1,2,3,4,maybe\n1,2,3\n1,2,3,inf,0\n").encode()
    with pytest.raises(UploadInvalidError) as caught:
        validate_labelled_csv(telecom_config, payload, "f.csv")
    assert [(p.row, p.column) for p in caught.value.problems] == [
        (3, "minutes"),
        (4, "is_ultra"),
        (5, None),
        (6, "mb_used"),
    ]
    assert str(caught.value).startswith("f.csv, row 3, column 'minutes'")


def test_formula_injection_in_a_category_is_refused(
    bank_config: ModelConfig, data_root: object
) -> None:
    from pathlib import Path

    lines = (
        gzip.decompress((Path(str(data_root)) / "bank-full.csv.gz").read_bytes())
        .decode()
        .splitlines()
    )
    bad = lines[1].replace('"management"', "\"=cmd|' /C calc'!A0\"", 1)
    with pytest.raises(UploadInvalidError) as caught:
        validate_labelled_csv(
            bank_config, "\n".join([lines[0], lines[2], bad]).encode(), "bank.csv"
        )
    problem = caught.value.problems[0]
    assert (problem.row, problem.column) == (3, "job") and "formula" in problem.reason


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"", "empty"),
        (HEADER.encode(), "no data rows"),
        (b"calls,minutes\n1,2\n", "required column is missing"),
        (gzip.compress(b"x" * 10_000), "not UTF-8"),
        (
            ("c" + ",c".join(str(i) for i in range(MAX_COLUMNS + 1)) + "\n1\n").encode(),
            "columns; at most",
        ),
        (b"calls\x00,minutes\n", "NUL"),
    ],
)
def test_unusable_files_are_refused(
    telecom_config: ModelConfig, payload: bytes, reason: str
) -> None:
    with pytest.raises(UploadInvalidError, match=reason):
        validate_labelled_csv(telecom_config, payload, "f.csv")


def test_a_clearly_other_delimiter_is_understood(telecom_config: ModelConfig) -> None:
    upload = validate_labelled_csv(
        telecom_config, b"calls;minutes;messages;mb_used;is_ultra\n1;2;3;4;0\n", "f.csv"
    )
    assert (upload.rows, upload.delimiter) == (1, ";")
