"""The prediction log in DynamoDB (hash key ``prediction_id``; index ``by_model`` for drift)."""

from __future__ import annotations

import json
import time
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters import dynamo
from propensity.adapters.batch_reads import batch_get
from propensity.adapters.errors import translate
from propensity.errors import NotFoundError, StorageError
from propensity.records import PredictionRecord

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BY_MODEL_INDEX = "by_model"
_BATCH = 25  # BatchWriteItem's limit
_RETRIES = 5


class DynamoPredictionLog:
    def __init__(self, table: str, client: DynamoDBClient | None = None) -> None:
        self.table = table
        self._db = client or dynamo.client()

    def put_many(self, records: Sequence[PredictionRecord]) -> None:
        for start in range(0, len(records), _BATCH):
            requests: list[Any] = [
                {"PutRequest": {"Item": _to_item(r)}} for r in records[start : start + _BATCH]
            ]
            for attempt in range(_RETRIES):
                try:
                    response = self._db.batch_write_item(RequestItems={self.table: requests})
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc, f"prediction log {self.table}") from exc
                requests = list(response.get("UnprocessedItems", {}).get(self.table, []))
                if not requests:
                    break
                time.sleep(0.05 * 2**attempt)  # throttled: back off, then resend the remainder
            else:
                raise StorageError(f"prediction log {self.table}: {len(requests)} writes throttled")

    def get(self, prediction_id: str) -> PredictionRecord:
        try:
            response = self._db.get_item(
                TableName=self.table,
                Key={"prediction_id": {"S": prediction_id}},
                ConsistentRead=True,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"prediction {prediction_id}") from exc
        item = response.get("Item")
        if not item:
            raise NotFoundError(f"prediction {prediction_id!r} does not exist")
        return _from_item(dynamo.from_item(item))

    def get_many(self, prediction_ids: Sequence[str]) -> list[PredictionRecord]:
        keys = [{"prediction_id": {"S": i}} for i in prediction_ids]
        items = batch_get(self._db, self.table, keys, f"prediction log {self.table}")
        return [_from_item(dynamo.from_item(i)) for i in items]

    def recent(
        self, model: str, limit: int, *, sources: Collection[str] | None = None
    ) -> list[PredictionRecord]:
        names = {"#m": "model"}
        values: dict[str, Any] = {":m": {"S": model}}
        query: dict[str, Any] = {}
        if sources is not None:
            # Filtered after the read, so MaxItems still counts matching items only.
            placeholders = [f":s{i}" for i in range(len(sources))]
            values.update({p: {"S": s} for p, s in zip(placeholders, sorted(sources), strict=True)})
            names["#s"] = "source"
            condition = f"#s IN ({', '.join(placeholders)})"
            if "api" in sources:
                # Records logged before sources existed have none and were API predictions.
                condition = f"attribute_not_exists(#s) OR {condition}"
            query["FilterExpression"] = condition
        try:
            items = dynamo.query_all(
                self._db,
                TableName=self.table,
                IndexName=BY_MODEL_INDEX,
                KeyConditionExpression="#m = :m",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ScanIndexForward=False,
                PaginationConfig={"MaxItems": limit},
                **query,
            )
            return [_from_item(i) for i in items]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"prediction log of {model}") from exc


def _to_item(record: PredictionRecord) -> dict[str, Any]:
    return dynamo.to_item(
        {
            "prediction_id": record.prediction_id,
            "model": record.model,
            "version": record.version,
            "created_at": record.created_at,
            "features": dynamo.dumps(record.features),
            "probability": record.probability,
            "prediction": record.prediction,
            "expires_at": record.expires_at,
            "source": record.source,
            # Only during a trial: a prediction without a challenger stores nothing more.
            "scores": record.scores or None,
            "challenger_error": record.challenger_error or None,
            "challenger_micros": record.challenger_micros,
        }
    )


def _from_item(item: dict[str, Any]) -> PredictionRecord:
    return PredictionRecord(
        prediction_id=item["prediction_id"],
        model=item["model"],
        version=item["version"],
        created_at=item["created_at"],
        features=json.loads(item["features"]),
        probability=float(item["probability"]),
        prediction=int(item["prediction"]),
        expires_at=int(item["expires_at"]),
        source=str(item.get("source", "api")),
        scores={str(k): float(v) for k, v in dict(item.get("scores") or {}).items()},
        challenger_error=str(item.get("challenger_error", "")),
        challenger_micros=(
            None if item.get("challenger_micros") is None else float(item["challenger_micros"])
        ),
    )
