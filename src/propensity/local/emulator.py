"""Moto in server mode on 127.0.0.1: the local S3, DynamoDB and DynamoDB Streams endpoints.

Production code reaches it only through the standard variables boto3 reads itself
(``AWS_ENDPOINT_URL_S3`` …), so the handlers run unchanged against the emulator or AWS.
"""

from __future__ import annotations

import logging
import urllib.request
from types import TracebackType
from typing import Any

EMULATOR_HOST = "127.0.0.1"
EMULATOR_REGION = "us-east-1"
EMULATOR_ACCOUNT = "123456789012"  # moto's default account: ARNs it returns carry it
DEFAULT_METRICS_NAMESPACE = "Propensity"


def emulator_environment(
    url: str, *, metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
) -> dict[str, str]:
    """The variables that point boto3 (and powertools) at the emulator instead of AWS."""
    return local_aws_environment(s3=url, dynamodb=url, metrics_namespace=metrics_namespace)


def local_aws_environment(
    *,
    s3: str,
    dynamodb: str,
    access_key: str = "local",
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE,
) -> dict[str, str]:
    """The variables that point boto3 (and powertools) at local S3 and DynamoDB endpoints."""
    return {
        "AWS_ENDPOINT_URL_S3": s3,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        "AWS_ENDPOINT_URL_DYNAMODB_STREAMS": dynamodb,
        "AWS_DEFAULT_REGION": EMULATOR_REGION,
        # Dummy credentials, and a dummy token so a real one in the shell is never mixed in.
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": access_key,
        "AWS_SESSION_TOKEN": "local",
        # No X-Ray daemon listens locally.
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": metrics_namespace,
    }


class Emulator:
    """A ThreadedMotoServer; ``port=0`` picks a free port."""

    def __init__(self, port: int = 0, *, quiet: bool = True) -> None:
        self.requested_port = port
        self._server: Any = None
        self._url: str | None = None
        if quiet:
            # moto serves through werkzeug, which logs every request line to stderr.
            logging.getLogger("werkzeug").setLevel(logging.WARNING)

    def start(self) -> Emulator:
        from moto.server import ThreadedMotoServer  # imported here: ~0.5 s, dev-only

        server = ThreadedMotoServer(
            ip_address=EMULATOR_HOST, port=self.requested_port, verbose=False
        )
        server.start()
        host, port = server.get_host_and_port()
        self._server = server
        self._url = f"http://{host}:{port}"
        # moto keeps its state in process-wide backends: start from an empty account even if
        # an earlier stack in this process (another test module) left tables behind.
        self.reset()
        return self

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the emulator is not running; call start() first")
        return self._url

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def environment(self, *, metrics_namespace: str = DEFAULT_METRICS_NAMESPACE) -> dict[str, str]:
        return emulator_environment(self.url, metrics_namespace=metrics_namespace)

    def reset(self) -> None:
        """Drop every table, bucket and stream (moto's reset endpoint)."""
        url = f"{self.url}/moto-api/reset"  # always http://127.0.0.1:<port>
        request = urllib.request.Request(url, method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            response.read()

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        try:
            self.reset()
        finally:
            server.stop()
            # stop() shuts the loop down but leaves the listening socket open.
            inner = getattr(server, "_server", None)
            if inner is not None:
                inner.server_close()
            self._url = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
