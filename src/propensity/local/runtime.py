"""The template's functions, run locally: their environment, their handlers, a context.

Each handler module is imported from its file (as Lambda does from the code directory) on its
first invocation, after the environment is in place, because the handlers read their settings
and create their clients at import. By default each function runs on its own worker thread of
this process, like one warm container: it handles one event at a time (others queue),
different functions run concurrently, and the thread keeps an asyncio event loop set as
Lambda's main thread has one (Mangum calls ``asyncio.get_event_loop()``, which fails on a bare
thread). Functions named in ``processes`` run in a child process each instead
(``function_process``), as ``make run`` runs them.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from propensity.local.emulator import EMULATOR_ACCOUNT, EMULATOR_REGION
from propensity.local.function_process import FunctionProcess
from propensity.local.lambda_context import LambdaContext, LambdaHandler, load_handler
from propensity.local.template import FunctionSpec, Stack

DEFAULT_MEMORY_MB = 128  # Lambda's defaults when neither the function nor Globals say
DEFAULT_TIMEOUT_SECONDS = 3


class EnvironmentPatch:
    """Sets variables in ``os.environ`` and puts the previous values back on ``restore()``."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, values: Mapping[str, str]) -> None:
        for name, value in values.items():
            if name not in self._saved:
                self._saved[name] = os.environ.get(name)
            os.environ[name] = value

    def restore(self) -> None:
        for name, previous in self._saved.items():
            if previous is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = previous
        self._saved.clear()


class _Worker:
    """One daemon thread running tasks in order, with an event loop of its own.

    Not a ThreadPoolExecutor: its threads are joined at interpreter exit, so Ctrl-C during a
    10 s training run would wait for it; a daemon thread is simply abandoned.
    """

    def __init__(self, name: str) -> None:
        self._tasks: queue.SimpleQueue[tuple[Callable[[], Any], Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            while (item := self._tasks.get()) is not None:
                task, future = item
                if not future.set_running_or_notify_cancel():
                    continue
                try:
                    future.set_result(task())
                except BaseException as exc:  # noqa: BLE001 (handed to the caller, like a function error)
                    future.set_exception(exc)
        finally:
            asyncio.set_event_loop(None)
            loop.close()

    def submit(self, task: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._tasks.put((task, future))
        return future

    def stop(self, timeout: float) -> None:
        self._tasks.put(None)
        self._thread.join(timeout)


@dataclass
class _LoadedFunction:
    spec: FunctionSpec
    module_name: str
    memory_mb: int
    timeout_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)  # guards worker creation
    worker: _Worker | None = None
    handler: LambdaHandler | None = None
    hooks: Any = None  # the SnapStart runtime hooks its init registered (snapshot_restore_py)
    process: FunctionProcess | None = None  # set when the function runs in a process of its own

    def run(self, task: Callable[[], Any]) -> Any:
        """Run ``task`` on this function's worker thread and wait for it."""
        with self.lock:
            if self.worker is None:
                self.worker = _Worker(f"lambda-{self.spec.logical_id}")
            worker = self.worker
        return worker.submit(task).result()

    def shut_down(self, timeout: float) -> None:
        """Let the running invocation finish within ``timeout``, else abandon it."""
        with self.lock:
            worker, self.worker = self.worker, None
        if worker is not None:
            worker.stop(timeout)
        if self.process is not None:
            self.process.stop(timeout)


def function_environment(stack: Stack, *, api_base_path: str | None = None) -> dict[str, str]:
    """The union of every function's template environment (they share this process).

    ``API_BASE_PATH`` is the HTTP API stage prefix that Mangum strips (``/dev``); it is added
    when the template does not declare it.
    """
    union: dict[str, str] = {}
    for logical_id, spec in stack.functions().items():
        for name, value in spec.environment.items():
            if name in union and union[name] != value:
                raise ValueError(
                    f"{logical_id}: {name}={value!r} conflicts with {union[name]!r} of another "
                    "function; the local run shares one environment between functions"
                )
            union[name] = value
    if "API_BASE_PATH" not in union:
        stage = stack.stage()
        union["API_BASE_PATH"] = (
            api_base_path
            if api_base_path is not None
            else ("" if stage == "$default" else f"/{stage}")
        )
    return union


class LocalFunctions:
    """The template's functions, invocable by logical id with the real handler code."""

    def __init__(
        self,
        stack: Stack,
        *,
        function_name_prefix: str = "propensity-local-",
        apply_environment: bool = True,
        processes: Collection[str] = (),
    ) -> None:
        self.stack = stack
        self.environment = function_environment(stack)
        self._env = EnvironmentPatch()
        self._prefix = function_name_prefix
        self._token = uuid.uuid4().hex[:8]  # module names unique per instance (per stack)
        self._functions = {
            logical_id: self._describe(logical_id, spec)
            for logical_id, spec in stack.functions().items()
        }
        for logical_id in processes:
            function = self._get(logical_id)
            function.process = FunctionProcess(
                logical_id,
                function.spec.handler_file,
                function.spec.handler_function,
                function.module_name,
            )
        if apply_environment:
            self._env.set(self.environment)

    def _describe(self, logical_id: str, spec: FunctionSpec) -> _LoadedFunction:
        globals_ = self.stack.template.get("Globals", {}).get("Function", {})
        props = self.stack.resources[logical_id].get("Properties", {})
        return _LoadedFunction(
            spec=spec,
            module_name=f"local_{logical_id}_{self._token}",
            memory_mb=int(props.get("MemorySize", globals_.get("MemorySize", DEFAULT_MEMORY_MB))),
            timeout_seconds=float(
                props.get("Timeout", globals_.get("Timeout", DEFAULT_TIMEOUT_SECONDS))
            ),
        )

    @property
    def logical_ids(self) -> list[str]:
        return sorted(self._functions)

    def function_name(self, logical_id: str) -> str:
        return f"{self._prefix}{logical_id}"

    def context(self, logical_id: str) -> LambdaContext:
        function = self._get(logical_id)
        name = self.function_name(logical_id)
        return LambdaContext(
            function_name=name,
            memory_limit_in_mb=function.memory_mb,
            invoked_function_arn=(
                f"arn:aws:lambda:{EMULATOR_REGION}:{EMULATOR_ACCOUNT}:function:{name}"
            ),
            timeout_seconds=function.timeout_seconds,
            log_group_name=f"/aws/lambda/{name}",
            log_stream_name=time.strftime("%Y/%m/%d/[$LATEST]local"),
        )

    def _get(self, logical_id: str) -> _LoadedFunction:
        try:
            return self._functions[logical_id]
        except KeyError:
            known = ", ".join(self.logical_ids)
            raise KeyError(f"no function {logical_id!r} in the template (known: {known})") from None

    def _load(self, function: _LoadedFunction) -> LambdaHandler:
        """Import the handler module from its file; runs on the function's worker thread."""
        if function.handler is None:
            function.handler, function.hooks = load_handler(
                function.spec.handler_file, function.spec.handler_function, function.module_name
            )
        return function.handler

    def is_loaded(self, logical_id: str) -> bool:
        return self._get(logical_id).handler is not None

    def invoke(self, logical_id: str, event: Any) -> Any:
        """Run the function's handler on ``event``; its exception propagates (a function error)."""
        function = self._get(logical_id)
        if function.process is not None:
            return function.process.invoke(event, self.context(logical_id))

        def run_handler() -> Any:
            handler = self._load(function)
            context = self.context(logical_id)
            try:
                return handler(event, context)
            finally:
                if context.get_remaining_time_in_millis() == 0:
                    # Lambda would have killed it; locally it is only reported.
                    print(
                        f"[local] {logical_id} ran past its {function.timeout_seconds:g} s timeout",
                        file=sys.stderr,
                    )

        return function.run(run_handler)

    def close(self, timeout: float = 10.0) -> None:
        """Forget the imported handlers and restore the environment."""
        for function in self._functions.values():
            function.shut_down(timeout)
            function.handler = None
            sys.modules.pop(function.module_name, None)
        self._env.restore()

    def __enter__(self) -> LocalFunctions:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
