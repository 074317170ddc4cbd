"""Challenger trials in the registry table: ``TRIAL#<start>#<version>`` items (in the order they
began; a version may be tried more than once) and the alias's pointer.

Every change is one transaction over the items it touches, so the registry never shows a
challenger served without its trial, or a trial decided while its challenger still serves:

- start: the alias gains its ``challenger`` (only at the revision the caller read), the trial
  item is created, the version's status becomes ``challenger``;
- end (rolled back, expired, killed, superseded): the pointer is removed (only if it still names
  this version), the trial gets its verdict (only if still active), the version is rejected;
- promote: ``DynamoRegistry.promote`` rewrites the alias (dropping the pointer) with the trial's
  verdict in the same transaction.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.errors import translate
from propensity.adapters.registry import CHAMPION, DynamoRegistry, version_key
from propensity.errors import NotFoundError
from propensity.records import (
    ChallengerPointer,
    ChallengerTrial,
    PromotionEvent,
    TrialStatus,
    VersionRecord,
)
from propensity.versions import version_number

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

TRIAL_PREFIX = "TRIAL#"


def trial_key(version: str, started_at: str) -> str:
    return f"{TRIAL_PREFIX}{started_at}#{version}"


class DynamoTrials:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()
        self._registry = DynamoRegistry(table, self._db)

    def _key(self, model: str, record: str) -> dict[str, Any]:
        return {"model": {"S": model}, "record": {"S": record}}

    def _write(self, items: list[dict[str, Any]], where: str) -> None:
        try:
            self._db.transact_write_items(TransactItems=items)  # type: ignore[arg-type]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, where) from exc

    def _status_update(self, model: str, version: str, status: str, reason: str) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self.table,
                "Key": self._key(model, version_key(version_number(version))),
                "UpdateExpression": "SET #s = :s, reason = :why",
                "ConditionExpression": "attribute_exists(#r)",
                "ExpressionAttributeNames": {"#s": "status", "#r": "record"},
                "ExpressionAttributeValues": {":s": {"S": status}, ":why": {"S": reason}},
            }
        }

    def _verdict(self, trial: ChallengerTrial) -> dict[str, Any]:
        """The trial item's final state, written only over an active trial."""
        return {
            "Put": {
                "TableName": self.table,
                "Item": _to_item(trial),
                "ConditionExpression": "#st = :active",
                "ExpressionAttributeNames": {"#st": "status"},
                "ExpressionAttributeValues": {":active": {"S": "active"}},
            }
        }

    def start(
        self, trial: ChallengerTrial, pointer: ChallengerPointer, *, expected_revision: int
    ) -> None:
        """ConflictError when the champion moved since it was read, or the trial exists."""
        self._write(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self._key(trial.model, CHAMPION),
                        "UpdateExpression": "SET challenger = :c",
                        "ConditionExpression": "revision = :rev",
                        "ExpressionAttributeValues": {
                            ":c": dynamo.value(asdict(pointer)),
                            ":rev": {"N": str(expected_revision)},
                        },
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": _to_item(trial),
                        "ConditionExpression": "attribute_not_exists(#r)",
                        "ExpressionAttributeNames": {"#r": "record"},
                    }
                },
                self._status_update(trial.model, trial.version, "challenger", trial.reason),
            ],
            f"challenger {trial.model}/{trial.version}",
        )

    def end(self, trial: ChallengerTrial) -> None:
        """Record a verdict other than promotion; ConflictError when the trial is over already
        (a redelivered decision) or another version is on trial."""
        self._write(
            [
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": self._key(trial.model, CHAMPION),
                        "UpdateExpression": "REMOVE challenger",
                        "ConditionExpression": "challenger.version = :v",
                        "ExpressionAttributeValues": {":v": {"S": trial.version}},
                    }
                },
                self._verdict(trial),
                self._status_update(trial.model, trial.version, "rejected", trial.reason),
            ],
            f"challenger {trial.model}/{trial.version}",
        )

    def settle(self, trial: ChallengerTrial) -> None:
        """Record the verdict of an active trial whose challenger no longer serves (a direct
        promotion rewrote the alias meanwhile); ConflictError when it is over already."""
        self._write(
            [
                self._verdict(trial),
                self._status_update(trial.model, trial.version, "rejected", trial.reason),
            ],
            f"challenger {trial.model}/{trial.version}",
        )

    def promote(
        self,
        trial: ChallengerTrial,
        record: VersionRecord,
        *,
        expected_revision: int,
        event: PromotionEvent,
    ) -> None:
        self._registry.promote(
            record, expected_revision=expected_revision, event=event, also=[self._verdict(trial)]
        )

    def update_live(self, trial: ChallengerTrial) -> None:
        """Store the latest live comparison of a trial that is still active."""
        try:
            self._db.update_item(
                TableName=self.table,
                Key=self._key(trial.model, trial_key(trial.version, trial.started_at)),
                UpdateExpression="SET live = :live",
                ConditionExpression="#st = :active",
                ExpressionAttributeNames={"#st": "status"},
                ExpressionAttributeValues={
                    ":live": {"S": json.dumps(trial.live)},
                    ":active": {"S": "active"},
                },
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"challenger {trial.model}/{trial.version}") from exc

    def get(self, model: str, version: str, started_at: str) -> ChallengerTrial:
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key=self._key(model, trial_key(version, started_at)),
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"challenger {model}/{version}") from exc
        item = response.get("Item")
        if not item:
            raise NotFoundError(f"model {model!r} has no trial of {version!r}")
        return _from_item(dynamo.from_item(item))

    def list(self, model: str, limit: int = 20) -> list[ChallengerTrial]:
        """The model's trials, the latest begun first."""
        try:
            items = dynamo.query_all(
                self._db,
                TableName=self.table,
                KeyConditionExpression="#m = :m AND begins_with(#r, :p)",
                ExpressionAttributeNames={"#m": "model", "#r": "record"},
                ExpressionAttributeValues={":m": {"S": model}, ":p": {"S": TRIAL_PREFIX}},
                ScanIndexForward=False,
                PaginationConfig={"MaxItems": limit},
            )
            return [_from_item(i) for i in items]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"trials of {model}") from exc


def _to_item(trial: ChallengerTrial) -> dict[str, Any]:
    values = asdict(trial)
    # Free-form evidence as JSON: DynamoDB maps cannot hold NaN or empty keys.
    values["live"] = json.dumps(trial.live)
    values["evidence"] = json.dumps(trial.evidence)
    return dynamo.to_item({**values, "record": trial_key(trial.version, trial.started_at)})


def _from_item(item: dict[str, Any]) -> ChallengerTrial:
    status: TrialStatus = item["status"]
    return ChallengerTrial(
        model=item["model"],
        version=item["version"],
        champion_version=item["champion_version"],
        mode=item["mode"],
        fraction=float(item["fraction"]),
        started_at=item["started_at"],
        expires_at=item["expires_at"],
        min_live_labels=int(item["min_live_labels"]),
        feedback_seq=int(item["feedback_seq"]),
        started_by=item.get("started_by", ""),
        status=status,
        decided_at=item.get("decided_at", ""),
        reason=item.get("reason", ""),
        live=json.loads(item.get("live") or "{}"),
        evidence=json.loads(item.get("evidence") or "{}"),
    )
