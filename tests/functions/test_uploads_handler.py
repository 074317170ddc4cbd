"""Labelled CSV uploads through the admin function: validated, stored once, used by retraining."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import boto3
import pytest
import urllib3

from propensity.local.template import Stack
from tests.functions.conftest import ADMIN_TOKEN, body_of, invoke, load_handler, route_event
from tests.functions.test_admin_handler import job_stream_event

BEARER = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def multipart_event(path: str, payload: bytes, filename: str = "labelled.csv") -> dict[str, Any]:
    body, content_type = urllib3.encode_multipart_formdata(
        {"labeled_csv": (filename, payload, "text/csv")}
    )
    event = route_event("POST", path, headers={**BEARER, "content-type": content_type})
    event["body"] = base64.b64encode(body).decode()
    event["isBase64Encoded"] = True
    return event


def pending(stack: Stack, model: str) -> int:
    item = (
        boto3.client("dynamodb")
        .get_item(
            TableName=stack.names["FeedbackTable"],
            Key={"model": {"S": model}, "item": {"S": "COUNTER"}},
        )
        .get("Item")
    )
    return int(item["pending"]["N"]) if item else 0


def upload_keys(stack: Stack) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(
        Bucket=stack.names["ArtifactsBucket"], Prefix="uploads/"
    )
    return [o["Key"] for o in listing.get("Contents", [])]


@pytest.fixture
def telecom_csv(data_root: Path) -> bytes:
    lines = (
        gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()).decode().splitlines()
    )
    return ("\n".join(lines[:201]) + "\n").encode()


@pytest.mark.usefixtures("published")
def test_bank_style_retrain_with_a_labelled_csv(stack: Stack, telecom_csv: bytes) -> None:
    admin = load_handler("admin")
    # When a labelled CSV is posted to the retrain route
    accepted = invoke(admin, multipart_event("/models/telecom/retrain", telecom_csv))
    # Then it is accepted with a queued job, stored, and its 200 rows counted for retraining
    assert accepted["statusCode"] == 202
    body = body_of(accepted)
    assert (
        body["status"] == "queued"
        and body["upload"]["rows"] == 200
        and not body["upload"]["duplicate"]
    )
    assert pending(stack, "telecom") == 200
    assert upload_keys(stack) == [f"uploads/telecom/{body['upload']['upload_id']}.csv"]
    # The same file again is recognised: stored and counted once
    again = body_of(invoke(admin, multipart_event("/models/telecom/retrain", telecom_csv)))
    assert again["upload"]["duplicate"] is True and pending(stack, "telecom") == 200
    # And the retrain job trains on those rows
    assert invoke(load_handler("retrain"), job_stream_event("telecom", body["job_id"])) == {
        "batchItemFailures": []
    }
    versions = body_of(
        invoke(admin, route_event("GET", "/models/telecom/versions", headers=BEARER))
    )
    assert versions["versions"][0]["extra"]["feedback_rows"] == 200
    assert pending(stack, "telecom") == 0


@pytest.mark.usefixtures("published")
def test_an_invalid_csv_is_refused_with_rows_and_columns_and_nothing_is_stored(
    stack: Stack,
) -> None:
    bad = b"calls,minutes,messages,mb_used,is_ultra\n1,2,3,4,1\n1,x,3,4,1\n1,2,3,4,perhaps\n"
    response = invoke(
        load_handler("admin"),
        multipart_event("/retrain", bad.replace(b"calls", b"age"), "bank.csv"),
    )
    assert response["statusCode"] == 422  # bank (default model) columns are missing
    response = invoke(load_handler("admin"), multipart_event("/models/telecom/retrain", bad))
    assert response["statusCode"] == 422
    problems = body_of(response)["problems"]
    assert [(p["row"], p["column"]) for p in problems] == [(3, "minutes"), (4, "is_ultra")]
    assert upload_keys(stack) == [] and pending(stack, "telecom") == 0


@pytest.mark.usefixtures("published")
def test_presigned_upload_for_large_files(stack: Stack, telecom_csv: bytes) -> None:
    admin = load_handler("admin")
    started = invoke(admin, route_event("POST", "/models/telecom/uploads", headers=BEARER))
    assert started["statusCode"] == 201
    ticket = body_of(started)
    assert ticket["method"] == "PUT" and "X-Amz-Signature" in ticket["url"]
    # The client PUTs the file to the URL (here: the same object written directly)
    boto3.client("s3").put_object(
        Bucket=stack.names["ArtifactsBucket"],
        Key=f"incoming/telecom/{ticket['upload_id']}.csv",
        Body=telecom_csv,
    )
    completed = invoke(
        admin, route_event("POST", f"/models/telecom/{ticket['complete']}", headers=BEARER)
    )
    assert completed["statusCode"] == 200 and body_of(completed)["rows"] == 200
    assert pending(stack, "telecom") == 200
    # Completing an upload that never arrived is a 404
    missing = invoke(
        admin, route_event("POST", f"/models/telecom/uploads/{'a' * 32}/complete", headers=BEARER)
    )
    assert missing["statusCode"] == 404


@pytest.mark.usefixtures("published")
def test_an_oversized_presigned_upload_is_refused_without_being_read_whole(
    stack: Stack, telecom_csv: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload limit of 1 KiB and a client that PUT 8 KiB to its presigned URL
    monkeypatch.setattr("propensity.service.uploads.MAX_UPLOAD_BYTES", 1024)
    s3 = boto3.client("s3")
    reads: list[dict[str, Any]] = []
    admin = load_handler("admin")
    store = admin.app.state.services.uploads._artifacts  # the function's own S3 adapter
    store._client.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: reads.append(dict(params))
    )
    ticket = body_of(invoke(admin, route_event("POST", "/models/telecom/uploads", headers=BEARER)))
    oversized = (telecom_csv * 10)[: 8 * 1024]
    s3.put_object(
        Bucket=stack.names["ArtifactsBucket"],
        Key=f"incoming/telecom/{ticket['upload_id']}.csv",
        Body=oversized,
    )

    # When it completes the upload
    completed = invoke(
        admin, route_event("POST", f"/models/telecom/{ticket['complete']}", headers=BEARER)
    )

    # Then it is refused as too large, having fetched only the limit plus one byte
    assert completed["statusCode"] == 422
    assert "larger than" in completed["body"]
    assert [r["headers"].get("Range") for r in reads] == ["bytes=0-1024"]
    assert pending(stack, "telecom") == 0


def test_uploads_need_credentials(stack: Stack, telecom_csv: bytes) -> None:
    event = multipart_event("/models/telecom/retrain", telecom_csv)
    event["headers"].pop("authorization")
    assert invoke(load_handler("admin"), event)["statusCode"] == 401
    assert upload_keys(stack) == []
