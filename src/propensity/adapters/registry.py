"""The model registry in DynamoDB: versions, the champion alias, promotion history.

One item collection per model (``model`` hash key), told apart by the ``record`` range key:
``VERSION#000012``, ``ALIAS#champion``, ``PROMOTION#<time>#<version>``, ``TRIAL#<version>``
(``adapters.challengers``). The alias carries the challenger on trial, if any, so that one read
serves both; a promotion rewrites the alias whole, which ends any trial with it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.errors import error_code, translate
from propensity.errors import ConflictError, NotFoundError
from propensity.records import (
    ChallengerPointer,
    ChampionAlias,
    PromotionEvent,
    VersionRecord,
    VersionStatus,
)
from propensity.versions import version_number

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

CHAMPION = "ALIAS#champion"
LOCK = "LOCK#retrain"
VERSION_PREFIX = "VERSION#"
PROMOTION_PREFIX = "PROMOTION#"


def version_key(number: int) -> str:
    return f"{VERSION_PREFIX}{number:06d}"


class DynamoRegistry:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()

    def _key(self, model: str, record: str) -> dict[str, Any]:
        return {"model": {"S": model}, "record": {"S": record}}

    def _get(self, model: str, record: str) -> dict[str, Any] | None:
        try:
            response = self._db.get_item(
                TableName=self.table, Key=self._key(model, record), ConsistentRead=True
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"registry {model}/{record}") from exc
        item = response.get("Item")
        return dynamo.from_item(item) if item else None

    def get_champion(self, model: str) -> ChampionAlias | None:
        item = self._get(model, CHAMPION)
        if item is None:
            return None
        return ChampionAlias(
            model=model,
            version=item["version"],
            scorecard_key=item["scorecard_key"],
            scorecard_sha256=item["scorecard_sha256"],
            revision=int(item["revision"]),
            updated_at=item["updated_at"],
            previous_version=item.get("previous_version"),
            reason=item.get("reason", ""),
            actor=item.get("actor", ""),
            challenger=_pointer(item.get("challenger")),
        )

    def get_version(self, model: str, version: str) -> VersionRecord:
        item = self._get(model, version_key(version_number(version)))
        if item is None:
            raise NotFoundError(f"model {model!r} has no version {version!r}")
        return _version_from_item(item)

    def _records(self, model: str, prefix: str, limit: int) -> list[dict[str, Any]]:
        """The model's records whose key starts with ``prefix``, newest (highest key) first."""
        try:
            return list(
                dynamo.query_all(
                    self._db,
                    TableName=self.table,
                    KeyConditionExpression="#m = :m AND begins_with(#r, :p)",
                    ExpressionAttributeNames={"#m": "model", "#r": "record"},
                    ExpressionAttributeValues={":m": {"S": model}, ":p": {"S": prefix}},
                    ScanIndexForward=False,
                    PaginationConfig={"MaxItems": limit},
                )
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"registry {model} {prefix}") from exc

    def list_versions(self, model: str, limit: int = 100) -> list[VersionRecord]:
        return [_version_from_item(i) for i in self._records(model, VERSION_PREFIX, limit)]

    def latest_version_number(self, model: str) -> int:
        latest = self.list_versions(model, limit=1)
        return latest[0].number if latest else 0

    def put_version(self, record: VersionRecord) -> None:
        item = {
            "model": record.model,
            "record": version_key(record.number),
            "version": record.version,
            "number": record.number,
            "status": record.status,
            "created_at": record.created_at,
            "trigger": record.trigger,
            "artifact_prefix": record.artifact_prefix,
            "artifacts": record.artifacts,
            "metrics": record.metrics,
            "data_sha256": record.data_sha256,
            "parent_version": record.parent_version,
            "reason": record.reason,
            "threshold": record.threshold,
            "rows_train": record.rows_train,
            "extra": json.dumps(record.extra),
        }
        try:
            self._db.put_item(
                TableName=self.table,
                Item=dynamo.to_item(item),
                ConditionExpression="attribute_not_exists(#r)",
                ExpressionAttributeNames={"#r": "record"},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"registry {record.model}/{record.version}") from exc

    def set_status(self, model: str, version: str, status: VersionStatus, reason: str) -> None:
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(model, version_key(version_number(version))),
                UpdateExpression="SET #s = :s, reason = :why",
                ConditionExpression="attribute_exists(#r)",
                ExpressionAttributeNames={"#s": "status", "#r": "record"},
                ExpressionAttributeValues={":s": {"S": status}, ":why": {"S": reason}},
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"registry {model}/{version}") from exc

    def promote(
        self,
        record: VersionRecord,
        *,
        expected_revision: int | None,
        event: PromotionEvent,
        also: Sequence[dict[str, Any]] = (),
    ) -> ChampionAlias:
        """Move the alias with optimistic locking; the history row is in the same transaction,
        and so are ``also``'s items (a trial's verdict, ``adapters.challengers``)."""
        sha = record.artifacts.get("scorecard.json", "")
        alias = ChampionAlias(
            model=record.model,
            version=record.version,
            scorecard_key=record.scorecard_key,
            scorecard_sha256=sha,
            revision=(expected_revision or 0) + 1,
            updated_at=event.at,
            previous_version=event.previous_version,
            reason=event.reason,
            actor=event.actor,
        )
        # DynamoDB rejects unused expression names/values, so each branch names only its own.
        condition_parts: dict[str, Any]
        if expected_revision is None:
            condition_parts = {
                "ConditionExpression": "attribute_not_exists(#r)",
                "ExpressionAttributeNames": {"#r": "record"},
            }
        else:
            condition_parts = {
                "ConditionExpression": "revision = :expected",
                "ExpressionAttributeValues": {":expected": {"N": str(expected_revision)}},
            }
        alias_item = dynamo.to_item(
            {
                "model": alias.model,
                "record": CHAMPION,
                "version": alias.version,
                "scorecard_key": alias.scorecard_key,
                "scorecard_sha256": alias.scorecard_sha256,
                "revision": alias.revision,
                "updated_at": alias.updated_at,
                "previous_version": alias.previous_version,
                "reason": alias.reason,
                "actor": alias.actor,
            }
        )
        history_item = dynamo.to_item(
            {
                "model": event.model,
                "record": f"{PROMOTION_PREFIX}{event.at}#{event.version}",
                "version": event.version,
                "previous_version": event.previous_version,
                "at": event.at,
                "actor": event.actor,
                "reason": event.reason,
                "action": event.action,
            }
        )
        alias_put: Any = {"TableName": self.table, "Item": alias_item, **condition_parts}
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {"Put": alias_put},
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": self._key(record.model, version_key(record.number)),
                            "UpdateExpression": "SET #s = :promoted",
                            "ConditionExpression": "attribute_exists(#r)",
                            "ExpressionAttributeNames": {"#s": "status", "#r": "record"},
                            "ExpressionAttributeValues": {":promoted": {"S": "promoted"}},
                        }
                    },
                    {"Put": {"TableName": self.table, "Item": history_item}},
                    *also,  # type: ignore[list-item]  # built by adapters.challengers
                ]
            )
        except ClientError as exc:
            if error_code(exc) == "TransactionCanceledException":
                raise ConflictError(
                    f"champion of {record.model!r} changed meanwhile, "
                    f"or {record.version} cannot be promoted"
                ) from exc
            raise translate(exc, f"registry {record.model} champion") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"registry {record.model} champion") from exc
        return alias

    def list_promotions(self, model: str, limit: int = 50) -> list[PromotionEvent]:
        return [
            PromotionEvent(
                model=model,
                version=i["version"],
                previous_version=i.get("previous_version"),
                at=i["at"],
                actor=i.get("actor", ""),
                reason=i.get("reason", ""),
                action=i.get("action", "promote"),
            )
            for i in self._records(model, PROMOTION_PREFIX, limit)
        ]


class DynamoRetrainLock:
    """One retrain per model: a lock item with an expiry, so a crashed holder cannot block."""

    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()

    def acquire(self, model: str, owner: str, ttl_seconds: int) -> bool:
        now = int(time.time())
        try:
            self._db.put_item(
                TableName=self.table,
                Item=dynamo.to_item(
                    {
                        "model": model,
                        "record": LOCK,
                        "owner": owner,
                        "expires_at": now + ttl_seconds,
                    }
                ),
                ConditionExpression="attribute_not_exists(#r) OR expires_at < :now OR #o = :owner",
                ExpressionAttributeNames={"#r": "record", "#o": "owner"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":owner": {"S": owner}},
            )
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise translate(exc, f"retrain lock of {model}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"retrain lock of {model}") from exc
        return True

    def release(self, model: str, owner: str) -> None:
        try:
            self._db.delete_item(
                TableName=self.table,
                Key={"model": {"S": model}, "record": {"S": LOCK}},
                ConditionExpression="#o = :owner",
                ExpressionAttributeNames={"#o": "owner"},
                ExpressionAttributeValues={":owner": {"S": owner}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":  # expired and taken over
                raise translate(exc, f"retrain lock of {model}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"retrain lock of {model}") from exc


def _pointer(item: Any) -> ChallengerPointer | None:
    if not isinstance(item, dict):
        return None
    return ChallengerPointer(
        version=item["version"],
        scorecard_key=item["scorecard_key"],
        scorecard_sha256=item["scorecard_sha256"],
        mode=item["mode"],
        fraction=float(item["fraction"]),
        started_at=item["started_at"],
    )


def _version_from_item(item: dict[str, Any]) -> VersionRecord:
    return VersionRecord(
        model=item["model"],
        version=item["version"],
        number=int(item["number"]),
        status=item["status"],
        created_at=item["created_at"],
        trigger=item.get("trigger", ""),
        artifact_prefix=item["artifact_prefix"],
        artifacts=dict(item.get("artifacts", {})),
        metrics={k: float(v) for k, v in dict(item.get("metrics", {})).items()},
        data_sha256=item.get("data_sha256", ""),
        parent_version=item.get("parent_version"),
        reason=item.get("reason", ""),
        threshold=float(item.get("threshold", 0.5)),
        rows_train=int(item.get("rows_train", 0)),
        extra=json.loads(item.get("extra", "{}")),
    )
