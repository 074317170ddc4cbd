"""Storage faults injected into botocore itself: every S3/DynamoDB call is recorded as a step,
and a chosen step fails as AWS would fail it.

Hooks on a boto3 session's event system, so the adapters, ``read_s3_uri`` and the handlers'
own clients (all created from that session after ``install``) go through it unchanged:

- ``error``: the call is refused before it is sent (a ``ClientError`` such as
  ``ServiceUnavailable``): nothing is written;
- ``lost``: the call is sent and applied, then the answer is lost (``ReadTimeoutError``): the
  caller cannot tell whether it happened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.exceptions import ClientError, ReadTimeoutError

Mode = Literal["error", "lost"]
ERROR_CODES = {"s3": "ServiceUnavailable", "dynamodb": "InternalServerError"}


@dataclass(frozen=True)
class Step:
    """One storage call of a code path: service, operation, what it addresses, which time."""

    service: str
    operation: str
    target: str
    occurrence: int = 1

    def __str__(self) -> str:
        nth = f" #{self.occurrence}" if self.occurrence > 1 else ""
        return f"{self.service}.{self.operation} {self.target}{nth}"


def _record_prefix(value: str) -> str:
    """``VERSION#000002`` → ``VERSION#``, ``JOB#ab12`` → ``JOB#``; fixed records unchanged."""
    head, sep, _ = value.partition("#")
    return (
        f"{head}#"
        if sep and head in {"VERSION", "JOB", "FEEDBACK", "SEQ", "UPLOAD", "PROMOTION"}
        else value
    )


def _s3_target(key: str) -> str:
    key = re.sub(r"^models/([^/]+)/v\d+/", r"models/\1/vN/", key)
    key = re.sub(r"^snapshots/([^/]+)/parts/.*$", r"snapshots/\1/parts/…", key)
    return re.sub(r"^uploads/([^/]+)/.*$", r"uploads/\1/…", key)


def target_of(
    service: str, operation: str, params: Mapping[str, Any], tables: Mapping[str, str]
) -> str:
    """What a call addresses, with ids and numbers folded: ``registry LOCK#retrain``."""
    if service == "s3":
        return _s3_target(str(params.get("Key", params.get("Bucket", ""))))
    if operation == "TransactWriteItems":
        parts = []
        for entry in params["TransactItems"]:
            ((_, body),) = entry.items()
            key = body.get("Key") or body.get("Item") or {}
            parts.append(_dynamo_target(body["TableName"], key, tables))
        return " + ".join(parts)
    if operation == "BatchGetItem":
        ((table, request),) = params["RequestItems"].items()
        return _dynamo_target(table, request["Keys"][0], tables)
    key = params.get("Key") or params.get("Item")
    if key is None and operation == "Query":
        values = params.get("ExpressionAttributeValues", {})
        prefix = values.get(":p", {}).get("S", "")
        if ":lo" in values:  # a key range (feedback numbers): named by its records' prefix
            prefix = _record_prefix(values[":lo"]["S"])
        return f"{tables.get(params['TableName'], params['TableName'])} {prefix}*"
    return _dynamo_target(params.get("TableName", ""), key or {}, tables)


def _dynamo_target(table: str, key: Mapping[str, Any], tables: Mapping[str, str]) -> str:
    sort = key.get("record") or key.get("item") or {}
    return f"{tables.get(table, table)} {_record_prefix(str(sort.get('S', '')))}".strip()


class StorageFaults:
    """Records each call made through a session's clients; fails the armed step."""

    def __init__(self, tables: Mapping[str, str]) -> None:
        # physical table name → short name ("registry", "feedback", ...)
        self.tables = dict(tables)
        self.calls: list[Step] = []
        self.injected: list[Step] = []
        self._armed: tuple[Step, Mode] | None = None
        self._seen: dict[tuple[str, str, str], int] = {}

    def install(self, session: boto3.session.Session) -> None:
        """Hook a session: clients created from it afterwards carry the hooks."""
        session.events.register("before-parameter-build", self._before)
        session.events.register("after-call", self._after)

    def arm(self, step: Step, mode: Mode) -> None:
        """Fail ``step`` (its n-th occurrence) and every later matching call until ``clear``."""
        self._armed = (step, mode)
        self._seen.clear()

    def clear(self) -> None:
        self._armed = None

    def reset_log(self) -> None:
        self.calls.clear()
        self._seen.clear()

    def reset(self) -> None:
        """Disarmed, with no calls or injections recorded (a new test)."""
        self.clear()
        self.reset_log()
        self.injected.clear()

    def _before(
        self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any
    ) -> None:
        service = model.service_model.endpoint_prefix
        if service not in ERROR_CODES:
            return
        target = target_of(service, model.name, params, self.tables)
        ident = (service, model.name, target)
        self._seen[ident] = self._seen.get(ident, 0) + 1
        step = Step(service, model.name, target, self._seen[ident])
        self.calls.append(step)
        if self._armed is None:
            return
        armed, mode = self._armed
        if (armed.service, armed.operation, armed.target) != ident:
            return
        if step.occurrence < armed.occurrence:
            return
        self.injected.append(step)
        if mode == "lost":
            context["injected_fault"] = step
            return
        response: Any = {
            "Error": {"Code": ERROR_CODES[service], "Message": f"injected at {step}"},
            "ResponseMetadata": {"HTTPStatusCode": 503},
        }
        raise ClientError(response, model.name)

    def _after(self, context: dict[str, Any], **_: Any) -> None:
        step = context.pop("injected_fault", None)
        if step is not None:
            raise ReadTimeoutError(endpoint_url=f"injected lost answer at {step}")
