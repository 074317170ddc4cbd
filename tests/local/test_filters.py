"""Lambda event filtering, above all the template's own pattern on the feedback stream."""

from __future__ import annotations

from typing import Any

import pytest

from propensity.local.filters import InvalidPatternError, matches, matches_any, validate
from propensity.local.template import Stack


def counter_record(
    pending: str | None, *, event_name: str = "MODIFY", item: str = "COUNTER"
) -> dict[str, Any]:
    image: dict[str, Any] = {"model": {"S": "bank"}, "item": {"S": item}}
    if pending is not None:
        image["pending"] = {"N": pending}
    return {
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "dynamodb": {
            "Keys": {"model": {"S": "bank"}, "item": {"S": item}},
            "NewImage": image,
            "StreamViewType": "NEW_IMAGE",
        },
    }


@pytest.fixture(scope="module")
def template_patterns() -> tuple[dict[str, Any], ...]:
    (source,) = Stack().stream_sources()
    return source.filters


def test_template_pattern_passes_a_counter_with_pending_feedback(
    template_patterns: tuple[dict[str, Any], ...],
) -> None:
    # Given the feedback stream's filter from infra/template.yaml
    # When the COUNTER item of a model changes to pending "3" (a MODIFY) or is created (INSERT)
    # Then Lambda would deliver both records
    assert matches_any(template_patterns, counter_record("3"))
    assert matches_any(template_patterns, counter_record("1", event_name="INSERT"))


def test_template_pattern_drops_resets_feedback_items_and_removals(
    template_patterns: tuple[dict[str, Any], ...],
) -> None:
    # Given the template's filter
    # When the counter is reset to "0", a FEEDBACK# item is written, the counter is removed,
    # or moto's extra key-only INSERT (no `pending` yet) arrives
    # Then none of them reaches the retrain function
    assert not matches_any(template_patterns, counter_record("0"))
    assert not matches_any(template_patterns, counter_record("3", item="FEEDBACK#abc"))
    assert not matches_any(template_patterns, counter_record("3", event_name="REMOVE"))
    assert not matches_any(template_patterns, counter_record(None, event_name="INSERT"))


def test_numeric_never_matches_dynamodb_numbers_which_are_strings() -> None:
    # Given a numeric rule (why the template compares with anything-but "0" instead)
    pattern = {"dynamodb": {"NewImage": {"pending": {"N": [{"numeric": [">=", 1]}]}}}}
    # When the stream image carries pending as DynamoDB does, {"N": "3"}
    # Then it does not match; a real number does
    assert not matches(pattern, counter_record("3"))
    assert matches({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5})
    assert not matches({"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5.5})
    assert matches({"n": [{"numeric": ["=", 3]}]}, {"n": 3.0})


@pytest.mark.parametrize(
    ("pattern", "event", "expected"),
    [
        ({"a": ["x", "y"]}, {"a": "y"}, True),
        ({"a": ["x"]}, {"a": ["q", "x"]}, True),  # an array value: any element
        ({"a": ["3"]}, {"a": 3}, False),  # types differ
        ({"a": [None]}, {"a": None}, True),
        ({"a": [True]}, {"a": True}, True),
        ({"a": [{"prefix": "FEED"}]}, {"a": "FEEDBACK#1"}, True),
        ({"a": [{"prefix": "FEED"}]}, {"a": "COUNTER"}, False),
        ({"a": [{"suffix": ".csv"}]}, {"a": "x.csv"}, True),
        ({"a": [{"equals-ignore-case": "Yes"}]}, {"a": "YES"}, True),
        ({"a": [{"anything-but": ["0", "1"]}]}, {"a": "2"}, True),
        ({"a": [{"anything-but": ["0", "1"]}]}, {"a": "1"}, False),
        ({"a": [{"anything-but": "0"}]}, {"a": "0"}, False),
        ({"a": [{"anything-but": {"prefix": "tmp"}}]}, {"a": "tmp1"}, False),
        ({"a": [{"anything-but": ["0"]}]}, {}, False),  # a missing field matches nothing...
        ({"a": [{"exists": False}]}, {}, True),  # ...except exists: false
        ({"a": [{"exists": True}]}, {"a": "v"}, True),
        ({"a": [{"exists": True}]}, {"a": {"b": 1}}, False),  # exists looks at leaves only
        ({"a": {"b": [{"exists": False}]}}, {}, True),  # a missing parent object too
        ({"a": {"b": ["x"]}}, {"a": "not an object"}, False),
        ({"a": ["x"], "b": ["y"]}, {"a": "x", "b": "z"}, False),  # every field must match
    ],
)
def test_pattern_operators(pattern: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    # Given a pattern and a record / When matched / Then EventBridge's grammar decides
    assert matches(pattern, event) is expected


def test_any_pattern_delivers_and_no_pattern_delivers_everything() -> None:
    # Given two patterns, one of which matches
    patterns = [{"a": ["x"]}, {"b": ["y"]}]
    # Then the record is delivered; without filters everything is
    assert matches_any(patterns, {"b": "y"})
    assert not matches_any(patterns, {"c": "z"})
    assert matches_any([], {"c": "z"})


@pytest.mark.parametrize(
    "pattern",
    [
        {"a": "x"},  # leaves must be lists
        {"a": []},
        {"a": [{"regex": ".*"}]},
        {"a": [{"numeric": [">"]}]},
        {"a": [{"numeric": ["~", 1]}]},
        {"a": [{"exists": "yes"}]},
    ],
)
def test_invalid_patterns_are_refused(pattern: dict[str, Any]) -> None:
    # Given a pattern Lambda would reject at deployment / Then matching raises
    with pytest.raises(InvalidPatternError):
        matches(pattern, {"a": "x"})


def test_validate_checks_rules_even_where_no_record_reaches_them() -> None:
    # Given a pattern with a bad operator under a field records never carry
    pattern = {"never": {"there": [{"numeric": ["~", 1]}]}}
    # When only matched, nothing notices (the field is missing)...
    assert not matches(pattern, {"a": 1})
    # Then validate() refuses it, as Lambda does when the mapping is created
    with pytest.raises(InvalidPatternError):
        validate(pattern)
    validate(Stack().stream_sources()[0].filters[0])  # the template's pattern is valid
