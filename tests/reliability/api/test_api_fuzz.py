"""Part 1: schemathesis against our own OpenAPI document, in-process, over every route.

Every operation of ``/openapi.json`` is fuzzed with data that fits the schema (positive mode)
and with data that breaks it (negative mode); admin operations once with a valid admin token,
so the logic behind authentication runs, and once without one. Each response must not be a 5xx,
must have a documented status code and a body that conforms to the documented schema, and
negative data must be refused with a 4xx.

The document types a prediction's features as a free-form object, so schema-driven cases
rarely name a real feature. A second, feature-aware run draws rows from the served models'
feature schemas (known and unseen categories, numbers in and out of range, wrong types,
missing values, extra fields) and checks the answer against an oracle: a row that is valid for
the model is scored (200), any other is refused with a 422, never a 5xx.

Generation is derandomized (the same cases on every run) and writes no Hypothesis database.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.schemas import APIOperation
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from propensity.api.app import all_routers, create_app
from propensity.api.dependencies import Services
from propensity.config import FeedbackConfig
from propensity.scoring.text import MAX_CATEGORY_LENGTH
from tests.reliability.api.conftest import ADMIN_HEADERS, FEEDBACK_HEADERS, MODELS, Api
from tests.reliability.figures import record

# Examples per (operation, mode, credential); operations with few inputs exhaust them sooner.
MAX_EXAMPLES = 18
FEATURE_EXAMPLES = 40
MIN_CASES = 1000
# Negative data must be refused as the caller's fault: never a 5xx, never accepted.
REJECTED = ["400", "401", "403", "404", "405", "409", "413", "415", "422"]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    response_schema_conformance,
    negative_data_rejection,
]
CONFIG = schemathesis.Config.from_dict(
    {"checks": {"negative_data_rejection": {"expected-statuses": REJECTED}}}
)
HYPOTHESIS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# The document does not depend on the wiring: built once, at collection, from an app with
# nothing wired (a test checks the app under test serves exactly this document).
DOCUMENT = create_app(Services(default_model="bank"), all_routers()).openapi()
SCHEMA = schemathesis.openapi.from_dict(DOCUMENT, config=CONFIG)


def _operations() -> dict[str, APIOperation[Any, Any, Any, Any]]:
    """Every operation of the document (an operation schemathesis cannot read fails here)."""
    operations = {}
    for result in SCHEMA.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        operations[operation.label] = operation
    return operations


OPERATIONS = _operations()
ADMIN_OPERATIONS = {label for label, op in OPERATIONS.items() if "admin" in (op.tags or [])}


def _negatable(label: str, *, besides: tuple[str, ...] = ()) -> bool:
    """Whether the operation has any input (other than ``besides``) negative data can break."""
    operation = OPERATIONS[label]
    names = [p.name for p in operation.iter_parameters() if p.name not in besides]
    return bool(names) or bool(operation.body)


RUNS = [
    pytest.param(label, mode, credential, id=f"{label}-{mode.value}-{credential}")
    for label in OPERATIONS
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    if mode is GenerationMode.POSITIVE or _negatable(label)
    for credential in (("admin", "none") if label in ADMIN_OPERATIONS else ("none",))
]

cases_run: Counter[str] = Counter()
statuses: Counter[int] = Counter()
feature_outcomes: Counter[str] = Counter()


def _strategy(label: str, mode: GenerationMode) -> st.SearchStrategy[Case[Any]]:
    """Cases of the operation; with a {model} path, also aimed at the served models."""
    operation = OPERATIONS[label]
    generated = operation.as_strategy(generation_mode=mode)
    if "{model}" not in operation.path:
        return generated
    if mode is GenerationMode.NEGATIVE and not _negatable(label, besides=("model",)):
        return generated  # with the model fixed there would be nothing left to break
    aimed = [
        operation.as_strategy(generation_mode=mode, path_parameters={"model": model})
        for model in MODELS
    ]
    return st.one_of(generated, *aimed)


def test_the_fuzzed_document_is_the_one_the_api_serves(api: Api) -> None:
    # When the API under test is asked for its OpenAPI document
    served = api.client.get("/openapi.json")
    # Then it is the document the cases are generated from, and it covers every router
    assert served.status_code == 200
    assert served.json() == DOCUMENT
    assert {"predict", "feedback", "admin", "dashboard"} <= {
        tag for op in OPERATIONS.values() for tag in op.tags or []
    }


@pytest.mark.parametrize(("label", "mode", "credential"), RUNS)
def test_operation_survives_fuzzing(
    api: Api, label: str, mode: GenerationMode, credential: str
) -> None:
    # Given the operation's generated cases (also aimed at bank and telecom when it takes a
    # model), sent with the admin token or without any credential
    headers = ADMIN_HEADERS if credential == "admin" else None

    @settings(HYPOTHESIS, max_examples=MAX_EXAMPLES)
    @given(case=_strategy(label, mode))
    def fuzz(case: Case[Any]) -> None:
        # When the generated request is sent to the app in-process
        response = case.call(app=api.app, headers=headers)
        statuses[response.status_code] += 1
        cases_run[label] += 1
        # Then no 5xx, a documented status and body, and negative data refused with a 4xx
        case.validate_response(response, checks=CHECKS, headers=headers)

    fuzz()


# --- feature-aware rows, with an oracle ---------------------------------------------------

HUGE_INT = 10**400  # valid JSON, beyond float range


def _features(api: Api, model: str) -> tuple[list[str], dict[str, list[str]]]:
    """(numeric names, categorical name → known categories), as GET /models/{model} tells."""
    detail = api.client.get(f"/models/{model}").json()
    numeric = [f["name"] for f in detail["features"] if f["type"] != "categorical"]
    categorical = {
        f["name"]: list(f["categories"] or [])
        for f in detail["features"]
        if f["type"] == "categorical"
    }
    return numeric, categorical


def _good(known: list[str] | None) -> st.SearchStrategy[Any]:
    """A valid value of a numeric (``known`` is None) or categorical feature."""
    if known is None:
        return st.one_of(
            st.none(),
            st.integers(-(10**6), 10**6),
            st.floats(allow_nan=False, allow_infinity=False),  # 1e308 included
        )
    return st.one_of(
        st.none(),
        st.sampled_from(known),
        st.text(max_size=20),  # unseen categories: any Unicode (emoji, RTL, zero-width…)
        st.text(min_size=MAX_CATEGORY_LENGTH, max_size=MAX_CATEGORY_LENGTH),
    )


def _bad(known: list[str] | None) -> st.SearchStrategy[Any]:
    """A value the feature must refuse: wrong type, beyond float range, too long."""
    wrong = st.one_of(
        st.booleans(),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=1),
    )
    if known is None:
        return st.one_of(st.just(HUGE_INT), st.text(max_size=5), wrong)
    too_long = st.text(min_size=MAX_CATEGORY_LENGTH + 1, max_size=MAX_CATEGORY_LENGTH + 5)
    return st.one_of(too_long, st.integers(), st.floats(allow_nan=False), wrong)


def _rows(numeric: list[str], categorical: dict[str, list[str]]) -> st.SearchStrategy[Any]:
    """Rows of valid values; about half with one value spoiled or a field the model lacks."""
    specs: dict[str, list[str] | None] = {**dict.fromkeys(numeric), **categorical}
    valid = st.fixed_dictionaries({}, optional={name: _good(cats) for name, cats in specs.items()})
    spoiled = st.sampled_from(sorted(specs)).flatmap(
        lambda name: st.fixed_dictionaries({name: _bad(specs[name])})
    )
    extra = st.dictionaries(
        st.text(max_size=12).filter(lambda k: k not in specs and k != "features"),
        st.integers(),
        min_size=1,
        max_size=2,
    )
    change = st.one_of(st.just({}), st.just({}), spoiled, extra)
    return st.builds(lambda row, more: {**row, **more}, valid, change)


def _valid_value(value: Any, known: list[str] | None) -> bool:
    if value is None:
        return True
    if known is None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        try:
            return math.isfinite(float(value))
        except OverflowError:
            return False
    return isinstance(value, str) and (value in known or len(value) <= MAX_CATEGORY_LENGTH)


def _row_is_valid(
    row: dict[str, Any],
    numeric: list[str],
    categorical: dict[str, list[str]],
    *,
    strict: bool,
    for_feedback: bool = False,
) -> bool:
    specs: dict[str, list[str] | None] = {**dict.fromkeys(numeric), **categorical}
    if (strict or for_feedback) and any(name not in specs for name in row):
        return False
    if for_feedback and all(row.get(name) is None for name in specs):
        return False  # a labelled example must hold at least one value
    if for_feedback and any(
        specs.get(name, []) is None and _beyond_feedback_limit(value) for name, value in row.items()
    ):
        return False  # stored feedback trains models: absurd magnitudes are refused
    return all(_valid_value(row[name], specs[name]) for name in row if name in specs)


def _beyond_feedback_limit(value: Any) -> bool:
    """Beyond the shipped configs' ``feedback.max_abs_value`` (1e9, the default)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return abs(float(value)) > FeedbackConfig().max_abs_value
    except OverflowError:
        return True


LABELS = st.sampled_from([(1, True), (0, True), ("yes", True), (False, True), ("maybe", False)])


@pytest.mark.parametrize("model", MODELS)
def test_feature_rows_are_scored_when_valid_and_refused_otherwise(api: Api, model: str) -> None:
    # Given the model's feature schema, as the API publishes it
    numeric, categorical = _features(api, model)
    rows = _rows(numeric, categorical)
    predict, batch = (
        OPERATIONS["POST /models/{model}/predict"],
        OPERATIONS["POST /models/{model}/predict/batch"],
    )
    feedback = OPERATIONS["POST /models/{model}/feedback"]

    @settings(HYPOTHESIS, max_examples=FEATURE_EXAMPLES)
    @given(
        row=rows,
        more=st.lists(rows, max_size=3),
        strict=st.booleans(),
        wrapped=st.booleans(),
        label=LABELS,
    )
    def fuzz(
        row: dict[str, Any],
        more: list[dict[str, Any]],
        strict: bool,
        wrapped: bool,
        label: tuple[Any, bool],
    ) -> None:
        path = {"model": model}
        query = {"strict": str(strict).lower()}
        y, y_valid = label
        requests = [
            (
                predict.Case(
                    path_parameters=path,
                    query=query,
                    body={"features": row} if wrapped else row,
                    media_type="application/json",
                ),
                _row_is_valid(row, numeric, categorical, strict=strict),
                200,
            ),
            (
                batch.Case(
                    path_parameters=path,
                    query=query,
                    body={"rows": [row, *more]},
                    media_type="application/json",
                ),
                all(_row_is_valid(r, numeric, categorical, strict=strict) for r in [row, *more]),
                200,
            ),
            (
                feedback.Case(
                    path_parameters=path,
                    body={"features": row, "y": y},
                    media_type="application/json",
                    headers=dict(FEEDBACK_HEADERS),
                ),
                y_valid
                and _row_is_valid(row, numeric, categorical, strict=True, for_feedback=True),
                201,
            ),
        ]
        for case, valid, accepted in requests:
            # When the row is sent
            response = case.call(app=api.app)
            statuses[response.status_code] += 1
            cases_run[case.operation.label] += 1
            feature_outcomes["accepted" if valid else "refused"] += 1
            # Then a valid row is accepted and any other refused with a 422, never a 5xx
            case.validate_response(response, checks=CHECKS)
            assert response.status_code == (accepted if valid else 422), (
                repr(case.body),
                strict,
                response.text[:300],
            )

    fuzz()


def test_at_least_a_thousand_cases_ran_without_a_server_error() -> None:
    # Given every fuzz run above (this test comes last in the module)
    total = sum(cases_run.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    record(
        "api_fuzz",
        {
            "cases": total,
            "operations": len(OPERATIONS),
            "operations_fuzzed": len(cases_run),
            "server_errors": server_errors,
            "feature_rows_accepted": feature_outcomes["accepted"],
            "feature_rows_refused": feature_outcomes["refused"],
            "statuses": dict(sorted(statuses.items())),
        },
    )
    # Then every operation was exercised, enough cases ran to matter, and none was a 5xx
    assert set(cases_run) == set(OPERATIONS), "run the whole module: some operations were skipped"
    assert total >= MIN_CASES
    assert server_errors == 0
    assert feature_outcomes["accepted"] > 0 and feature_outcomes["refused"] > 0
