"""Schedules: rate expressions, the local override, and what the target receives."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from propensity.local.schedules import (
    Scheduler,
    ScheduleRule,
    schedule_interval_seconds,
    schedule_rules,
)
from propensity.local.template import Stack


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
        ("cron(0 9 * * ? *)", None),
    ],
)
def test_schedule_expressions(expression: str, seconds: float | None) -> None:
    assert schedule_interval_seconds(expression) == seconds


@pytest.mark.parametrize(
    "expression", ["rate(1 days)", "rate(2 day)", "rate(0 minutes)", "rate(5 weeks)", "every day"]
)
def test_expressions_eventbridge_refuses_are_refused(expression: str) -> None:
    with pytest.raises(ValueError, match=r"rate|schedule"):
        schedule_interval_seconds(expression)


def test_template_schedules_are_the_daily_retrain_and_the_challenger_guard() -> None:
    rules = {r.event_name: r for r in schedule_rules(Stack())}
    assert set(rules) == {"Schedule", "ChallengerGuard"}
    assert {r.function for r in rules.values()} == {"RetrainFunction"}
    assert schedule_interval_seconds(rules["Schedule"].expression) == 86400
    assert schedule_interval_seconds(rules["ChallengerGuard"].expression) == 600
    assert all(r.enabled for r in rules.values())


def test_scheduler_fires_the_input_at_the_override_interval() -> None:
    # Given the template's retrain rule and a 0.05 s local override
    (rule,) = [r for r in schedule_rules(Stack()) if r.event_name == "Schedule"]
    received: list[tuple[str, Any]] = []
    twice = threading.Event()

    def invoke(function: str, event: Any) -> Any:
        received.append((function, event))
        if len(received) >= 2:
            twice.set()
        return {"status": "ok"}

    scheduler = Scheduler([rule], invoke, override_seconds=0.05)
    # When it runs
    scheduler.start()
    try:
        assert twice.wait(10)
    finally:
        scheduler.stop()
    # Then the retrain function got exactly the Input, each time
    assert received[:2] == [("RetrainFunction", {"trigger": "schedule"})] * 2


def test_cron_is_skipped_without_override_and_disabled_rules_never_run() -> None:
    cron = ScheduleRule("F", "Nightly", "cron(0 2 * * ? *)", None, enabled=True)
    disabled = ScheduleRule("F", "Off", "rate(1 minute)", None, enabled=False)
    assert Scheduler([cron, disabled], lambda f, e: None).plan == []
    # With an override the cron rule runs at that interval (and gets the envelope: no Input)
    (planned,) = Scheduler([cron, disabled], lambda f, e: None, override_seconds=1).plan
    assert planned == (cron, 1)
    assert cron.delivery()["detail-type"] == "Scheduled Event"


def test_a_failing_run_does_not_stop_the_schedule() -> None:
    rule = ScheduleRule("F", "Often", "rate(1 minute)", '{"n": 1}', enabled=True)
    calls: list[Any] = []
    done = threading.Event()

    def invoke(function: str, event: Any) -> Any:
        calls.append(event)
        if len(calls) >= 2:
            done.set()
        raise RuntimeError("retrain failed")

    scheduler = Scheduler([rule], invoke, override_seconds=0.05)
    scheduler.start()
    try:
        assert done.wait(10)
    finally:
        scheduler.stop()
    assert calls[:2] == [{"n": 1}, {"n": 1}]
