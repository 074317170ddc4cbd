"""Dataset loading from every supported source, and the errors bad files produce."""

from __future__ import annotations

import gzip
import http.server
import io
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from propensity.adapters.datasets import read_location
from propensity.config import ModelConfig
from propensity.errors import DatasetError
from propensity.sources import resolve_source
from propensity.training.dataset import load_dataset, load_labelled_csv

TELECOM_HEADER = b"calls,minutes,messages,mb_used,is_ultra\n"


@pytest.fixture(scope="module")
def bank_csv(data_root: Path) -> bytes:
    return gzip.decompress((data_root / "bank-full.csv.gz").read_bytes())


@pytest.fixture
def uci_server(bank_csv: bytes, tmp_path: Path) -> Iterator[str]:
    """A loopback HTTP server serving the UCI archive layout (zip → bank.zip → bank-full.csv)."""
    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w", zipfile.ZIP_DEFLATED) as bank_zip:
        bank_zip.writestr("bank-full.csv", bank_csv)
        bank_zip.writestr("bank.csv", b"a;b\n1;2\n")
    outer = tmp_path / "bank+marketing.zip"
    with zipfile.ZipFile(outer, "w") as archive:
        archive.writestr("bank.zip", inner.getvalue())
        archive.writestr("bank-additional.zip", b"PK\x05\x06" + b"\0" * 18)

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(tmp_path), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/bank+marketing.zip"
    finally:
        server.shutdown()


def test_shipped_bank_dataset_loads_typed_with_its_checksum(
    bank_config: ModelConfig, data_root: Path
) -> None:
    frame, location = load_dataset(bank_config, data_root)
    assert location.endswith("bank-full.csv.gz")
    assert frame.shape == (45211, 16)
    assert int(frame["y"].sum()) == 5289
    assert "duration" not in frame.columns
    assert frame["age"].dtype == float


def test_uci_download_url_is_read_through_the_nested_archives(
    bank_config: ModelConfig, data_root: Path, uci_server: str
) -> None:
    # Given the UCI archive layout served over HTTP (as the real origin URL serves it)
    # When the loader is pointed at the URL, as it would be at the UCI origin
    config = bank_config.model_copy(
        update={"dataset": bank_config.dataset.model_copy(update={"origin_url": uci_server})}
    )
    frame, location = load_dataset(config, data_root, source=uci_server)
    # Then it unpacks bank.zip/bank-full.csv, checks the SHA-256 and yields the same rows
    assert location == uci_server
    assert frame.shape == (45211, 16)


def test_dataset_is_read_from_s3(
    bank_config: ModelConfig, data_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="datasets")
        s3.put_object(
            Bucket="datasets",
            Key="datasets/bank-full.csv.gz",
            Body=(data_root / "bank-full.csv.gz").read_bytes(),
        )
        # Given a data root in S3, the relative source resolves into it
        root = "s3://datasets/datasets"
        assert resolve_source("bank-full.csv.gz", root) == "s3://datasets/datasets/bank-full.csv.gz"
        frame, _ = load_dataset(bank_config, root, read=read_location)
        assert len(frame) == 45211
        with pytest.raises(DatasetError, match="does not exist"):
            load_dataset(bank_config, "s3://datasets/elsewhere", read=read_location)
        # and training code alone never reads S3: that is the dataset adapter's job
        with pytest.raises(DatasetError, match=r"adapters\.datasets"):
            load_dataset(bank_config, root)


def test_checksum_mismatch_is_refused(
    bank_config: ModelConfig, tmp_path: Path, bank_csv: bytes
) -> None:
    (tmp_path / "bank-full.csv.gz").write_bytes(
        gzip.compress(bank_csv.replace(b'"no"\n', b'"yes"\n', 1))
    )
    with pytest.raises(DatasetError, match="SHA-256"):
        load_dataset(bank_config, tmp_path)


@pytest.mark.parametrize(
    ("payload", "message", "row", "column"),
    [
        (b"", "file is empty", None, None),
        (TELECOM_HEADER, "no data rows", None, None),
        (
            b"calls|minutes\n1|2\n",
            "required column is missing",
            1,
            "messages",
        ),
        (
            TELECOM_HEADER + b"1,2,3,4,0\n5,abc,7,8,1\n",
            "'abc' is not a finite number",
            3,
            "minutes",
        ),
        (TELECOM_HEADER + b"1,2,3,4,0\n5,6,7,inf,1\n", "not a finite number", 3, "mb_used"),
        (TELECOM_HEADER + b"1,2,3,4,0\n5,6,7,8,maybe\n", "label 'maybe'", 3, "is_ultra"),
        (TELECOM_HEADER + b"1,2,3,4,\n", "label is missing", 2, "is_ultra"),
        (
            b"calls,minutes\n1,2\n",
            "required column is missing (and 2 more problems)",
            1,
            "messages",
        ),
        (b"\xff\xfe\x00bad", "not UTF-8 text", None, None),
    ],
)
def test_bad_files_name_file_row_and_column(
    telecom_config: ModelConfig, payload: bytes, message: str, row: int | None, column: str | None
) -> None:
    with pytest.raises(DatasetError) as caught:
        load_labelled_csv(payload, "upload.csv", telecom_config)
    error = caught.value
    assert str(error).startswith("upload.csv")
    assert message in str(error)
    assert (error.row, error.column) == (row, column)


def test_a_header_clearly_in_another_delimiter_is_read_with_it(
    telecom_config: ModelConfig,
) -> None:
    # Given the same rows separated by ";" and by the configured ","
    semicolons = load_labelled_csv(
        b"calls;minutes;messages;mb_used;is_ultra\n1;2;3;4;0\n", "x.csv", telecom_config
    )
    commas = load_labelled_csv(TELECOM_HEADER + b"1,2,3,4,0\n", "x.csv", telecom_config)
    # Then both read the same (upload validation accepts such files: training must too)
    assert semicolons.equals(commas)


def test_a_one_column_header_names_the_delimiter_it_seems_to_use(
    telecom_config: ModelConfig,
) -> None:
    with pytest.raises(DatasetError, match="looks ';'-separated"):
        load_labelled_csv(
            b"calls;minutes;messages;mb_used;is_ultra\n1;2;3;4;0\n",
            "x.csv",
            telecom_config,
            delimiter="|",
        )


@pytest.mark.parametrize("label", ["yes", "no", "1", "0", "true", "false", "YES", "True"])
def test_labels_accept_yes_no_one_zero_true_false(telecom_config: ModelConfig, label: str) -> None:
    frame = load_labelled_csv(
        TELECOM_HEADER + f"1,2,3,4,{label}\n".encode(), "x.csv", telecom_config
    )
    assert frame["is_ultra"].tolist() == [1 if label.lower() in {"yes", "1", "true"} else 0]


def test_empty_cells_become_missing_values(telecom_config: ModelConfig) -> None:
    frame = load_labelled_csv(TELECOM_HEADER + b"1,,3,4,1\n", "x.csv", telecom_config)
    assert frame["minutes"].isna().tolist() == [True]
