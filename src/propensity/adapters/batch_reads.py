"""BatchGetItem over any number of keys: 100 at a time, unprocessed keys retried with backoff.

One loop for every adapter that reads items by key in bulk (feedback, the prediction log); a
throttled read still unprocessed after the last attempt is a StorageError (503), never a
silently shorter answer.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import translate
from propensity.errors import StorageError

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

BATCH_GET = 100  # DynamoDB's BatchGetItem limit
UNPROCESSED_ATTEMPTS = 6
UNPROCESSED_BACKOFF_SECONDS = 0.05


def backoff(attempt: int) -> None:
    delay = UNPROCESSED_BACKOFF_SECONDS * 2**attempt
    time.sleep(random.uniform(delay / 2, delay))  # noqa: S311 (jitter)


def batch_get(
    db: DynamoDBClient,
    table: str,
    keys: Sequence[dict[str, Any]],
    where: str,
    *,
    projection: Sequence[str] = (),
    on_response: Callable[[Any, int], None] | None = None,
    **request_options: Any,
) -> Iterator[dict[str, Any]]:
    """The stored items of ``keys`` (raw, in any order; keys not stored are left out).

    ``projection``: only those attributes. ``on_response`` sees each response and how many
    items it held (read tallies). ``request_options`` go to every call (ReturnConsumedCapacity).
    """
    for start in range(0, len(keys), BATCH_GET):
        wanted: dict[str, Any] = {"Keys": list(keys[start : start + BATCH_GET])}
        wanted["ConsistentRead"] = True
        if projection:
            names = {f"#a{n}": name for n, name in enumerate(projection)}
            wanted |= {"ProjectionExpression": ", ".join(names), "ExpressionAttributeNames": names}
        request: dict[str, Any] = {table: wanted}
        for attempt in range(1, UNPROCESSED_ATTEMPTS + 1):
            try:
                response = db.batch_get_item(RequestItems=request, **request_options)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc, where) from exc
            items = response.get("Responses", {}).get(table, [])
            if on_response is not None:
                on_response(response, len(items))
            yield from items
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                break
            if attempt == UNPROCESSED_ATTEMPTS:
                raise StorageError(f"{where}: reads left unprocessed")
            backoff(attempt)
