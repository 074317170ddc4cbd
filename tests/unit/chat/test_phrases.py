"""The phrase table read by the chat: exact features, negations, implausible values."""

from __future__ import annotations

import pytest

from propensity.chat import extract
from tests.support.chat_lexicons import lexicon
from tests.unit.chat.phrases import ISSUE, TABLE, Row


def test_the_table_covers_what_the_issue_asks() -> None:
    # Given the phrase table
    models = {row.model for row in TABLE}
    # Then it has 120 sentences over three models, 25 negations and 10 implausible values
    assert len(TABLE) >= 120 and models == {"bank", "telecom", "churn"}
    assert sum(row.negation for row in TABLE) >= 25
    assert sum(bool(row.implausible) for row in TABLE) >= 10
    # And both languages, with the issue's sentences among them
    assert {row.language for row in TABLE} == {"es", "en"}
    assert len(ISSUE) == 8


@pytest.mark.parametrize("row", TABLE, ids=[f"{r.model}: {r.text[:60]}" for r in TABLE])
def test_sentence_is_read_exactly(row: Row) -> None:
    # Given a sentence about a client of the row's model
    # When it is read with the model's lexicon
    extraction = extract(lexicon(row.model), row.text)
    # Then exactly the expected features are understood, and the implausible ones set aside
    assert extraction.features == row.features
    assert {f: d.value for f, d in extraction.implausible.items()} == row.implausible
    # And the message's language is detected
    assert extraction.language == row.language
    # And every category read is one the model knows
    known = lexicon(row.model).features
    for name, value in extraction.features.items():
        if known[name].spec.kind == "categorical":
            assert value in known[name].spec.categories
