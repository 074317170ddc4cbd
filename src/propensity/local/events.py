"""The events AWS hands the functions, built the way AWS builds them.

- API Gateway HTTP API, payload format 2.0 (``sam local generate-event apigateway
  http-api-proxy``), with the template's route key and a named stage in ``rawPath``.
- DynamoDB stream records as Lambda delivers them (``sam local generate-event dynamodb
  update``): the Streams API record plus ``eventSourceARN``, ``eventVersion`` "1.1" and an
  integer-epoch ``ApproximateCreationDateTime``.
- EventBridge scheduled events (``sam local generate-event cloudwatch scheduled-event``), and
  what a schedule target with ``Input`` receives instead: that Input, verbatim.
"""

from __future__ import annotations

import base64
import json
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from propensity.clock import utc_now
from propensity.local.emulator import EMULATOR_ACCOUNT, EMULATOR_REGION

LOCAL_API_ID = "local"

# Request bodies API Gateway passes as text; anything else arrives base64-encoded.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
_TEXT_SUFFIXES = ("+json", "+xml")


def is_text_content_type(content_type: str | None) -> bool:
    if not content_type:
        return False
    media = content_type.split(";", 1)[0].strip().lower()
    return media.startswith("text/") or media in _TEXT_TYPES or media.endswith(_TEXT_SUFFIXES)


def api_gateway_request_id() -> str:
    """Shaped like API Gateway's (e.g. ``JKJaXmPLvHcESHA=``)."""
    return base64.b64encode(os.urandom(10)).decode()


def stage_path(stage: str, path: str) -> str:
    """``rawPath`` for ``path`` on ``stage``: prefixed with it unless it is ``$default``."""
    return path if stage in ("", "$default") else f"/{stage}{path}"


def http_api_event(
    method: str,
    path: str,
    *,
    route_key: str = "$default",
    path_parameters: Mapping[str, str] | None = None,
    stage: str = "$default",
    query_string: str = "",
    headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    body: bytes | str | None = None,
    source_ip: str = "127.0.0.1",
    domain_name: str = "localhost",
    api_id: str = LOCAL_API_ID,
    account_id: str = EMULATOR_ACCOUNT,
    request_id: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An HTTP API payload 2.0 event for ``method path`` (``path`` without the stage).

    Header names are lower-cased and repeated headers joined with commas; the ``cookie``
    header moves to ``cookies``; repeated query parameters are joined with commas, as API
    Gateway does. ``rawPath`` and ``requestContext.http.path`` carry the stage prefix.
    """
    pairs = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
    joined: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in pairs:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined[lower] = f"{joined[lower]},{value}" if lower in joined else value
    joined.setdefault("host", domain_name)

    when = now or utc_now()
    raw_path = stage_path(stage, path)
    user_agent = joined.get("user-agent", "")
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": raw_path,
        "rawQueryString": query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = joined
    if query_string:
        params: dict[str, str] = {}
        for name, value in parse_qsl(query_string, keep_blank_values=True):
            params[name] = f"{params[name]},{value}" if name in params else value
        event["queryStringParameters"] = params
    event["requestContext"] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain_name,
        "domainPrefix": domain_name.split(".", 1)[0],
        "http": {
            "method": method.upper(),
            "path": raw_path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": user_agent,
        },
        "requestId": request_id or api_gateway_request_id(),
        "routeKey": route_key,
        "stage": stage,
        "time": when.strftime("%d/%b/%Y:%H:%M:%S +0000"),
        "timeEpoch": int(when.timestamp() * 1000),
    }
    if path_parameters:
        event["pathParameters"] = {k: unquote(v) for k, v in path_parameters.items()}
    if body is not None and len(body) > 0:
        raw = body.encode() if isinstance(body, str) else body
        text = _as_text(raw, joined.get("content-type"))
        if text is None:
            event["body"] = base64.b64encode(raw).decode()
            event["isBase64Encoded"] = True
        else:
            event["body"] = text
            event["isBase64Encoded"] = False
    else:
        event["isBase64Encoded"] = False
    return event


def _as_text(raw: bytes, content_type: str | None) -> str | None:
    if not is_text_content_type(content_type):
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def decode_http_body(response: Mapping[str, Any]) -> bytes:
    """The body bytes of a payload-2.0 function response (base64-decoded when flagged)."""
    body = response.get("body")
    if body is None:
        return b""
    if response.get("isBase64Encoded"):
        return base64.b64decode(str(body))
    return str(body).encode("utf-8")


# --- DynamoDB Streams ----------------------------------------------------------------------


def _epoch_seconds(value: Any) -> int:
    if isinstance(value, datetime):
        return int(value.timestamp())
    if isinstance(value, int | float):
        return int(value)
    return int(utc_now().timestamp())


def dynamodb_stream_record(
    record: Mapping[str, Any], *, event_source_arn: str, region: str = EMULATOR_REGION
) -> dict[str, Any]:
    """A Streams API record (``get_records``) as a Lambda event record."""
    stream = dict(record.get("dynamodb", {}))
    stream["ApproximateCreationDateTime"] = _epoch_seconds(
        stream.get("ApproximateCreationDateTime")
    )
    ordered = {
        key: stream[key]
        for key in (
            "ApproximateCreationDateTime",
            "Keys",
            "NewImage",
            "OldImage",
            "SequenceNumber",
            "SizeBytes",
            "StreamViewType",
        )
        if key in stream
    }
    return {
        "eventID": str(record.get("eventID") or uuid.uuid4().hex),
        "eventName": str(record["eventName"]),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": str(record.get("awsRegion") or region),
        "dynamodb": ordered,
        "eventSourceARN": event_source_arn,
    }


def dynamodb_stream_event(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """``{"Records": [...]}`` from records already in Lambda shape."""
    return {"Records": [dict(r) for r in records]}


def table_stream_arn(
    table: str,
    label: str = "2024-01-01T00:00:00.000",
    *,
    region: str = EMULATOR_REGION,
    account_id: str = EMULATOR_ACCOUNT,
) -> str:
    return f"arn:aws:dynamodb:{region}:{account_id}:table/{table}/stream/{label}"


# --- EventBridge ---------------------------------------------------------------------------


def rule_arn(
    rule_name: str, *, region: str = EMULATOR_REGION, account_id: str = EMULATOR_ACCOUNT
) -> str:
    return f"arn:aws:events:{region}:{account_id}:rule/{rule_name}"


def scheduled_event(
    rule: str,
    *,
    region: str = EMULATOR_REGION,
    account_id: str = EMULATOR_ACCOUNT,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The envelope a schedule rule delivers to a target without ``Input``."""
    when = now or utc_now()
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": account_id,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [rule if rule.startswith("arn:") else rule_arn(rule, region=region)],
        "detail": {},
    }


def schedule_delivery(input_json: str | None, rule: str, *, now: datetime | None = None) -> Any:
    """What EventBridge passes the target: the ``Input`` JSON verbatim when the target has one
    (no envelope at all), the scheduled-event envelope otherwise."""
    if input_json is not None:
        return json.loads(input_json)
    return scheduled_event(rule, now=now)
