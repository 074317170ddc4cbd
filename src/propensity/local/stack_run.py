"""``LocalStack``: the whole template running in this process, for ``make run`` and tests.

Start-up, in the order a deployment would bring things up: the emulator, the template's tables
and bucket, the shipped datasets under ``datasets/``, the stream mappings (LATEST from here),
the first model versions (the retrain function's ``{"trigger": "bootstrap"}``), then the
schedules and the HTTP API. ``stop()`` undoes all of it, including ``os.environ``.
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import signal
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any

from propensity.local.emulator import Emulator
from propensity.local.events import rule_arn, schedule_delivery
from propensity.local.runtime import EnvironmentPatch, LocalFunctions
from propensity.local.server import (
    DEFAULT_PORT,
    LocalHttpApi,
    LocalHttpServer,
    route_specificity,
)
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
SCHEDULE_SECONDS_ENV = "LOCAL_SCHEDULE_SECONDS"
FEEDBACK_TOKEN_SECONDS = 12 * 3600  # a demo session's worth

# --- schedules ----------------------------------------------------------------------------

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}


def schedule_interval_seconds(expression: str) -> float | None:
    """Seconds between runs of ``rate(...)``; None for ``cron(...)`` (not emulated).

    EventBridge wants the singular unit for 1 and the plural otherwise (``rate(1 day)``,
    ``rate(5 minutes)``); anything else is refused, as the deployment would refuse it.
    """
    expression = expression.strip()
    if expression.startswith("cron(") and expression.endswith(")"):
        return None
    found = _RATE.match(expression)
    if found is None:
        raise ValueError(f"not a schedule expression: {expression!r}")
    value, unit = int(found.group(1)), found.group(2)
    if value < 1 or (value == 1) != (not unit.endswith("s")):
        raise ValueError(
            f"{expression!r}: use rate(1 {unit.rstrip('s')}) or rate(N {unit.rstrip('s')}s)"
        )
    return float(value * _UNIT_SECONDS[unit.rstrip("s")])


@dataclass(frozen=True)
class ScheduleRule:
    """One ``Type: Schedule`` event: what runs, how often, and what it receives."""

    function: str
    event_name: str
    expression: str
    input_json: str | None  # the target's Input; None means the scheduled-event envelope
    enabled: bool

    @property
    def rule_name(self) -> str:
        return f"propensity-local-{self.function}{self.event_name}"

    def delivery(self) -> Any:
        return schedule_delivery(self.input_json, rule_arn(self.rule_name))


def schedule_rules(stack: Stack) -> list[ScheduleRule]:
    """The template's schedule events. Read from the resources rather than
    ``stack.schedules()`` because that drops the event name, ``Enabled`` and whether ``Input``
    was set at all (an absent Input delivers the envelope, ``Input: '{}'`` delivers ``{}``)."""
    rules = []
    for logical_id, resource in stack.resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        for name, event in resource.get("Properties", {}).get("Events", {}).items():
            if event.get("Type") != "Schedule":
                continue
            props = stack.resolve(event.get("Properties", {}))
            raw_input = props.get("Input")
            rules.append(
                ScheduleRule(
                    function=logical_id,
                    event_name=name,
                    expression=str(props["Schedule"]),
                    input_json=None if raw_input is None else str(raw_input),
                    enabled=str(props.get("Enabled", True)).lower() != "false",
                )
            )
    return rules


class Scheduler:
    """Fires each enabled rule every interval (its rate, or the local override) on a thread."""

    def __init__(
        self,
        rules: list[ScheduleRule],
        invoke: Callable[[str, Any], Any],
        *,
        override_seconds: float | None = None,
    ) -> None:
        self._invoke = invoke
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.fired: list[tuple[str, Any]] = []  # (rule name, delivered event)
        self.plan: list[tuple[ScheduleRule, float]] = []
        for rule in rules:
            if not rule.enabled:
                log.info("schedule %s is disabled in the template", rule.rule_name)
                continue
            interval = schedule_interval_seconds(rule.expression)
            if interval is None and override_seconds is None:
                log.warning(
                    "schedule %s: %s is not emulated locally (set %s or --schedule-seconds)",
                    rule.rule_name,
                    rule.expression,
                    SCHEDULE_SECONDS_ENV,
                )
                continue
            if override_seconds is not None:
                interval = override_seconds
            assert interval is not None
            self.plan.append((rule, interval))

    def fire(self, rule: ScheduleRule) -> Any:
        event = rule.delivery()
        self.fired.append((rule.rule_name, event))
        log.info("schedule %s -> %s %s", rule.rule_name, rule.function, json.dumps(event))
        return self._invoke(rule.function, event)

    def start(self) -> None:
        if self.plan and self._thread is None:
            self._thread = threading.Thread(target=self._run, name="scheduler", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        # Like EventBridge, the first run comes one interval after the rule is created.
        due = {rule.rule_name: time.monotonic() + interval for rule, interval in self.plan}
        while not self._stop.is_set():
            now = time.monotonic()
            for rule, interval in self.plan:
                if now >= due[rule.rule_name]:
                    due[rule.rule_name] = now + interval
                    try:
                        self.fire(rule)
                    except Exception:  # noqa: BLE001 (a failed run is logged, the next one still comes)
                        log.error("schedule %s failed:\n%s", rule.rule_name, traceback.format_exc())
            self._stop.wait(max(0.05, min(due.values()) - time.monotonic()))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)


def schedule_seconds_from_env() -> float | None:
    value = os.environ.get(SCHEDULE_SECONDS_ENV, "").strip()
    return float(value) if value else None


# --- the stack ----------------------------------------------------------------------------


def upload_datasets(s3: S3Client, bucket: str, data_dir: Path = DATA_DIR) -> list[str]:
    keys = []
    for path in sorted(data_dir.glob("*.csv.gz")):
        key = DATASETS_PREFIX + path.name
        s3.put_object(
            Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType="application/gzip"
        )
        keys.append(key)
    return keys


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
    ) -> None:
        self.stack = stack or Stack()
        self.port = port
        self.host = host
        self.emulator_port = emulator_port
        self.external_emulator_url = emulator_url  # reuse a running stack's emulator
        self.schedule_seconds = schedule_seconds
        self.bootstrap = bootstrap
        self.serve_http = serve_http
        self.poll_streams = poll_streams
        self.run_schedules = run_schedules
        self.data_dir = data_dir
        self.quiet = quiet
        self.emulator: Emulator | None = None
        self.emulator_url: str | None = None
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
            from propensity.local.emulator import emulator_environment

            self._env.set(emulator_environment(self.emulator_url))
        else:
            self.emulator = Emulator(self.emulator_port).start()
            self.emulator_url = self.emulator.url
            self._env.set(self.emulator.environment())
        self._started = True
        # The admin routes check a bearer token against ADMIN_TOKEN; make one when unset.
        self.admin_token_generated = not os.environ.get("ADMIN_TOKEN")
        self.admin_token = os.environ.get("ADMIN_TOKEN") or secrets.token_urlsafe(32)
        self._env.set({"ADMIN_TOKEN": self.admin_token})
        # What the banner offers for the dashboard's feedback buttons and curl.
        self.feedback_token = AdminAuthenticator(
            self.admin_token, audience=audience(self.stack.parameters.get("Stage", "dev"))
        ).issue("local-demo", FEEDBACK_TOKEN_SECONDS, ALL_MODELS, scope="feedback")
        dynamodb = boto3.client("dynamodb")
        s3 = boto3.client("s3")
        if self.external_emulator_url is None:
            self.stack.create_resources(dynamodb, s3)
            upload_datasets(s3, self.stack.names["ArtifactsBucket"], self.data_dir)
            self._say(f"resources created in {time.perf_counter() - started:.1f} s")
        self.functions = LocalFunctions(self.stack)
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
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        self._env.restore()
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
            f"propensity local stack (stage {stage!r}); emulator {self.emulator_url}",
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
