"""Part 2: hostile inputs get a clear 4xx (or a safe result) and change nothing.

Each input below is sent to the in-process API. The answer must be the expected status with a
body that says what is wrong (never a 5xx, never a huge echo of what was sent), and afterwards
the registry, the feedback table, the bucket (keys and ETags) and the served champions (version
and scorecard hash) must be exactly as before. Only the predictions table may grow, by the rows
of a prediction that was legitimately answered (every answered prediction is logged first).
"""

from __future__ import annotations

import gzip
import json
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest

from propensity.config import load_model_config
from tests.reliability.api.conftest import ADMIN_HEADERS, FEEDBACK_HEADERS, Api
from tests.reliability.figures import record
from tests.support.presigned import post_form, sha256_of

MB = 1024 * 1024
JSON = {"content-type": "application/json"}
SIGNED_JSON = {**JSON, **FEEDBACK_HEADERS}
# An error body names the problem; it never echoes megabytes of what was sent.
MAX_ANSWER_BYTES = 16 * 1024
BANK = load_model_config("bank")
BANK_COLUMNS = [*BANK.features.all, BANK.target.column]
GOOD_ROW = {
    "age": "45",
    "job": "technician",
    "marital": "married",
    "education": "secondary",
    "default": "no",
    "balance": "1200",
    "housing": "yes",
    "loan": "no",
    "contact": "cellular",
    "day": "5",
    "month": "may",
    "campaign": "1",
    "pdays": "-1",
    "previous": "0",
    "poutcome": "unknown",
    "y": "no",
}
Files = dict[str, tuple[str, bytes, str]]


@dataclass(frozen=True)
class Hostile:
    """One hostile request and the answer it must get."""

    name: str
    method: str
    path: str
    status: int
    needle: str  # must appear in the answer: the reason, or the field at fault
    body: Callable[[], bytes] | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(JSON))
    files: Callable[[], Files] | None = None
    logged: int = 0  # predictions legitimately answered (and so logged)


def raw(text: str) -> Callable[[], bytes]:
    return lambda: text.encode()


def as_json(payload: Any) -> Callable[[], bytes]:
    return lambda: json.dumps(payload).encode()


def nested(depth: int, leaf: str = "1") -> str:
    return "[" * depth + leaf + "]" * depth


@cache
def gzip_bomb(decompressed: int = 100 * MB) -> bytes:
    """A gzip stream of ``decompressed`` zero bytes (about 100 KB on the wire)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: gzip container
    chunk = b"\0" * MB
    parts = [compressor.compress(chunk) for _ in range(decompressed // MB)]
    return b"".join([*parts, compressor.flush()])


def million_fields() -> bytes:
    """A flat JSON object of a million fields (about 11 MB)."""
    return ("{" + ",".join(f'"c{i}":0' for i in range(1_000_000)) + "}").encode()


def bank_csv(rows: list[dict[str, str]], *, delimiter: str = ";") -> bytes:
    """A labelled bank CSV (header and rows) with ``delimiter``."""
    lines = [delimiter.join(BANK_COLUMNS)]
    lines += [delimiter.join(row.get(c, "") for c in BANK_COLUMNS) for row in rows]
    return ("\n".join(lines) + "\n").encode()


def labeled_csv(payload: Callable[[], bytes], name: str = "labels.csv") -> Callable[[], Files]:
    return lambda: {"labeled_csv": (name, payload(), "text/csv")}


def with_formula(formula: str) -> Callable[[], Files]:
    """A valid bank CSV whose second row has a spreadsheet formula as its job."""
    return labeled_csv(lambda: bank_csv([GOOD_ROW, {**GOOD_ROW, "job": formula}]))


PREDICT = "/models/bank/predict"
FEEDBACK = "/models/bank/feedback"
RETRAIN = "/models/bank/retrain"

HOSTILE = [
    # --- credentials -----------------------------------------------------------------------
    Hostile(
        "anonymous feedback",
        "POST",
        FEEDBACK,
        401,
        "credential required",
        as_json({"features": {"age": 30}, "y": 1}),
    ),
    Hostile(
        "a feedback token on an admin route",
        "POST",
        RETRAIN,
        403,
        "scoped to feedback",
        headers=SIGNED_JSON,
    ),
    # --- numbers ---------------------------------------------------------------------------
    Hostile(
        "huge integer", "POST", PREDICT, 422, "too large", as_json({"features": {"age": 10**400}})
    ),
    Hostile(
        "float overflow literal 1e999",
        "POST",
        PREDICT,
        422,
        "finite",
        raw('{"features": {"age": 1e999}}'),
    ),
    Hostile("NaN literal", "POST", PREDICT, 422, "finite", raw('{"features": {"age": NaN}}')),
    Hostile("-Infinity literal", "POST", PREDICT, 422, "finite", raw('{"balance": -Infinity}')),
    Hostile("NaN string", "POST", PREDICT, 422, "expected a number", as_json({"age": "NaN"})),
    Hostile(
        "Infinity string",
        "POST",
        PREDICT,
        422,
        "expected a number",
        as_json({"features": {"balance": "Infinity"}}),
    ),
    Hostile(
        "largest finite floats are a safe result",
        "POST",
        PREDICT,
        200,
        "probability",
        as_json({"features": {"age": 1.7976931348623157e308, "balance": -1.7976931348623157e308}}),
        logged=1,
    ),
    Hostile(
        "feedback with a huge integer",
        "POST",
        FEEDBACK,
        422,
        "too large",
        as_json({"features": {"age": 10**400}, "y": "yes"}),
        headers=SIGNED_JSON,
    ),
    Hostile(
        "feedback with NaN",
        "POST",
        FEEDBACK,
        422,
        "features.age",
        raw('{"features": {"age": NaN}, "y": "yes"}'),
        headers=SIGNED_JSON,
    ),
    Hostile(
        "boolean for a number in a batch row",
        "POST",
        "/models/bank/predict/batch",
        422,
        '"rows",1,"age"',
        as_json({"rows": [{"age": 30}, {"age": True}]}),
    ),
    Hostile(
        "boolean for a number in feedback",
        "POST",
        FEEDBACK,
        422,
        '"features","age"',
        as_json({"features": {"age": False}, "y": 1}),
        headers=SIGNED_JSON,
    ),
    # --- structure -------------------------------------------------------------------------
    Hostile(
        "JSON nested 100,000 deep",
        "POST",
        PREDICT,
        400,
        "parsing the body",
        raw('{"features": {"job": ' + nested(100_000) + "}}"),
    ),
    Hostile(
        "JSON nested 500 deep in a feature",
        "POST",
        PREDICT,
        422,
        "expected a category string",
        raw('{"features": {"job": ' + nested(500) + "}}"),
    ),
    Hostile(
        "feedback nested 500 deep",
        "POST",
        FEEDBACK,
        422,
        "features",
        raw('{"features": {"job": ' + nested(500) + '}, "y": 1}'),
        headers=SIGNED_JSON,
    ),
    Hostile("body is an array", "POST", PREDICT, 422, "valid dictionary", raw("[1, 2, 3]")),
    Hostile(
        "features is a string",
        "POST",
        PREDICT,
        422,
        "must be an object",
        as_json({"features": "x"}),
    ),
    Hostile(
        "not JSON at all (text/plain)",
        "POST",
        PREDICT,
        422,
        "detail",
        raw("age=45&job=technician"),
        headers={"content-type": "text/plain"},
    ),
    Hostile(
        "invalid UTF-8 bytes",
        "POST",
        PREDICT,
        400,
        "parsing the body",
        lambda: b'{"age": "\xff\xfe"}',
    ),
    Hostile(
        "gzip bomb as a JSON body",
        "POST",
        PREDICT,
        400,
        "parsing the body",
        gzip_bomb,
        headers={**JSON, "content-encoding": "gzip"},
    ),
    # --- size ------------------------------------------------------------------------------
    Hostile(
        "10 MB category value",
        "POST",
        PREDICT,
        422,
        "longer than 200",
        lambda: json.dumps({"features": {"job": "x" * (10 * MB)}}).encode(),
    ),
    Hostile(
        "10 MB field name",
        "POST",
        PREDICT,
        422,
        "is not a feature",
        lambda: json.dumps({"features": {"k" * (10 * MB): 1}}).encode(),
    ),
    Hostile(
        "a million fields (lenient)",
        "POST",
        PREDICT + "?strict=false",
        422,
        "at most 1000",
        million_fields,
    ),
    Hostile(
        "batch beyond the limit",
        "POST",
        "/models/bank/predict/batch",
        413,
        "exceeds the limit",
        as_json({"rows": [{"age": 30}] * 1001}),
    ),
    Hostile(
        "10 MB label",
        "POST",
        FEEDBACK,
        422,
        "is not one of",
        lambda: json.dumps({"features": {"age": 30}, "y": "y" * (10 * MB)}).encode(),
        headers=SIGNED_JSON,
    ),
    Hostile(
        "10 MB chat message",
        "POST",
        "/models/bank/chat",
        422,
        "message",
        lambda: json.dumps({"message": "hola " * (2 * MB)}).encode(),
    ),
    Hostile(
        "oversized Idempotency-Key",
        "POST",
        FEEDBACK,
        422,
        "Idempotency-Key",
        as_json({"features": {"age": 30}, "y": 1}),
        headers={**SIGNED_JSON, "Idempotency-Key": "k" * 100_000},
    ),
    # --- unicode ---------------------------------------------------------------------------
    Hostile(
        "unicode junk category is a safe result (unknown)",
        "POST",
        PREDICT,
        200,
        '"unknown":["job"]',
        as_json({"features": {"job": "💥\u202e\u200bＤＲＯＰ\ufeff TABLE;--"}}),
        logged=1,
    ),
    Hostile(
        "NUL byte in a category is a safe result (unknown)",
        "POST",
        PREDICT,
        200,
        '"unknown":["job"]',
        as_json({"features": {"job": "tech\u0000nician"}}),
        logged=1,
    ),
    Hostile(
        "lone surrogate category",
        "POST",
        PREDICT,
        422,
        "not valid Unicode",
        raw('{"features": {"job": "\\ud800"}}'),
    ),
    Hostile(
        "lone surrogate field name",
        "POST",
        PREDICT,
        422,
        "is not a feature",
        raw('{"features": {"\\udfff": 1}}'),
    ),
    Hostile(
        "lone surrogate field name (lenient)",
        "POST",
        PREDICT + "?strict=false",
        422,
        "not valid Unicode",
        raw('{"features": {"age": 30, "\\udfff": 1}}'),
    ),
    Hostile(
        "lone surrogate in a batch row",
        "POST",
        "/models/bank/predict/batch",
        422,
        "rows",
        raw('{"rows": [{"age": 30}, {"job": "\\udc80"}]}'),
    ),
    Hostile(
        "feedback with a lone surrogate category",
        "POST",
        FEEDBACK,
        422,
        "not valid Unicode",
        raw('{"features": {"job": "\\ud800"}, "y": 1}'),
        headers=SIGNED_JSON,
    ),
    Hostile(
        "feedback with a lone surrogate field name",
        "POST",
        FEEDBACK,
        422,
        "features",
        raw('{"features": {"\\ud800": 1}, "y": 1}'),
        headers=SIGNED_JSON,
    ),
    Hostile(
        "chat with a lone surrogate",
        "POST",
        "/models/bank/chat",
        422,
        "message",
        raw('{"message": "tengo \\ud800 45"}'),
    ),
    # --- labelled CSV uploads (admin) ------------------------------------------------------
    *[
        Hostile(
            f"CSV formula injection {formula[:6]!r}",
            "POST",
            RETRAIN,
            422,
            "spreadsheet formula",
            headers=ADMIN_HEADERS,
            files=with_formula(formula),
        )
        for formula in ("=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd|'", "-2+3")
    ],
    Hostile(
        "CSV gzip bomb",
        "POST",
        RETRAIN,
        422,
        "not UTF-8",
        headers=ADMIN_HEADERS,
        files=labeled_csv(gzip_bomb, "labels.csv.gz"),
    ),
    Hostile(
        "CSV with an unknown delimiter",
        "POST",
        RETRAIN,
        422,
        "required column is missing",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: bank_csv([GOOD_ROW], delimiter=":")),
    ),
    Hostile(
        "CSV header and rows with different delimiters",
        "POST",
        RETRAIN,
        422,
        "the header has 16",
        headers=ADMIN_HEADERS,
        files=labeled_csv(
            lambda: bank_csv([]) + bank_csv([GOOD_ROW], delimiter=",").split(b"\n", 1)[1]
        ),
    ),
    Hostile(
        "CSV with a million columns",
        "POST",
        RETRAIN,
        422,
        "at most 500",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: ";".join(f"c{i}" for i in range(1_000_000)).encode()),
    ),
    Hostile(
        "CSV with a 10 MB unicode-junk category",
        "POST",
        RETRAIN,
        422,
        "field larger than field limit",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: bank_csv([{**GOOD_ROW, "job": "💥\u202e" * (5 * MB // 2)}])),
    ),
    Hostile(
        "CSV with a 201-character unicode-junk category",
        "POST",
        RETRAIN,
        422,
        "longer than 200",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: bank_csv([{**GOOD_ROW, "job": "\u202e💥" + "ж" * 199}])),
    ),
    Hostile(
        "CSV with NaN, Infinity and 1e999",
        "POST",
        RETRAIN,
        422,
        "not a finite number",
        headers=ADMIN_HEADERS,
        files=labeled_csv(
            lambda: bank_csv([{**GOOD_ROW, "age": "NaN", "balance": "Infinity", "day": "1e999"}])
        ),
    ),
    Hostile(
        "CSV of binary data",
        "POST",
        RETRAIN,
        422,
        "NUL",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: bank_csv([GOOD_ROW]).replace(b"technician", b"tech\0")),
    ),
    Hostile(
        "CSV that is not UTF-8",
        "POST",
        RETRAIN,
        422,
        "not UTF-8",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: bank_csv([GOOD_ROW]).replace(b"technician", b"t\xe9cnico")),
    ),
    Hostile(
        "CSV with a formula in the label",
        "POST",
        "/retrain",
        422,
        "is not one of",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: bank_csv([{**GOOD_ROW, "y": "=1+1"}])),
    ),
    Hostile(
        "empty CSV",
        "POST",
        RETRAIN,
        422,
        "empty",
        headers=ADMIN_HEADERS,
        files=labeled_csv(lambda: b"\n\n"),
    ),
]

sent: Counter[str] = Counter()


@pytest.mark.parametrize("hostile", HOSTILE, ids=lambda h: h.name)
def test_hostile_input_gets_a_clear_answer_and_changes_nothing(api: Api, hostile: Hostile) -> None:
    # Given the state of every store and the served champions
    before = api.snapshot()
    logged_before = api.prediction_count()
    # When the hostile request is sent
    response = api.client.request(
        hostile.method,
        hostile.path,
        content=hostile.body() if hostile.body else None,
        files=hostile.files() if hostile.files else None,
        headers=hostile.headers,
    )
    sent["total"] += 1
    sent["server_errors"] += response.status_code >= 500
    # Then it gets the expected answer, saying what is wrong, in a small body
    assert response.status_code == hostile.status, response.text[:500]
    assert hostile.needle in response.text, response.text[:500]
    assert len(response.content) <= MAX_ANSWER_BYTES
    body = response.json()
    if response.status_code >= 400:
        assert body["detail"]
    # And nothing changed, except the log of a prediction that was answered
    assert api.snapshot() == before
    assert api.prediction_count() == logged_before + hostile.logged
    sent["unchanged"] += 1
    sent["safe_results" if response.status_code < 400 else "rejected"] += 1


def test_a_gzip_bomb_completed_through_a_presigned_upload_is_refused(api: Api) -> None:
    # Given a gzip bomb POSTed with its presigned form (as a client would), its SHA-256 stated
    bomb = gzip.compress(b"\0" * (20 * MB))
    started = api.client.post(
        "/models/bank/uploads", headers=ADMIN_HEADERS, json={"sha256": sha256_of(bomb)}
    )
    assert started.status_code == 201
    upload_id = started.json()["upload_id"]
    assert post_form(started.json(), bomb).status_code == 204
    before = api.snapshot()
    # When the upload is completed
    response = api.client.post(f"/models/bank/uploads/{upload_id}/complete", headers=ADMIN_HEADERS)
    sent["total"] += 1
    # Then the file is refused (never decompressed) and nothing is stored or counted
    assert response.status_code == 422
    assert "not UTF-8" in response.json()["reason"]
    assert api.snapshot() == before
    sent["unchanged"] += 1
    sent["rejected"] += 1


def test_every_hostile_input_was_answered_without_changing_state() -> None:
    # Given every hostile request above (this test comes last in the module)
    record(
        "api_hostile_inputs",
        {
            "hostile_inputs": sent["total"],
            "rejected_4xx": sent["rejected"],
            "safe_results": sent["safe_results"],
            "state_changed": sent["total"] - sent["unchanged"],
            "server_errors": sent["server_errors"],
        },
    )
    # Then all of them ran and none changed the registry, feedback, bucket or served model
    assert sent["total"] == len(HOSTILE) + 1, "run the whole module: some inputs were skipped"
    assert sent["unchanged"] == sent["total"]
    assert sent["server_errors"] == 0
