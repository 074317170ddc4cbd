"""The public metrics history carries the gate's decision in a bounded form."""

from __future__ import annotations

from typing import Any

from propensity.service.catalog import GATE_GUARDS_SHOWN, gate_summary


def _guard(i: int, passed: bool) -> dict[str, Any]:
    return {
        "name": f"slice_auc:job={i}",
        "against": "reference",
        "value": 0.7 + i / 1000,
        "limit": 0.68,
        "passed": passed,
        "detail": f"guard {i}",
    }


def test_every_failed_guard_is_shown_then_the_first_passed_ones_with_counts() -> None:
    # Given a decision over 175 guards, three of which failed
    guards = [_guard(i, passed=i not in (40, 90, 170)) for i in range(175)]
    # When it is summarised for the history
    summary = gate_summary({"promote": False, "reason": "slice guard failed", "guards": guards})
    # Then the failed ones come first, the list is bounded, and the counts tell the rest
    assert summary is not None
    assert [g["name"] for g in summary["guards"][:3]] == [
        "slice_auc:job=40",
        "slice_auc:job=90",
        "slice_auc:job=170",
    ]
    assert len(summary["guards"]) == GATE_GUARDS_SHOWN
    assert (summary["total"], summary["passed"], summary["promote"]) == (175, 172, False)
    assert set(summary["guards"][0]) == {"name", "against", "value", "limit", "passed", "detail"}


def test_a_version_without_a_gate_record_has_no_summary() -> None:
    assert gate_summary(None) is None
    assert gate_summary({}) is None
