"""What a handler sees of the Lambda runtime: its context object, its init, its hooks.

Shared by both ways the local stack runs a function (a worker thread, or a process of its own):
the handler module is imported from its file, as Lambda does from the code directory, after the
environment is in place (the handlers read their settings and create clients at import).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

LambdaHandler = Callable[[Any, Any], Any]

# Modules Lambda's Python runtime provides, stood in for locally (snapshot_restore_py).
LAMBDA_RUNTIME_MODULES = Path(__file__).parent / "lambda_runtime"


@dataclass
class LambdaContext:
    """The attributes of Lambda's Python context object that handlers and powertools read."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    timeout_seconds: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_group_name: str = ""
    log_stream_name: str = ""
    started_at: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started_at
        return max(0, int((self.timeout_seconds - elapsed) * 1000))


def runtime_hooks_module() -> ModuleType:
    """``snapshot_restore_py`` as the handlers import it: the runtime provides it in Lambda;
    locally the stand-in in ``lambda_runtime/`` (appended to sys.path: a real one wins)."""
    path = str(LAMBDA_RUNTIME_MODULES)
    if path not in sys.path:
        sys.path.append(path)
    return importlib.import_module("snapshot_restore_py")


def initialise(module: ModuleType, spec: importlib.machinery.ModuleSpec) -> Any:
    """Run a handler module's init; returns the runtime hooks it registered."""
    if spec.loader is None:
        raise ImportError(f"cannot import {spec.origin}")
    with runtime_hooks_module().collecting() as hooks:
        spec.loader.exec_module(module)
    return hooks


def load_handler(path: Path, handler_name: str, module_name: str) -> tuple[LambdaHandler, Any]:
    """Import the handler module from its file as ``module_name``; the handler and its hooks.

    Lambda's order with SnapStart: init, before-snapshot hooks, (the snapshot, then a restore),
    after-restore hooks, then the invocations.
    """
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module: ModuleType = importlib.util.module_from_spec(spec)
    # Registered while it runs: dataclasses and pydantic look their module up by name.
    sys.modules[module_name] = module
    try:
        hooks = initialise(module, spec)
        hooks.run_before_snapshot()
        hooks.run_after_restore()
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    return getattr(module, handler_name), hooks
