"""Token revocations in the registry table, in a partition of their own.

Key layout: ``model`` = ``#tokens`` (no model name can start with ``#``), ``record`` =
``REVOKED#<jti>``, so a second revocation of a token is the same item. The functions that
check tokens may query this partition only (the template's ``dynamodb:LeadingKeys``
condition).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.errors import error_code, translate
from propensity.records import TokenRevocation

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

PARTITION = "#tokens"
PREFIX = "REVOKED#"


class DynamoTokenRevocations:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()

    def add(self, revocation: TokenRevocation) -> tuple[TokenRevocation, bool]:
        item = {
            "model": PARTITION,
            "record": f"{PREFIX}{revocation.jti}",
            "jti": revocation.jti,
            "revoked_at": revocation.revoked_at,
            "revoked_epoch": revocation.revoked_epoch,
            "actor": revocation.actor,
            "reason": revocation.reason,
        }
        try:
            self._db.put_item(
                TableName=self.table,
                Item=dynamo.to_item(item),
                ConditionExpression="attribute_not_exists(#r)",
                ExpressionAttributeNames={"#r": "record"},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise translate(exc, f"revocation of token {revocation.jti}") from exc
        except BotoCoreError as exc:
            raise translate(exc, f"revocation of token {revocation.jti}") from exc
        else:
            return revocation, True
        return self._get(revocation.jti) or revocation, False

    def _get(self, jti: str) -> TokenRevocation | None:
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key={"model": {"S": PARTITION}, "record": {"S": f"{PREFIX}{jti}"}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"revocation of token {jti}") from exc
        item = response.get("Item")
        return _revocation(dynamo.from_item(item)) if item else None

    def since(self, epoch: int) -> list[TokenRevocation]:
        try:
            items = dynamo.query_all(
                self._db,
                TableName=self.table,
                KeyConditionExpression="#m = :m AND begins_with(#r, :p)",
                FilterExpression="revoked_epoch > :since",
                ExpressionAttributeNames={"#m": "model", "#r": "record"},
                ExpressionAttributeValues={
                    ":m": {"S": PARTITION},
                    ":p": {"S": PREFIX},
                    ":since": {"N": str(epoch)},
                },
            )
            return [_revocation(item) for item in items]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, "token revocations") from exc


def _revocation(item: dict[str, Any]) -> TokenRevocation:
    return TokenRevocation(
        jti=item["jti"],
        revoked_at=item["revoked_at"],
        revoked_epoch=int(item["revoked_epoch"]),
        actor=item.get("actor", ""),
        reason=item.get("reason", ""),
    )
