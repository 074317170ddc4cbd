"""The template's ``Type: Schedule`` events, fired locally on a thread (EventBridge's part).

``rate(...)`` expressions run at their rate, or every ``--schedule-seconds`` /
``$LOCAL_SCHEDULE_SECONDS``; ``cron(...)`` runs only with that override.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from propensity.local.events import rule_arn, schedule_delivery
from propensity.local.template import Stack

log = logging.getLogger("propensity-local")

SCHEDULE_SECONDS_ENV = "LOCAL_SCHEDULE_SECONDS"

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
