"""A function in a process of its own: answers, function errors and timeouts as Lambda's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from propensity.local.function_process import (
    FunctionError,
    FunctionProcess,
    FunctionTimeoutError,
)
from propensity.local.lambda_context import LambdaContext

HANDLER = """
import os
import time

STARTED = time.time()  # init: once per process


def handler(event, context):
    if "fail" in event:
        raise ValueError(f"cannot {event['fail']}")
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "started": STARTED, "echo": event, "name": context.function_name}
"""


def context(timeout: float = 5.0) -> LambdaContext:
    return LambdaContext(
        function_name="propensity-local-TestFunction",
        memory_limit_in_mb=128,
        invoked_function_arn="arn:aws:lambda:us-east-1:123456789012:function:test",
        timeout_seconds=timeout,
    )


@pytest.fixture
def function(tmp_path: Path) -> Iterator[FunctionProcess]:
    (tmp_path / "handler.py").write_text(HANDLER)
    process = FunctionProcess("TestFunction", tmp_path / "handler.py", "handler", "test_handler")
    yield process
    process.stop()


def test_invocations_share_one_warm_process(function: FunctionProcess) -> None:
    # Given a function in its own process
    # When it is invoked twice
    first = function.invoke({"n": 1}, context())
    second = function.invoke({"n": 2}, context())
    # Then both ran in the same process, initialised once, with the event and context sent
    assert first["echo"] == {"n": 1} and second["echo"] == {"n": 2}
    assert first["pid"] == second["pid"] and first["started"] == second["started"]
    assert first["name"] == "propensity-local-TestFunction"


def test_a_raised_error_is_a_function_error_and_the_process_stays(
    function: FunctionProcess,
) -> None:
    # Given a warm function
    warm = function.invoke({}, context())
    # When the handler raises
    with pytest.raises(FunctionError, match="ValueError: cannot parse") as raised:
        function.invoke({"fail": "parse"}, context())
    # Then the error names its type and stack, and the same process answers the next event
    assert raised.value.error_type == "ValueError"
    assert "raise ValueError" in raised.value.stack
    assert function.invoke({}, context())["pid"] == warm["pid"]


def test_a_timeout_stops_the_process_and_the_next_call_is_a_cold_start(
    function: FunctionProcess,
) -> None:
    # Given a warm function
    warm = function.invoke({}, context())
    # When an invocation runs past the function's timeout
    with pytest.raises(FunctionTimeoutError, match=r"timed out after 0\.5 s"):
        function.invoke({"sleep": 30}, context(timeout=0.5))
    # Then the next invocation runs in a new process, initialised again
    cold = function.invoke({}, context())
    assert cold["pid"] != warm["pid"] and cold["started"] > warm["started"]
