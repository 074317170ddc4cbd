"""One function's handler in a process of its own, as Lambda runs each function apart.

The local stack runs handlers on threads of its own process by default (fast, and tests can
reach into them). A training run holds the interpreter for seconds at a time, though, and
while it did, the same process answered the HTTP API late: during bank retrains driven by
300-row feedback rounds, feedback waited 7 s at the median. So ``make run`` runs each function
in a child process: an invocation is sent to it, JSON in and JSON out as Lambda's payloads are,
and waited for up to the function's timeout; past it the process is killed, and the next
invocation starts a new one (a cold start), as Lambda does.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import sys
import threading
import traceback
from dataclasses import asdict
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from propensity.local.lambda_context import LambdaContext, load_handler


class FunctionError(RuntimeError):
    """The handler raised (its type, message and stack, as Lambda reports a function error)."""

    def __init__(self, function: str, error_type: str, message: str, stack: str) -> None:
        super().__init__(f"{function}: {error_type}: {message}")
        self.error_type = error_type
        self.stack = stack


class FunctionTimeoutError(RuntimeError):
    """The invocation ran past the function's timeout; its process was stopped."""


def _serve(connection: Connection, handler_file: str, handler_name: str, module: str) -> None:
    """The child: import the handler (init and SnapStart hooks), then answer invocations."""
    # Lambda's main thread has an event loop set; Mangum asks for it.
    asyncio.set_event_loop(asyncio.new_event_loop())
    handler, _hooks = load_handler(Path(handler_file), handler_name, module)
    while True:
        try:
            request = connection.recv()
        except EOFError:
            return
        event, context_fields = json.loads(request)
        try:
            result = handler(event, LambdaContext(**context_fields))
            reply = ["ok", json.dumps(result, default=str)]
        except BaseException as exc:  # noqa: BLE001 (handed back, like a function error)
            reply = ["error", type(exc).__name__, str(exc), traceback.format_exc()]
        connection.send(reply)


class FunctionProcess:
    """A function's child process, started on the first invocation."""

    def __init__(self, function: str, handler_file: Path, handler_name: str, module: str) -> None:
        self.function = function
        self._args = (str(handler_file), handler_name, module)
        self._lock = threading.Lock()  # one invocation at a time, as one container
        self._process: BaseProcess | None = None
        self._connection: Connection | None = None

    def _start(self) -> Connection:
        # spawn, not fork: the parent has threads (HTTP server, pollers) a fork would copy
        # mid-flight, and a clean interpreter is what a Lambda container starts from.
        context = multiprocessing.get_context("spawn")
        parent, child = context.Pipe()
        process = context.Process(
            target=_serve, args=(child, *self._args), name=f"lambda-{self.function}", daemon=True
        )
        process.start()
        child.close()
        self._process, self._connection = process, parent
        return parent

    def invoke(self, event: Any, context: LambdaContext) -> Any:
        with self._lock:
            connection = self._connection or self._start()
            connection.send(json.dumps([event, asdict(context)]))
            if not connection.poll(context.timeout_seconds):
                self._stop()
                raise FunctionTimeoutError(
                    f"{self.function} timed out after {context.timeout_seconds:g} s; its "
                    "process was stopped"
                )
            try:
                reply = connection.recv()
            except EOFError:
                code = self._process.exitcode if self._process else None
                self._stop()
                raise FunctionError(
                    self.function, "Runtime.ExitError", f"the process exited ({code})", ""
                ) from None
        if reply[0] == "ok":
            return json.loads(reply[1])
        _, error_type, message, stack = reply
        print(f"[local] {self.function} failed:\n{stack}", file=sys.stderr)
        raise FunctionError(self.function, error_type, message, stack)

    def _stop(self, timeout: float = 10.0) -> None:
        process, connection = self._process, self._connection
        self._process = self._connection = None
        if connection is not None:
            connection.close()  # the child's recv() ends: it returns
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                process.kill()
                process.join(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        # An invocation still running is abandoned (killed), as Ctrl-C would abandon it.
        if self._lock.acquire(timeout=timeout):
            try:
                self._stop(timeout)
            finally:
                self._lock.release()
        else:
            process = self._process
            if process is not None:
                process.kill()
