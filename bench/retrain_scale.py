"""``python -m bench.run --only retrain-scale``: a retrain's cost as the feedback grows.

For each N (10k and 100k; 1M with ``--scale-1m``), a fresh DynamoDB Local (AWS's engine) and
moto server hold the template's tables and bucket, with bank's v1 as champion and N feedback
rows resampled from the bank dataset (with replacement, fixed seed), written as the feedback
function writes them (items numbered in commit order, with their ``SEQ#`` pointers). Then, each
retrain in its own process, through the retrain function's wiring:

1. ``table``: the feedback read in full from DynamoDB (the design before training snapshots);
2. ``snapshot-first``: the first retrain with a snapshot: reads every item once, writes parts;
3. ``snapshot-next``: after 1 % more feedback arrived: reads only those, plus the parts;
4. ``table-next``: the full read again, at the same N + 1 %.

Measured per retrain: wall time of ``retrain()``, peak resident memory (VmHWM of the child),
feedback-table items DynamoDB returned and the read capacity it reports consumed (every
Query/GetItem/BatchGetItem asks for ``ReturnConsumedCapacity``), S3 bytes read. A tool, not a
test: it never asserts. Writes ``retrain_scale.{json,md,png}`` into the output directory.
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
MODEL = "bank"
SIZES = (10_000, 100_000)
MODES = ("table", "snapshot-first", "snapshot-next", "table-next")
NEW_SHARE = 0.01
SEED = 17
REGION_ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_NAMESPACE": "bench",
}


def say(message: str) -> None:
    print(f"[retrain-scale] {message}", file=sys.stderr, flush=True)


# --- the parent: a stack per N, feedback, the four retrains -----------------------------------
def bank_rows(n: int, seed: int) -> tuple[list[dict[str, Any]], list[int]]:
    """``n`` rows of the bank dataset drawn with replacement: features and 0/1 labels."""
    import pandas as pd

    from propensity.config import load_model_config

    config = load_model_config(MODEL)
    raw = gzip.decompress((REPO / "data" / "bank-full.csv.gz").read_bytes())
    frame = pd.read_csv(io.BytesIO(raw), sep=config.dataset.delimiter)
    drawn = frame.sample(n, replace=True, random_state=seed).astype(object)
    target = config.target.column
    labels = [int(str(v) == str(config.target.positive)) for v in drawn[target]]
    features = drawn[list(config.features.all)].to_dict("records")
    return [{str(k): v for k, v in row.items()} for row in features], labels


def fill(
    db: Any, table: str, first: int, rows: Sequence[dict[str, Any]], labels: Sequence[int]
) -> None:
    """Rows numbered ``first``.., as the feedback function stores them, then the counter."""
    from propensity.adapters.feedback_items import COUNTER, feedback_item, sequence_item
    from propensity.records import FeedbackRecord

    def put(start: int) -> None:
        requests = []
        for offset in range(start, min(start + 12, len(rows))):
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

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(put, range(0, len(rows), 12)))
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


def measure_size(n: int, v1: Any) -> list[dict[str, Any]]:
    import boto3
    from moto.server import ThreadedMotoServer
    from tests.reliability.storage.dynamodb_local import DynamoDBLocal, free_port

    from propensity.adapters.object_store import ObjectStore
    from propensity.adapters.registry import DynamoRegistry
    from propensity.local.template import Stack

    ddb = DynamoDBLocal()
    s3_port = free_port()
    s3_server = ThreadedMotoServer(ip_address="127.0.0.1", port=s3_port, verbose=False)
    s3_server.start()
    # moto's backends live in this process, not in the server: without a reset the bucket of the
    # previous size (its snapshot too) would still be there.
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
        s3.put_object(
            Bucket=bucket,
            Key="datasets/bank-full.csv.gz",
            Body=(REPO / "data" / "bank-full.csv.gz").read_bytes(),
        )
        _publish_v1(v1, DynamoRegistry(stack.names["RegistryTable"]), ObjectStore(bucket))
        new = max(100, int(n * NEW_SHARE))
        rows, labels = bank_rows(n + new, SEED)
        started = time.perf_counter()
        fill(db, table, 1, rows[:n], labels[:n])
        say(f"N={n:,}: {n:,} rows written in {time.perf_counter() - started:.0f} s")
        samples = []
        for mode in MODES:
            if mode == "snapshot-next":
                fill(db, table, n + 1, rows[n:], labels[n:])
            sample = _run_child(mode, env)
            sample["n"] = n if mode in ("table", "snapshot-first") else n + new
            sample["size"] = n
            say(
                f"N={sample['n']:,} {mode}: {sample['retrain_s']:.1f} s, "
                f"{sample['peak_rss_mib']:.0f} MiB, "
                f"{sample['dynamodb_feedback_items_read']:,} items, "
                f"{sample['s3_bytes_read'] / 1e6:.1f} MB from S3"
            )
            samples.append(sample)
        return samples
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


def _run_child(mode: str, env: dict[str, str]) -> dict[str, Any]:
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


def measure(sizes: Sequence[int], out: Path) -> dict[str, Any]:
    from propensity.config import load_model_config
    from propensity.training.dataset import load_dataset
    from propensity.training.train import train_model

    config = load_model_config(MODEL)
    frame, _ = load_dataset(config, REPO / "data")
    v1 = train_model(config, frame, version="v1")
    samples = [s for n in sizes for s in measure_size(n, v1)]
    report = {
        "how": __doc__.split("\n\n", 1)[1] if __doc__ else "",
        "new_share": NEW_SHARE,
        "seed": SEED,
        "samples": samples,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "retrain_scale.json").write_text(json.dumps(report, indent=2, default=str) + "\n")
    (out / "retrain_scale.md").write_text(markdown(report))
    plot(report, out / "retrain_scale.png")
    say(f"wrote {out / 'retrain_scale.md'}, .json and .png")
    return report


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "# Retrain at scale",
        "",
        "Generated by `python -m bench.run --only retrain-scale` (see `bench/retrain_scale.py`):",
        "each retrain in its own process, DynamoDB Local and a moto S3 server on this machine.",
        "",
        "| N feedback | mode | retrain s | peak MiB | DynamoDB feedback items read | "
        "read units | S3 MB read | rows in snapshot |",
        "|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for s in report["samples"]:
        snap = s.get("snapshot") or {}
        lines.append(
            f"| {s['n']:,} | {s['mode']} | {s['retrain_s']:.1f} | {s['peak_rss_mib']:.0f} | "
            f"{s['dynamodb_feedback_items_read']:,} | {s['dynamodb_read_units']:,.0f} | "
            f"{s['s3_bytes_read'] / 1e6:.2f} | {snap.get('rows', '–')} |"
        )
    lines += ["", report["how"].strip(), ""]
    return "\n".join(lines)


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("retrain_s", "retrain wall time (s)"),
        ("peak_rss_mib", "peak memory (MiB)"),
        ("dynamodb_feedback_items_read", "DynamoDB feedback items read"),
        ("s3_bytes_read", "S3 bytes read"),
    )
    sizes = sorted({int(s["size"]) for s in report["samples"]})
    width = 0.8 / len(MODES)
    fig, axes = plt.subplots(1, len(panels), figsize=(16, 3.8))
    for ax, (key, title) in zip(axes, panels, strict=True):
        for m, mode in enumerate(MODES):
            values = {s["size"]: s[key] for s in report["samples"] if s["mode"] == mode}
            xs = [i + (m - (len(MODES) - 1) / 2) * width for i in range(len(sizes))]
            ax.bar(xs, [values.get(n, 0) for n in sizes], width, label=mode)
        ax.set_xticks(range(len(sizes)), [f"N = {n:,}" for n in sizes])
        ax.set_title(title)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrain_scale", description=__doc__)
    parser.add_argument("--out", default=str(REPO / "bench"))
    parser.add_argument("--sizes", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--scale-1m", action="store_true", help="add N = 1,000,000 (slow)")
    args = parser.parse_args(argv)
    sizes = [*args.sizes, *([1_000_000] if args.scale_1m else [])]
    measure(sizes, Path(args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
