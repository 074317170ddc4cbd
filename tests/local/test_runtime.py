"""LocalFunctions: the template's environment, handler import, context and worker threads."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from propensity.local.runtime import LocalFunctions, function_environment
from propensity.local.stack_run import LocalStack
from propensity.local.template import Stack

HANDLER = """
import asyncio
import os
import threading

SETTING_AT_IMPORT = os.environ["GREETING"]
IMPORTS = 0
IMPORTS += 1


def lambda_handler(event, context):
    if event.get("fail"):
        raise RuntimeError("boom")
    asyncio.get_event_loop()  # Mangum needs one; Lambda's main thread has it
    return {
        "greeting": SETTING_AT_IMPORT,
        "event": event,
        "function_name": context.function_name,
        "memory": context.memory_limit_in_mb,
        "arn": context.invoked_function_arn,
        "request_id": context.aws_request_id,
        "remaining_ms": context.get_remaining_time_in_millis(),
        "thread": threading.current_thread().name,
        "imports": IMPORTS,
    }
"""


def tiny_template(code_dir: Path) -> dict[str, Any]:
    return {
        "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
        "Globals": {
            "Function": {
                "Handler": "handler.lambda_handler",
                "Environment": {"Variables": {"GREETING": "hello", "STAGE": {"Ref": "Stage"}}},
            }
        },
        "Resources": {
            "Api": {
                "Type": "AWS::Serverless::HttpApi",
                "Properties": {"StageName": {"Ref": "Stage"}},
            },
            "EchoFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {"CodeUri": str(code_dir), "MemorySize": 256, "Timeout": 7},
            },
            "OtherFunction": {
                "Type": "AWS::Serverless::Function",
                "Properties": {
                    "CodeUri": str(code_dir),
                    "Environment": {"Variables": {"ONLY_OTHER": "1"}},
                },
            },
        },
    }


@pytest.fixture
def tiny_stack(tmp_path: Path) -> Stack:
    (tmp_path / "handler.py").write_text(HANDLER)
    return Stack(tiny_template(tmp_path), template_dir=tmp_path)


def test_environment_is_the_union_plus_the_stage_base_path(tiny_stack: Stack) -> None:
    # Given two functions with shared globals and one extra variable
    environment = function_environment(tiny_stack)
    # Then the union is applied, and the HTTP functions' base path is the stage
    assert environment == {
        "GREETING": "hello",
        "STAGE": "dev",
        "ONLY_OTHER": "1",
        "API_BASE_PATH": "/dev",
    }


def test_conflicting_function_environments_are_refused(tiny_stack: Stack) -> None:
    tiny_stack.resources["OtherFunction"]["Properties"]["Environment"]["Variables"]["GREETING"] = (
        "hi"
    )
    with pytest.raises(ValueError, match="GREETING"):
        function_environment(tiny_stack)


def test_the_real_template_gets_api_base_path_dev() -> None:
    assert function_environment(Stack())["API_BASE_PATH"] == "/dev"


def test_invoke_imports_lazily_with_the_environment_and_a_lambda_context(tiny_stack: Stack) -> None:
    # Given local functions for the tiny template (environment applied, nothing imported)
    os.environ.pop("GREETING", None)
    with LocalFunctions(tiny_stack) as functions:
        assert os.environ["GREETING"] == "hello"
        assert not functions.is_loaded("EchoFunction")
        # When invoked twice
        first = functions.invoke("EchoFunction", {"n": 1})
        second = functions.invoke("EchoFunction", {"n": 2})
        # Then the module was imported once, read its setting at import, and got a context
        assert functions.is_loaded("EchoFunction")
        assert first["greeting"] == "hello" and first["event"] == {"n": 1}
        assert second["imports"] == 1
        assert first["function_name"] == "propensity-local-EchoFunction"
        assert first["memory"] == 256
        assert first["arn"].startswith("arn:aws:lambda:us-east-1:123456789012:function:")
        assert first["request_id"] != second["request_id"]
        assert 0 < first["remaining_ms"] <= 7000
        assert first["thread"].startswith("lambda-EchoFunction")
        module_names = [n for n in sys.modules if n.startswith("local_EchoFunction_")]
        assert len(module_names) == 1
    # And closing forgets the module and restores the environment
    assert "GREETING" not in os.environ
    assert not [n for n in sys.modules if n.startswith("local_EchoFunction_")]


def test_handler_errors_propagate_and_defaults_apply(tiny_stack: Stack) -> None:
    with LocalFunctions(tiny_stack) as functions:
        with pytest.raises(RuntimeError, match="boom"):
            functions.invoke("OtherFunction", {"fail": True})
        result = functions.invoke("OtherFunction", {})
        assert result["memory"] == 128  # Lambda's default
        assert result["remaining_ms"] <= 3000
        with pytest.raises(KeyError, match="EchoFunction"):
            functions.invoke("NoSuchFunction", {})


def test_one_function_handles_one_event_at_a_time(tiny_stack: Stack) -> None:
    # Given many concurrent invocations of one function (a threaded HTTP server does this)
    results: list[str] = []
    with LocalFunctions(tiny_stack) as functions:

        def call() -> None:
            results.append(functions.invoke("EchoFunction", {})["thread"])

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    # Then all ran on the function's single worker thread (one warm container)
    assert len(results) == 8 and len(set(results)) == 1


def test_a_stack_restores_the_environment_it_changed() -> None:
    # Given the environment before a stack
    before = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "POWERTOOLS_"))}
    # When a stack (emulator + resources, no bootstrap) starts and stops
    with LocalStack(
        port=0, bootstrap=False, serve_http=False, run_schedules=False, quiet=True
    ) as stack:
        assert stack.emulator_url is not None
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB"] == stack.emulator_url
        assert os.environ["AWS_ENDPOINT_URL_S3"] == stack.emulator_url
        assert os.environ["AWS_ENDPOINT_URL_DYNAMODB_STREAMS"] == stack.emulator_url
        assert os.environ["POWERTOOLS_TRACE_DISABLED"] == "true"
        assert os.environ["REGISTRY_TABLE"] == stack.stack.names["RegistryTable"]
    # Then every AWS/powertools variable is back as it was
    after = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "POWERTOOLS_"))}
    assert after == before
    assert "REGISTRY_TABLE" not in os.environ


HOOKED_HANDLER = """
from snapshot_restore_py import register_after_restore, register_before_snapshot

EVENTS = ["init"]


@register_before_snapshot
def first_registered():
    EVENTS.append("before-snapshot: first registered")


def second_registered(name):
    EVENTS.append(f"before-snapshot: {name}")


register_before_snapshot(second_registered, "second registered")


@register_after_restore
def restored():
    EVENTS.append("after-restore")


def lambda_handler(event, context):
    EVENTS.append("invoke")
    return list(EVENTS)
"""


def test_snapstart_hooks_run_in_lambdas_order_before_the_first_invocation(
    tmp_path: Path,
) -> None:
    # Given a handler registering SnapStart runtime hooks (snapshot_restore_py, which Lambda's
    # runtime provides and the local run stands in for)
    (tmp_path / "handler.py").write_text(HOOKED_HANDLER)
    stack = Stack(tiny_template(tmp_path), template_dir=tmp_path)
    with LocalFunctions(stack) as functions:
        # When it is invoked twice
        functions.invoke("EchoFunction", {})
        events = functions.invoke("EchoFunction", {})
    # Then Lambda's order held: init, before-snapshot hooks in reverse order of registration,
    # after-restore hooks, then the invocations (hooks once per environment)
    assert events == [
        "init",
        "before-snapshot: second registered",
        "before-snapshot: first registered",
        "after-restore",
        "invoke",
        "invoke",
    ]
