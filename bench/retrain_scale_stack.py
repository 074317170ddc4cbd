"""The stores one retrain-scale point runs against, and what is put in them.

A fresh DynamoDB Local (AWS's engine, in memory) and moto S3 server with the template's tables
and bucket, bank's v1 as champion, the base dataset (shipped or resampled ×k) and N feedback
rows written as the feedback function writes them. The child retrains run in their own
processes (``bench/retrain_scale_child.py``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODEL = "bank"
BASE_DATASET = REPO / "data" / "bank-full.csv.gz"
REGION_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
}
# Rows per BatchWriteItem (each row is two items: the feedback and its SEQ# pointer; 25 max)
# and writers in parallel (DynamoDB Local answers several at once).
BATCH_ROWS = 12
WRITERS = 8


def say(message: str) -> None:
    print(f"[retrain-scale] {message}", file=sys.stderr, flush=True)


def bank_frame() -> Any:
    import pandas as pd

    from propensity.config import load_model_config

    config = load_model_config(MODEL)
    raw = gzip.decompress(BASE_DATASET.read_bytes())
    return pd.read_csv(io.BytesIO(raw), sep=config.dataset.delimiter)


def bank_rows(n: int, seed: int) -> tuple[list[dict[str, Any]], list[int]]:
    """``n`` rows of the bank dataset drawn with replacement: features and 0/1 labels."""
    from propensity.config import load_model_config

    config = load_model_config(MODEL)
    drawn = bank_frame().sample(n, replace=True, random_state=seed).astype(object)
    target = config.target.column
    labels = [int(str(v) == str(config.target.positive)) for v in drawn[target]]
    features = drawn[list(config.features.all)].to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in features], labels


def scaled_base(factor: int, seed: int) -> tuple[bytes, str, int]:
    """The bank dataset resampled to ``factor`` × its rows (with replacement, fixed seed): the
    gzipped CSV, the SHA-256 of the CSV (what the config pins) and the rows."""
    from propensity.config import load_model_config

    config = load_model_config(MODEL)
    frame = bank_frame()
    drawn = frame.sample(len(frame) * factor, replace=True, random_state=seed)
    csv = drawn.to_csv(index=False, sep=config.dataset.delimiter).encode()
    return gzip.compress(csv, compresslevel=1), hashlib.sha256(csv).hexdigest(), len(drawn)


def fill(
    db: Any, table: str, first: int, rows: Sequence[dict[str, Any]], labels: Sequence[int]
) -> None:
    """Rows numbered ``first``.., as the feedback function stores them, then the counter:
    BatchWriteItem of 12 rows (24 items) from 8 threads, unprocessed items sent again."""
    from propensity.adapters.feedback_items import COUNTER, feedback_item, sequence_item
    from propensity.records import FeedbackRecord

    def put(start: int) -> None:
        requests = []
        for offset in range(start, min(start + BATCH_ROWS, len(rows))):
            seq = first + offset
            record = FeedbackRecord(
                f"bench{seq:09d}",
                MODEL,
                labels[offset],
                rows[offset],
                f"2026-11-{1 + seq % 28:02d}T10:00:00.000+00:00",
                subject=f"client-{seq % 40}",
            )
            for item in (
                feedback_item(record, seq=seq, expires_at=None),
                sequence_item(MODEL, record.feedback_id, seq=seq, expires_at=None),
            ):
                requests.append({"PutRequest": {"Item": item}})
        pending: dict[str, Any] = {table: requests}
        while pending:
            pending = db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}

    started, step = time.perf_counter(), 100_000
    with ThreadPoolExecutor(max_workers=WRITERS) as pool:
        for done, _ in enumerate(pool.map(put, range(0, len(rows), BATCH_ROWS)), 1):
            if done * BATCH_ROWS % step < BATCH_ROWS and len(rows) >= 2 * step:
                rate = done * BATCH_ROWS / (time.perf_counter() - started)
                say(f"  {done * BATCH_ROWS:,} of {len(rows):,} rows written ({rate:,.0f}/s)")
    db.update_item(
        TableName=table,
        Key={"model": {"S": MODEL}, "item": {"S": COUNTER}},
        UpdateExpression="ADD pending :n, #t :n SET #s = :last",
        ExpressionAttributeNames={"#t": "total", "#s": "seq"},
        ExpressionAttributeValues={
            ":n": {"N": str(len(rows))},
            ":last": {"N": str(first + len(rows) - 1)},
        },
    )


@dataclass
class Point:
    """One point's stores: the boto3 clients, the names, the environment for the children."""

    db: Any
    s3: Any
    env: dict[str, str]
    bucket: str
    table: str


@contextmanager
def stores(v1: Any, base: tuple[str, bytes] | None = None) -> Iterator[Point]:
    """Fresh stores with v1 as champion and the base dataset (``base``: its source name and
    gzipped bytes; the shipped one when None)."""
    import boto3
    from moto.server import ThreadedMotoServer

    from propensity.adapters.object_store import ObjectStore
    from propensity.adapters.registry import DynamoRegistry
    from propensity.local.dynamodb_local import DynamoDBLocal
    from propensity.local.processes import free_port
    from propensity.local.template import Stack

    ddb = DynamoDBLocal()
    s3_port = free_port()
    s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3_server.start()
    # moto's backends live in this process, not in the server: without a reset the bucket of the
    # previous point (its snapshot too) would still be there.
    urllib.request.urlopen(
        urllib.request.Request(f"http://127.0.0.1:{s3_port}/moto-api/reset", method="POST")
    ).close()
    try:
        endpoint = ddb.wait()
        env = {
            **REGION_ENV,
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_ENDPOINT_URL_S3": f"http://127.0.0.1:{s3_port}",
        }
        os.environ.update(env)
        stack = Stack()
        db, s3 = boto3.client("dynamodb"), boto3.client("s3")
        # DynamoDB Local has no point-in-time recovery API: that backup setting is skipped.
        db.meta.events.register("before-call.dynamodb.UpdateContinuousBackups", _no_backups)
        stack.create_resources(db, s3)
        env.update(stack.functions()["RetrainFunction"].environment)
        os.environ.update(env)
        bucket, table = stack.names["ArtifactsBucket"], stack.names["FeedbackTable"]
        source, body = base or ("bank-full.csv.gz", BASE_DATASET.read_bytes())
        s3.put_object(Bucket=bucket, Key=f"datasets/{source}", Body=body)
        _publish_v1(v1, DynamoRegistry(stack.names["RegistryTable"]), ObjectStore(bucket))
        yield Point(db, s3, env, bucket, table)
    finally:
        s3_server.stop()
        ddb.stop()


class _Accepted:
    status_code = 200
    headers: dict[str, str] = {}  # noqa: RUF012 (a stand-in HTTP response)


def _no_backups(**_: Any) -> Any:
    """A before-call answer (botocore sends nothing): DynamoDB Local has no PITR API."""
    return _Accepted(), {}


def _publish_v1(v1: Any, registry: Any, objects: Any) -> None:
    from propensity.clock import now_iso
    from propensity.config import load_model_config
    from propensity.service.publication import Publisher
    from propensity.training.candidate import candidate_from

    Publisher(registry, objects, clock=now_iso).publish(
        load_model_config(MODEL), candidate_from(v1), trigger="bootstrap"
    )


def run_child(mode: str, env: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our interpreter, fixed arguments)
        [sys.executable, "-m", "bench.retrain_scale_child", mode],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env={**os.environ, **env},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} retrain failed:\n{done.stderr[-3000:]}")
    sample: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    sample["process_s"] = time.perf_counter() - started
    return sample
