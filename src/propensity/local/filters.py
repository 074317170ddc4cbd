"""Lambda event filtering (``FilterCriteria``), as applied to stream records before batching.

The pattern grammar is EventBridge's: a pattern is an object whose leaves are lists of
alternatives; a field matches when any alternative matches its value (or, for an array value,
any element). Supported alternatives: exact strings/numbers/booleans/null, ``prefix``,
``suffix``, ``equals-ignore-case``, ``anything-but`` (a value, a list, or a ``prefix``),
``numeric`` comparisons and ``exists``. A record is delivered when any pattern matches.

Type matters, as in AWS: DynamoDB numbers arrive as strings (``{"N": "3"}``), so ``["3"]``
matches them and ``{"numeric": [...]}`` never does.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_MISSING = object()

_NUMERIC_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
}


class InvalidPatternError(ValueError):
    """A pattern Lambda would reject when the event source mapping is created."""


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_leaf(value: Any) -> bool:
    return not isinstance(value, Mapping)


def _exact(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    return type(expected) is type(value) and expected == value


def _numeric(spec: Any, value: Any) -> bool:
    if not isinstance(spec, list) or not spec or len(spec) % 2:
        raise InvalidPatternError(f"numeric needs [operator, number, ...]: {spec!r}")
    comparisons = list(zip(spec[::2], spec[1::2], strict=True))
    for op, bound in comparisons:
        if op not in _NUMERIC_OPERATORS or not _is_number(bound):
            raise InvalidPatternError(f"numeric: bad comparison {op!r} {bound!r}")
    if not _is_number(value):
        return False
    return all(_NUMERIC_OPERATORS[op](float(value), float(bound)) for op, bound in comparisons)


def _anything_but(spec: Any, value: Any) -> bool:
    if isinstance(spec, Mapping):
        if set(spec) != {"prefix"} or not isinstance(spec["prefix"], str):
            raise InvalidPatternError(f"anything-but supports a value, a list or prefix: {spec!r}")
        return isinstance(value, str) and not value.startswith(spec["prefix"])
    excluded = spec if isinstance(spec, list) else [spec]
    return not any(_exact(item, value) for item in excluded)


def _rule_matches(rule: Any, value: Any) -> bool:
    """One alternative against one leaf value (present: missing fields are handled above)."""
    if not isinstance(rule, Mapping):
        return _exact(rule, value)
    if len(rule) != 1:
        raise InvalidPatternError(f"one operator per rule: {dict(rule)!r}")
    ((name, spec),) = rule.items()
    if name == "prefix":
        return isinstance(value, str) and value.startswith(str(spec))
    if name == "suffix":
        return isinstance(value, str) and value.endswith(str(spec))
    if name == "equals-ignore-case":
        return isinstance(value, str) and value.casefold() == str(spec).casefold()
    if name == "anything-but":
        return _anything_but(spec, value)
    if name == "numeric":
        return _numeric(spec, value)
    if name == "exists":
        return bool(spec)  # reached only for a present leaf value
    raise InvalidPatternError(f"unsupported filter operator {name!r}")


def _field_matches(rules: list[Any], value: Any) -> bool:
    # `exists` looks at leaf values only: an object (or nothing) there counts as absent.
    present = value is not _MISSING and _is_leaf(value)
    for rule in rules:
        if isinstance(rule, Mapping) and "exists" in rule and len(rule) == 1:
            if not isinstance(rule["exists"], bool):
                raise InvalidPatternError(f"exists takes true or false: {dict(rule)!r}")
            if rule["exists"] == present:
                return True
            continue
        if not present:
            continue
        values = value if isinstance(value, list) else [value]
        if any(_rule_matches(rule, item) for item in values):
            return True
    return False


def matches(pattern: Mapping[str, Any], event: Any) -> bool:
    """Whether ``event`` (one record) matches ``pattern``."""
    if not isinstance(pattern, Mapping):
        raise InvalidPatternError(f"a pattern is a JSON object: {pattern!r}")
    for key, expected in pattern.items():
        value = event.get(key, _MISSING) if isinstance(event, Mapping) else _MISSING
        if isinstance(expected, Mapping):
            # A missing object still lets `{"exists": false}` below it match.
            if not matches(expected, value if isinstance(value, Mapping) else {}):
                return False
        elif isinstance(expected, list):
            if not expected:
                raise InvalidPatternError(f"{key}: empty list of alternatives")
            if not _field_matches(expected, value):
                return False
        else:
            raise InvalidPatternError(f"{key}: leaves must be lists, got {expected!r}")
    return True


def validate(pattern: Mapping[str, Any]) -> None:
    """Raise InvalidPatternError for what Lambda refuses when the mapping is created."""
    if not isinstance(pattern, Mapping):
        raise InvalidPatternError(f"a pattern is a JSON object: {pattern!r}")
    for key, expected in pattern.items():
        if isinstance(expected, Mapping):
            validate(expected)
        elif isinstance(expected, list) and expected:
            for rule in expected:
                if isinstance(rule, Mapping) and "exists" in rule and len(rule) == 1:
                    _field_matches([rule], _MISSING)
                elif isinstance(rule, Mapping):
                    # Evaluated against each kind of leaf, so every operator's spec is checked.
                    for probe in ("", 0):
                        _rule_matches(rule, probe)
        else:
            raise InvalidPatternError(f"{key}: leaves must be non-empty lists, got {expected!r}")


def matches_any(patterns: Iterable[Mapping[str, Any]], event: Any) -> bool:
    """Lambda's rule: no filters deliver everything; otherwise any matching pattern does."""
    patterns = list(patterns)
    return not patterns or any(matches(p, event) for p in patterns)
