"""One CSV verdict: a file upload validation accepts is a file training reads, and vice versa.

Before one parser served both, ``1_000``, Unicode digits and delimiter-only rows passed upload
validation (``float()``) and then failed every later retrain (pandas), leaving the champion stuck.
"""

from __future__ import annotations

import pytest

from propensity.config import ModelConfig
from propensity.errors import DatasetError
from propensity.service.uploads import validate_labelled_csv
from propensity.training.dataset import load_labelled_csv

HEADER = "calls,minutes,messages,mb_used,is_ultra"
GOOD_ROW = "40,311.9,83,19915.42,0"


def _csv(*rows: str, newline: str = "\n") -> bytes:
    return newline.join([HEADER, *rows, ""]).encode()


# name → (payload, accepted?, rows when accepted)
CASES: dict[str, tuple[bytes, bool, int | None]] = {
    "plain": (_csv(GOOD_ROW), True, 1),
    "underscored number": (_csv("1_000,311.9,83,19915.42,0"), False, None),
    "arabic-indic digits": (_csv("٤٠,311.9,83,19915.42,0"), False, None),
    "fullwidth digits": (_csv("４０,311.9,83,19915.42,0"), False, None),
    "infinity": (_csv("inf,311.9,83,19915.42,0"), False, None),
    "nan spelled out": (_csv("nan,311.9,83,19915.42,0"), False, None),
    "thousands separator": (_csv('"1,000",311.9,83,19915.42,0'), False, None),
    "delimiter-only rows": (_csv(GOOD_ROW, ",,,,", ",,,,", GOOD_ROW), True, 2),
    "blank lines": (_csv(GOOD_ROW, "", GOOD_ROW), True, 2),
    "byte-order mark": (b"\xef\xbb\xbf" + _csv(GOOD_ROW), True, 1),
    "crlf line ends": (_csv(GOOD_ROW, GOOD_ROW, newline="\r\n"), True, 2),
    "quoted newline in a number cell": (_csv('"40\n",311.9,83,19915.42,0'), True, 1),
    "quoted newline inside a number": (_csv('"4\n0",311.9,83,19915.42,0'), False, None),
    "formula in a numeric cell": (_csv("=1+1,311.9,83,19915.42,0"), False, None),
    "negative and exponent numbers": (_csv("-1,3.1e2,+83,.5,0"), True, 1),
    "short row": (_csv("40,311.9,83,0"), False, None),
    "unclosed quote": (_csv('"40,311.9,83,19915.42,0'), False, None),
    "label spelled yes": (_csv("40,311.9,83,19915.42,yes"), True, 1),
    "label unknown": (_csv("40,311.9,83,19915.42,maybe"), False, None),
    "missing cells": (_csv("40,,83,,1"), True, 1),
}

BANK_HEADER = (
    "age;job;marital;education;default;balance;housing;loan;contact;day;month;duration;"
    "campaign;pdays;previous;poutcome;y"
)
BANK_ROW = (
    '58;"management";"married";"tertiary";"no";2143;"yes";"no";"unknown";5;"may";261;1;-1;0;'
    '"unknown";"no"'
)
SPLIT_JOB = BANK_ROW.replace("management", "manage\nment")
BANK_CASES: dict[str, tuple[bytes, bool, int | None]] = {
    "bank row": (f"{BANK_HEADER}\n{BANK_ROW}\n".encode(), True, 1),
    "formula in a category": (
        f"{BANK_HEADER}\n{BANK_ROW.replace('management', '=HYPERLINK(1)')}\n".encode(),
        False,
        None,
    ),
    "quoted newline in a category": (
        f"{BANK_HEADER}\n{SPLIT_JOB}\n".encode(),
        True,
        1,
    ),
    "delimiter-only export rows": (
        f"{BANK_HEADER}\n{BANK_ROW}\n;;;;;;;;;;;;;;;;\n;;;;;;;;;;;;;;;;\n".encode(),
        True,
        1,
    ),
}


def _verdicts(config: ModelConfig, payload: bytes) -> tuple[int | None, int | None]:
    """Rows accepted by upload validation and by the training loader (None: refused)."""
    try:
        upload = validate_labelled_csv(config, payload, "f.csv")
        uploaded: int | None = upload.rows
        delimiter: str | None = upload.delimiter
    except DatasetError:
        uploaded, delimiter = None, None
    try:
        trained: int | None = len(load_labelled_csv(payload, "f.csv", config, delimiter=delimiter))
    except DatasetError:
        trained = None
    return uploaded, trained


@pytest.mark.parametrize("name", sorted(CASES))
def test_upload_validation_and_training_give_one_verdict(
    telecom_config: ModelConfig, name: str
) -> None:
    # Given a hostile or unusual CSV
    payload, accepted, rows = CASES[name]
    # When upload validation and the training loader both read it
    uploaded, trained = _verdicts(telecom_config, payload)
    # Then they agree, and on the expected verdict
    assert uploaded == trained
    assert uploaded == (rows if accepted else None)


@pytest.mark.parametrize("name", sorted(BANK_CASES))
def test_one_verdict_on_categorical_files(bank_config: ModelConfig, name: str) -> None:
    payload, accepted, rows = BANK_CASES[name]
    uploaded, trained = _verdicts(bank_config, payload)
    assert uploaded == trained
    assert uploaded == (rows if accepted else None)


def test_na_values_are_missing_for_both(telecom_config: ModelConfig) -> None:
    # Given a dataset config that spells missing cells "NA" and "?"
    dataset = telecom_config.dataset.model_copy(update={"na_values": ["NA", "?"]})
    config = telecom_config.model_copy(update={"dataset": dataset})
    payload = _csv("40,NA,83,?,1", "41, ,84,1.5,0")
    # When both read it
    upload = validate_labelled_csv(config, payload, "f.csv")
    frame = load_labelled_csv(payload, "f.csv", config)
    # Then both accept it, and training sees those cells as missing
    assert upload.rows == len(frame) == 2
    assert frame["minutes"].isna().tolist() == [True, True]
    assert frame["mb_used"].isna().tolist() == [True, False]
    # and without the spellings the same file is refused by both
    assert _verdicts(telecom_config, payload) == (None, None)
