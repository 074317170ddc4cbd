"""``propensity serve`` (``make run``) and ``propensity invoke`` (our ``sam local invoke``)."""

from __future__ import annotations

import json
import logging
import os
import sys
import time
import traceback
from collections.abc import Mapping
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from propensity.local.events import decode_http_body
from propensity.local.processes import BackingServiceError
from propensity.local.server import DEFAULT_PORT

EXIT_OK, EXIT_FUNCTION_ERROR, EXIT_BAD_INPUT = 0, 1, 2


def configure_logging(level: int = logging.INFO) -> None:
    """Plain lines on stderr for the local tooling (the handlers log JSON on stdout)."""
    logger = logging.getLogger("propensity-local")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[local] %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


def default_port() -> int:
    value = os.environ.get("PORT", "").strip()
    return int(value) if value else DEFAULT_PORT


def serve(
    *,
    port: int | None = None,
    host: str = "127.0.0.1",
    schedule_seconds: float | None = None,
    emulator_port: int = 0,
    bootstrap: bool = True,
    retrain_min_feedback: int = 20,
    feedback_auth: str = "required",
    parameter_overrides: Mapping[str, str] | None = None,
    state_dir: Path | None = None,
    fresh: bool = False,
) -> int:
    """Run the stack until Ctrl-C: on disk under ``state_dir`` (kept across restarts; ``fresh``
    starts it over), or in moto's memory when ``state_dir`` is None. Each function runs in a
    process of its own, so a retrain never holds up the HTTP API."""
    from propensity.local.stack_run import LocalStack
    from propensity.local.state import StateError
    from propensity.local.template import Stack

    configure_logging()
    # The flags set the demo's defaults; --parameter-overrides has the last word, as in SAM.
    parameters = {
        "RetrainMinFeedback": str(retrain_min_feedback),
        "FeedbackAuth": feedback_auth,
        **(parameter_overrides or {}),
    }
    try:
        template_stack = Stack(parameters=parameters)
    except ValueError as exc:
        print(f"propensity serve: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    stack = LocalStack(
        stack=template_stack,
        port=default_port() if port is None else port,
        host=host,
        emulator_port=emulator_port,
        schedule_seconds=schedule_seconds,
        bootstrap=bootstrap,
        state_dir=state_dir,
        fresh=fresh,
        function_processes=True,
    )
    try:
        stack.start()
    except (OSError, StateError, BackingServiceError) as exc:
        print(f"propensity serve: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        return EXIT_OK
    print(stack.banner(), flush=True)
    print(f"[local] ready in {stack.startup_seconds or 0:.1f} s", file=sys.stderr, flush=True)
    stack.run_forever()
    return EXIT_OK


def _is_http_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and "requestContext" in event


def invoke(
    function: str,
    event_file: Path,
    *,
    emulator_url: str | None = None,
    running_state: Path | None = None,
    bootstrap: bool | None = None,
    feedback_auth: str = "required",
) -> int:
    """Invoke one function's handler with an event file and print its result.

    Default: a fresh in-process stack (emulator, template resources, datasets and, unless the
    event is itself the bootstrap, the first model versions). With ``running_state`` (a
    running ``make run``'s state folder) or ``emulator_url`` (a running ``propensity serve
    --ephemeral``'s emulator) the handler runs against that stack's data instead.
    Handler logs go to stderr, the result (JSON) to stdout, as ``sam local invoke`` does.
    """
    from propensity.local.stack_run import BOOTSTRAP_EVENT, LocalStack
    from propensity.local.template import Stack

    try:
        event = json.loads(event_file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"propensity invoke: error: {event_file}: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    template_stack = Stack(parameters={"FeedbackAuth": feedback_auth})
    if function not in template_stack.functions():
        known = ", ".join(sorted(template_stack.functions()))
        print(
            f"propensity invoke: error: no function {function!r} (known: {known})", file=sys.stderr
        )
        return EXIT_BAD_INPUT
    if bootstrap is None:
        # The bootstrap event does the bootstrap itself; a running stack is bootstrapped.
        attached = emulator_url is not None or running_state is not None
        bootstrap = not attached and not (
            function == "RetrainFunction" and event == BOOTSTRAP_EVENT
        )

    configure_logging()
    real_stdout = sys.stdout
    result: Any = None
    error: BaseException | None = None
    started = time.perf_counter()
    # Everything the stack and the handler print (powertools logs, EMF metrics) goes to stderr.
    with redirect_stdout(sys.stderr):
        stack = LocalStack(
            stack=template_stack,
            emulator_url=emulator_url,
            attach_state=running_state,
            bootstrap=bootstrap,
            serve_http=False,
            poll_streams=False,
            run_schedules=False,
        )
        with stack:
            try:
                result = stack.invoke(function, event)
            except Exception as exc:  # noqa: BLE001 (reported like Lambda's function error)
                error = exc
                traceback.print_exc()
    elapsed = time.perf_counter() - started
    if error is not None:
        payload = {
            "errorMessage": str(error),
            "errorType": type(error).__name__,
            "stackTrace": traceback.format_tb(error.__traceback__),
        }
        print(json.dumps(payload, indent=2), file=real_stdout)
        return EXIT_FUNCTION_ERROR
    print(json.dumps(result, indent=2, default=str), file=real_stdout, flush=True)
    if _is_http_event(event) and isinstance(result, dict) and "statusCode" in result:
        body = decode_http_body(result)
        try:
            shown = json.dumps(json.loads(body), indent=2)
        except ValueError:
            shown = body.decode("utf-8", errors="replace")
        print(f"[local] decoded body (status {result['statusCode']}):\n{shown}", file=sys.stderr)
    print(
        f"[local] {function} invoked in {elapsed:.1f} s (including stack start-up)", file=sys.stderr
    )
    return EXIT_OK
