"""Labelled CSV uploads through the admin function: validated, stored once, used by retraining."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
import urllib3

from propensity.local.template import Stack
from tests.functions.conftest import ADMIN_TOKEN, body_of, invoke, load_handler, route_event
from tests.functions.test_admin_handler import job_stream_event
from tests.support.presigned import policy_of, post_form, sha256_of

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
    # (the file's rows that are also held-out rows are left out of training, and counted)
    extra = versions["versions"][0]["extra"]
    excluded = extra["lineage"]["held_out_matches_excluded"]
    assert excluded > 0 and extra["feedback_rows"] + excluded == 200
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


@pytest.fixture
def s3_server(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto in server mode (as ``propensity.local.emulator`` starts it) for S3: the admin
    function signs its POST forms for this endpoint, and the test POSTs them over HTTP. moto's
    backends are per process, so the server shares the in-process stack's bucket and tables."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{host}:{port}")
    yield f"http://{host}:{port}"
    server.stop()


def start(admin: ModuleType, sha256: str, model: str = "telecom") -> dict[str, Any]:
    event = route_event("POST", f"/models/{model}/uploads", headers=BEARER)
    event["body"] = json.dumps({"sha256": sha256})
    event["headers"]["content-type"] = "application/json"
    started = invoke(admin, event)
    assert started["statusCode"] == 201, started["body"]
    ticket: dict[str, Any] = body_of(started)
    return ticket


def complete(admin: ModuleType, ticket: dict[str, Any], model: str = "telecom") -> dict[str, Any]:
    path = f"/models/{model}/{ticket['complete']}"
    response: dict[str, Any] = invoke(admin, route_event("POST", path, headers=BEARER))
    return response


@pytest.mark.usefixtures("published")
def test_presigned_upload_for_large_files(stack: Stack, s3_server: str, telecom_csv: bytes) -> None:
    # Given a client that announces its file's SHA-256
    admin = load_handler("admin")
    digest = sha256_of(telecom_csv)
    ticket = start(admin, digest)
    # Then it gets a POST form for S3, whose id is the file's content hash
    assert ticket["method"] == "POST" and ticket["url"].startswith(s3_server)
    assert ticket["upload_id"] == digest[:32] and ticket["expires_in"] == 300
    assert ticket["fields"]["x-amz-meta-sha256"] == digest and "x-amz-signature" in ticket["fields"]
    # When it POSTs the file with that form (multipart, over HTTP) and completes the upload
    posted = post_form(ticket, telecom_csv)
    assert posted.status_code == 204, posted.text
    completed = complete(admin, ticket)
    # Then the file is accepted under that same id, stored and its 200 rows counted
    assert completed["statusCode"] == 200, completed["body"]
    body = body_of(completed)
    assert body["rows"] == 200 and body["sha256"] == digest and body["upload_id"] == digest[:32]
    assert upload_keys(stack) == [f"uploads/telecom/{digest[:32]}.csv"]
    assert pending(stack, "telecom") == 200
    # And completing it again (a retry) is a duplicate, counted once
    again = complete(admin, ticket)
    assert body_of(again)["duplicate"] is True and pending(stack, "telecom") == 200
    # Completing an upload that never arrived is a 404
    missing = invoke(
        admin, route_event("POST", f"/models/telecom/uploads/{'a' * 32}/complete", headers=BEARER)
    )
    assert missing["statusCode"] == 404


@pytest.mark.usefixtures("published")
def test_starting_an_upload_needs_the_files_sha256(stack: Stack) -> None:
    admin = load_handler("admin")
    for body in ({}, {"sha256": "not-a-hash"}, {"sha256": "A" * 64}):
        # When an upload is started without a lowercase hex SHA-256
        event = route_event("POST", "/models/telecom/uploads", headers=BEARER)
        event["body"] = json.dumps(body)
        event["headers"]["content-type"] = "application/json"
        response = invoke(admin, event)
        # Then it is refused, naming the field
        assert response["statusCode"] == 422, body
        assert any(e["loc"][-1] == "sha256" for e in body_of(response)["detail"])


@pytest.mark.usefixtures("published")
def test_an_oversized_presigned_post_is_refused_by_the_policy_and_by_complete(
    stack: Stack, s3_server: str, telecom_csv: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an upload limit of 1 KiB and an 8 KiB file announced by its SHA-256
    monkeypatch.setattr("propensity.service.uploads.MAX_UPLOAD_BYTES", 1024)
    admin = load_handler("admin")
    reads: list[dict[str, Any]] = []
    store = admin.app.state.services.uploads._incoming  # the function's own S3 adapter
    store._client.meta.events.register(
        "before-call.s3.GetObject", lambda params, **_: reads.append(dict(params))
    )
    oversized = (telecom_csv * 10)[: 8 * 1024]
    digest = sha256_of(oversized)
    ticket = start(admin, digest)

    # Then the signed policy S3 checks every POST against bounds the size to 1..1024 bytes,
    # pins the exact key, the content type and the stated SHA-256, and expires in 300 s
    policy = policy_of(ticket)
    key = f"incoming/telecom/{digest[:32]}.csv"
    assert ["content-length-range", 1, 1024] in policy["conditions"]
    for condition in (
        {"bucket": stack.names["ArtifactsBucket"]},
        {"key": key},
        {"Content-Type": "text/csv"},
        {"x-amz-meta-sha256": digest},
    ):
        assert condition in policy["conditions"]
    expires = datetime.fromisoformat(policy["expiration"].replace("Z", "+00:00"))
    assert 290 <= (expires - datetime.now(UTC)).total_seconds() <= 300
    assert ticket["max_bytes"] == 1024

    # When the client POSTs the 8 KiB file with that form
    posted = post_form(ticket, oversized)
    # Real S3 answers 400 EntityTooLarge and stores nothing. moto 5.2.5 does not evaluate POST
    # policies at all (server mode or in-process: no content-length-range, key, field or
    # signature check; see moto/s3/responses.py _bucket_response_post), so it stores the object
    assert posted.status_code == 204
    # And completes the upload
    completed = complete(admin, ticket)

    # Then complete refuses it by its own limit, having fetched only the limit plus one byte
    assert completed["statusCode"] == 422
    assert "larger than 1024 bytes" in body_of(completed)["reason"]
    assert [r["headers"].get("Range") for r in reads] == ["bytes=0-1024"]
    assert upload_keys(stack) == [] and pending(stack, "telecom") == 0


@pytest.mark.usefixtures("published")
def test_a_file_other_than_the_one_announced_is_refused(
    stack: Stack, s3_server: str, telecom_csv: bytes
) -> None:
    admin = load_handler("admin")
    # Given an upload announced with the SHA-256 of a 200-row file
    ticket = start(admin, sha256_of(telecom_csv))
    cut_short = telecom_csv[: len(telecom_csv) // 2].rsplit(b"\n", 1)[0] + b"\n"
    cases = {
        # a transfer cut short at a line end (a valid CSV, but not the file announced)
        "cut short": {},
        # the form's metadata altered to match it (real S3 refuses that POST; moto stores it)
        "metadata altered": {"x-amz-meta-sha256": sha256_of(cut_short)},
    }
    for case, changed in cases.items():
        # When that other file is POSTed and the upload completed
        assert post_form(ticket, cut_short, **changed).status_code == 204
        completed = complete(admin, ticket)
        # Then it is refused, naming the field, and nothing is stored or counted
        assert completed["statusCode"] == 422, case
        assert body_of(completed)["field"] == "sha256", case
        assert upload_keys(stack) == [] and pending(stack, "telecom") == 0, case


def test_uploads_need_credentials(stack: Stack, telecom_csv: bytes) -> None:
    event = multipart_event("/models/telecom/retrain", telecom_csv)
    event["headers"].pop("authorization")
    assert invoke(load_handler("admin"), event)["statusCode"] == 401
    assert upload_keys(stack) == []
