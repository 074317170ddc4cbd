"""``LocalStack``: the whole template running locally, for ``make run`` and tests.

Start-up, in the order a deployment would bring things up: the backends (moto in memory, or
with ``state_dir`` DynamoDB Local and s3rver on disk), the template's tables and bucket (kept
when they exist), the shipped datasets under ``datasets/`` (when missing or changed), the
stream mappings (LATEST from here, or from their saved positions), the first model versions
(the retrain function's ``{"trigger": "bootstrap"}``, which trains only models without a
champion), then the schedules and the HTTP API. ``stop()`` undoes all of it, including
``os.environ``; on disk, the state stays for the next start.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from propensity.local.backends import (
    Backends,
    InMemoryBackends,
    OnDiskBackends,
    on_disk_environment,
)
from propensity.local.emulator import emulator_environment
from propensity.local.runtime import EnvironmentPatch, LocalFunctions
from propensity.local.schedules import Scheduler, schedule_rules, schedule_seconds_from_env
from propensity.local.server import (
    DEFAULT_PORT,
    LocalHttpApi,
    LocalHttpServer,
    route_specificity,
)
from propensity.local.state import LocalState, running_endpoints
from propensity.local.streams import Delivery, StreamPoller
from propensity.local.template import REPO_ROOT, Stack
from propensity.service.admin_auth import ALL_MODELS, AdminAuthenticator
from propensity.service.tokens import audience

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = logging.getLogger("propensity-local")

DATA_DIR = REPO_ROOT / "data"
DATASETS_PREFIX = "datasets/"
BOOTSTRAP_EVENT = {"trigger": "bootstrap"}
FEEDBACK_TOKEN_SECONDS = 12 * 3600  # a demo session's worth


def upload_datasets(s3: S3Client, bucket: str, data_dir: Path = DATA_DIR) -> list[str]:
    """Put each shipped dataset under ``datasets/`` unless the same bytes are there already
    (both S3 servers give a single-part object's MD5 as its ETag); the keys written."""
    keys = []
    for path in sorted(data_dir.glob("*.csv.gz")):
        key = DATASETS_PREFIX + path.name
        body = path.read_bytes()
        if _stored_etag(s3, bucket, key) == hashlib.md5(body, usedforsecurity=False).hexdigest():
            continue
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/gzip")
        keys.append(key)
    return keys


def _stored_etag(s3: S3Client, bucket: str, key: str) -> str | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


class LocalStack:
    """The template, run locally. Use as a context manager; ``port=0`` picks a free port."""

    def __init__(
        self,
        *,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        emulator_port: int = 0,
        emulator_url: str | None = None,
        schedule_seconds: float | None = None,
        bootstrap: bool = True,
        serve_http: bool = True,
        poll_streams: bool = True,
        run_schedules: bool = True,
        stack: Stack | None = None,
        data_dir: Path = DATA_DIR,
        quiet: bool = False,
        state_dir: Path | None = None,
        fresh: bool = False,
        function_processes: bool = False,
        attach_state: Path | None = None,
    ) -> None:
        self.stack = stack or Stack()
        self.port = port
        self.host = host
        self.emulator_port = emulator_port
        self.external_emulator_url = emulator_url  # reuse a running stack's emulator
        self.attach_state = attach_state  # or a running on-disk stack's DynamoDB and S3
        self.schedule_seconds = schedule_seconds
        self.bootstrap = bootstrap
        self.serve_http = serve_http
        self.poll_streams = poll_streams
        self.run_schedules = run_schedules
        self.data_dir = data_dir
        self.quiet = quiet
        # On disk when given (``make run``); ``fresh`` deletes that state first.
        self.state = LocalState(state_dir) if state_dir is not None else None
        self.fresh = fresh
        # Each function in a process of its own, as Lambda runs them (``make run``): a training
        # run then cannot hold up the HTTP API. Off by default: tests reach into the handlers.
        self.function_processes = function_processes
        self.backends: Backends | None = None
        self.emulator_url: str | None = None  # moto's URL (in memory only)
        self.functions: LocalFunctions | None = None
        self.poller: StreamPoller | None = None
        self.scheduler: Scheduler | None = None
        self.http: LocalHttpServer | None = None
        self.bootstrap_result: Any = None
        self.startup_seconds: float | None = None
        self._env = EnvironmentPatch()
        self._started = False
        self.admin_token = ""
        self.admin_token_generated = False
        self.feedback_token = ""

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        import boto3  # after the environment points at the emulator

        started = time.perf_counter()
        if self.external_emulator_url:
            self.emulator_url = self.external_emulator_url
            self._env.set(emulator_environment(self.emulator_url))
        elif self.attach_state is not None:
            self._env.set(on_disk_environment(running_endpoints(self.attach_state)))
        elif self.state is not None:
            if self.fresh:
                self.state.wipe()
            self.state.open()
            self.backends = OnDiskBackends(self.state)
            self._env.set(self.backends.environment())
        else:
            memory = InMemoryBackends(self.emulator_port)
            self.backends, self.emulator_url = memory, memory.emulator.url
            self._env.set(memory.environment())
        # boto3's default session keeps the credentials it first resolved: a new one reads
        # these (s3rver knows one access key only), here and in handlers run on threads.
        boto3.setup_default_session()
        self._started = True
        # The admin routes check a bearer token against ADMIN_TOKEN; make one when unset (on
        # disk, once: tokens minted from it before a restart keep working after it).
        self.admin_token_generated = not os.environ.get("ADMIN_TOKEN")
        self.admin_token = os.environ.get("ADMIN_TOKEN") or (
            self.state.admin_token() if self.state is not None else secrets.token_urlsafe(32)
        )
        self._env.set({"ADMIN_TOKEN": self.admin_token})
        # What the banner offers for the dashboard's feedback buttons and curl.
        self.feedback_token = AdminAuthenticator(
            self.admin_token, audience=audience(self.stack.parameters.get("Stage", "dev"))
        ).issue("local-demo", FEEDBACK_TOKEN_SECONDS, ALL_MODELS, scope="feedback")
        dynamodb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        if self.external_emulator_url is None and self.attach_state is None:
            created = self.stack.create_resources(dynamodb, s3)
            uploaded = upload_datasets(s3, self.stack.names["ArtifactsBucket"], self.data_dir)
            self._say(
                f"resources ready in {time.perf_counter() - started:.1f} s: "
                f"{', '.join(created.made) or 'none'} made, {len(created.kept)} kept, "
                f"{len(uploaded)} dataset(s) uploaded"
            )
            for missing in created.not_emulated:
                self._say(f"not emulated here: {missing}")
        self.functions = LocalFunctions(
            self.stack,
            processes=self.stack.functions() if self.function_processes else (),
        )
        if self.poll_streams:
            self.poller = StreamPoller(
                self.stack,
                self.functions.invoke,
                dynamodb=dynamodb,
                streams=boto3.client("dynamodbstreams"),
                function_arns={
                    f: self.functions.context(f).invoked_function_arn
                    for f in self.functions.logical_ids
                },
                saved=self.state.stream_positions() if self.state is not None else None,
                on_positions=self.state.save_stream_positions if self.state is not None else None,
            )
            self.poller.start_positions()  # LATEST as of "deployment", before anything writes
        if self.bootstrap:
            t0 = time.perf_counter()
            self._say('bootstrapping models (RetrainFunction {"trigger": "bootstrap"}) …')
            self.bootstrap_result = self.functions.invoke("RetrainFunction", dict(BOOTSTRAP_EVENT))
            outcomes = _outcomes(self.bootstrap_result)
            self._say(f"bootstrap done in {time.perf_counter() - t0:.1f} s: {outcomes}")
        if self.poller is not None:
            self.poller.start()
        if self.run_schedules:
            override = (
                self.schedule_seconds
                if self.schedule_seconds is not None
                else schedule_seconds_from_env()
            )
            self.scheduler = Scheduler(
                schedule_rules(self.stack), self.functions.invoke, override_seconds=override
            )
            self.scheduler.start()
        if self.serve_http:
            api = LocalHttpApi(self.stack, self.functions.invoke)
            self.http = LocalHttpServer(api, self.host, self.port, quiet=self.quiet)
            self.http.start()
        self.startup_seconds = time.perf_counter() - started

    def stop(self) -> None:
        if self.http is not None:
            self.http.stop()
            self.http = None
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self.poller is not None:
            self.poller.stop()
        if self.functions is not None:
            self.functions.close()
            self.functions = None
        if self.backends is not None:
            self.backends.stop()
            self.backends = None
        if self.state is not None:
            self.state.close()
        self._env.restore()
        if self._started:
            import boto3

            boto3.setup_default_session()  # and after, the restored environment's again
        self._started = False

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- use -----------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the HTTP API (routes answer with and without the ``/<stage>`` prefix)."""
        if self.http is None:
            raise RuntimeError("the HTTP API is not running")
        return self.http.url

    @property
    def stage_url(self) -> str:
        stage = self.stack.stage()
        return self.url if stage == "$default" else f"{self.url}/{stage}"

    def invoke(self, function: str, event: Any) -> Any:
        if self.functions is None:
            raise RuntimeError("the stack is not running")
        return self.functions.invoke(function, event)

    def drain_streams(self) -> list[Delivery]:
        """Deliver every pending stream record now (tests use this instead of sleeping)."""
        if self.poller is None:
            raise RuntimeError("stream polling is off")
        return self.poller.drain()

    def banner(self) -> str:
        routes = sorted(self.stack.http_routes(), key=route_specificity)
        width = max(len(r.route_key) for r in routes) if routes else 0
        # localhost, not 127.0.0.1: it is the origin the template's CORS configuration allows.
        url = self.url.replace("//127.0.0.1:", "//localhost:")
        stage = self.stack.stage()
        lines = [
            f"propensity local stack (stage {stage!r}); {self._where()}",
            f"HTTP API: {url}  (also under {url}/{stage}, as in AWS)",
            (
                f"admin token (generated; set ADMIN_TOKEN to choose): {self.admin_token}"
                if self.admin_token_generated
                else "admin token: the ADMIN_TOKEN you set"
            ),
            "routes:",
            *(f"  {r.route_key:<{width}}  -> {r.function}" for r in routes),
        ]
        if self.poller is not None:
            for source in self.stack.stream_sources():
                lines.append(
                    f"stream: {source.table} -> {source.function} (batch {source.batch_size})"
                )
        if self.scheduler is not None:
            for rule, interval in self.scheduler.plan:
                lines.append(
                    f"schedule: {rule.expression} -> {rule.function}, locally every {interval:g} s"
                )
        lines += [
            "try:",
            f"  curl -s -X POST {url}/models/bank/predict \\",
            "    -H 'content-type: application/json' \\",
            '    -d \'{"features": {"age": 45, "job": "technician", "balance": 1200}}\'',
            f"  curl -s {url}/models   |   open {url}/docs",
            *self._feedback_help(url),
            "Ctrl-C stops.",
        ]
        return "\n".join(lines)

    def _where(self) -> str:
        if self.backends is not None:
            return self.backends.describe()
        if self.attach_state is not None:
            return f"the stack running on {self.attach_state}"
        return f"emulator {self.emulator_url} (another stack's)"

    def _feedback_help(self, url: str) -> list[str]:
        if self.stack.parameters.get("FeedbackAuth") == "off":
            return ["feedback is open (FeedbackAuth=off): stored as sent by 'anonymous'"]
        hours = FEEDBACK_TOKEN_SECONDS // 3600
        return [
            f"feedback needs a credential; a feedback token for 'local-demo' ({hours} h), also for",
            "the dashboard's Credential field:",
            f"  {self.feedback_token}",
            f"  curl -s -X POST {url}/models/bank/feedback \\",
            f"    -H 'content-type: application/json' -H 'X-Admin-Token: {self.feedback_token}' \\",
            '    -d \'{"prediction_id": "<prediction_id from predict>", "y": 1}\'',
            "  more: ADMIN_TOKEN=<admin> propensity admin-token --scope feedback --subject you \\",
            "    --model bank   (or --all-models; at most 24 h: --ttl 86400)",
        ]

    def run_forever(self) -> None:
        """Block until Ctrl-C or SIGTERM, then stop cleanly."""
        stopping = threading.Event()

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stopping.set()

        # SIGINT too: a shell starting us in the background ignores it, which would make
        # Ctrl-C (or `kill -INT`) do nothing. The previous handlers come back before stop(),
        # so a second Ctrl-C interrupts a slow shutdown.
        previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not stopping.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._say("stopping …")
            self.stop()

    def _say(self, message: str) -> None:
        if not self.quiet:
            print(f"[local] {message}", file=sys.stderr, flush=True)


def _outcomes(result: Any) -> str:
    if not isinstance(result, dict):
        return repr(result)
    outcomes = result.get("outcomes") or []
    if not outcomes:
        return str(result.get("status", result))
    return ", ".join(
        f"{o['model']} {o['version']} {'promoted' if o['promoted'] else 'rejected'}"
        for o in outcomes
    )


@contextmanager
def running_stack(**kwargs: Any) -> Iterator[LocalStack]:
    with LocalStack(**kwargs) as stack:
        yield stack
