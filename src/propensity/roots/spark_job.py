"""The Spark training job: ``python -m propensity.roots.spark_job --bucket B --request P``.

EMR Serverless runs it (spark-submit's entry point) for a retrain the function submitted; tests
run ``run_job`` in-process on a local session. It reads the request the function stored
(``service.spark_requests``: config, base data by location and SHA-256, screened feedback,
uploads, comparators), trains with ``SparkTrainer`` (fit, compile, parity on every row,
evaluation on the gate's held-out split), and writes the candidate back for the completion
event to publish. A failure exits non-zero: EMR reports the run FAILED with the reason.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Sequence

from pyspark.sql import SparkSession

from propensity.adapters.datasets import BucketDatasets
from propensity.adapters.object_store import ObjectStore
from propensity.records import Candidate
from propensity.scoring import Scorer
from propensity.service.artifacts import load_verified
from propensity.service.ports import ArtifactStore, DatasetStore
from propensity.service.spark_requests import read_request, write_candidate
from propensity.training.spark.trainer import SparkTrainer, spark_session

log = logging.getLogger("propensity.spark_job")


def run_job(
    store: ArtifactStore, datasets: DatasetStore, prefix: str, spark: SparkSession
) -> Candidate:
    """Train the version requested under ``prefix`` and store its candidate there."""
    request = read_request(store, datasets, prefix)
    comparators = {
        name: Scorer.from_json(load_verified(store, key, sha256))
        for name, (key, sha256) in request.comparators.items()
    }
    started = time.perf_counter()
    candidate = SparkTrainer(spark).train(
        request.config, request.data, version=request.version, comparators=comparators
    )
    log.info(
        "%s %s trained in %.1f s; parity %s",
        request.config.name,
        request.version,
        time.perf_counter() - started,
        candidate.evidence.get("parity"),
    )
    write_candidate(store, prefix, candidate)
    return candidate


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bucket", required=True, help="the stack's artifacts bucket")
    parser.add_argument("--request", required=True, help="the job's key prefix (spark-jobs/…)")
    parser.add_argument("--datasets-prefix", default="datasets/")
    parser.add_argument("--master", default=None, help="e.g. local[2]; EMR sets its own")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    store = ObjectStore(args.bucket)
    spark = spark_session(args.master)
    try:
        run_job(store, BucketDatasets(store, args.datasets_prefix), args.request, spark)
    finally:
        spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
