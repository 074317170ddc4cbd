"""Normalisation, numbers, lexicons built from a config and a scorecard, and what is reported."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from propensity.chat import build_lexicon, extract, lexicon_for, normalise, parse_number
from propensity.config import ModelConfig
from propensity.config_chat import ChatConfig
from propensity.scoring import Scorer
from tests.support.chat_lexicons import lexicon, model_config, specs_from_data
from tests.unit.scoring.test_scorer import make_card


@pytest.mark.parametrize(
    ("raw", "multiplied", "expected"),
    [
        ("2,500", False, 2500),
        ("2.500", False, 2500),
        ("1 200", False, 1200),
        ("516.7", False, 516.7),
        ("516,7", False, 516.7),
        ("22.696,96", False, 22696.96),
        ("1,234.56", False, 1234.56),
        ("1,234,567", False, 1234567),
        ("0.125", False, 0.125),
        ("1.5", True, 1.5),
        ("1,500", True, 1.5),
        ("-300", False, -300),
    ],
)
def test_numbers_are_read_as_people_write_them(raw: str, multiplied: bool, expected: float) -> None:
    # Given a number as written / When parsed / Then its value
    assert parse_number(raw, multiplied=multiplied) == pytest.approx(expected)


def test_normalisation_strips_accents_and_case_and_keeps_every_position() -> None:
    # Given a message with accents, curly quotes and non-breaking spaces
    text = "Tengo 45 AÑOS, I’m técnico\u00a0ya"
    # When normalised
    normalised = normalise(text)
    # Then it is lower case ASCII of the same length, so spans point back into the message
    assert normalised == "tengo 45 anos, i'm tecnico ya"
    assert len(normalised) == len(text)


def test_a_model_without_chat_section_understands_its_names_and_values_as_written() -> None:
    # Given the test-only churn model with its [chat] section removed
    config = model_config("churn").model_copy(update={"chat": ChatConfig()})
    plain = build_lexicon(config, specs_from_data(config))
    # When a message uses the feature names and category values as the data spells them
    text = "tenure 12, MonthlyCharges: 70.5, Contract One year, Fiber optic, Partner: yes"
    extraction = extract(plain, text)
    # Then each is understood
    assert extraction.features == {
        "tenure": 12,
        "MonthlyCharges": 70.5,
        "Contract": "One year",
        "InternetService": "Fiber optic",
        "Partner": "Yes",
    }
    # And the synonyms that only the [chat] section teaches are not
    assert extract(plain, "fibra, 12 meses").features == {}


def test_unrecognised_fragments_are_reported_and_known_ones_are_not() -> None:
    # Given a message with something the lexicon does not know
    extraction = extract(lexicon("bank"), "Tengo 45 años, me gusta el fútbol")
    # Then the known part is read and the rest reported as written
    assert extraction.features == {"age": 45}
    assert extraction.unrecognised == ["me gusta el fútbol"]


def test_features_of_another_model_are_not_read() -> None:
    # Given a telecom message read with the bank lexicon
    extraction = extract(lexicon("bank"), "85 calls, 516 minutes")
    # Then nothing is understood and both fragments are reported
    assert extraction.features == {}
    assert extraction.unrecognised == ["85 calls", "516 minutes"]


def test_a_negated_value_without_an_opposite_is_reported_as_excluded() -> None:
    # Given "not a student" (the job could be any other)
    extraction = extract(lexicon("bank"), "I am not a student, 21 years old")
    # Then the job is not set but recorded as ruled out
    assert extraction.features == {"age": 21}
    assert extraction.excluded == {"job": ["student"]}


def test_negation_ends_with_its_clause() -> None:
    # Given a negation followed by a second clause joined with "y"
    extraction = extract(lexicon("bank"), "sin hipoteca y con préstamo")
    # Then only the first clause is negated
    assert extraction.features == {"housing": "no", "loan": "yes"}


def test_a_category_shared_by_several_features_needs_its_feature_named() -> None:
    # Given "unknown", a value of job, education, contact and poutcome
    bank = lexicon("bank")
    # When it stands alone it is not read; next to a feature's name it is that feature's
    assert extract(bank, "unknown").features == {}
    assert extract(bank, "education: unknown").features == {"education": "unknown"}


def test_the_lexicon_takes_categories_and_ranges_from_the_scorecard() -> None:
    # Given a scorecard that knows jobs admin and student only, and a chat config for it
    scorer = Scorer(make_card())
    config = ModelConfig.model_validate(
        {
            "name": "demo",
            "title": "demo",
            "objective": "test",
            "dataset": {"source": "demo.csv"},
            "target": {"column": "y"},
            "features": {"numeric": ["age", "balance"], "categorical": ["job"]},
            "chat": {"features": {"job": {"values": {"student": ["estudiante"]}}}},
        }
    )
    demo = lexicon_for(config, scorer)
    # When a message names a job the scorecard never saw, and one it knows
    # Then only the known one is read
    assert extract(demo, "technician, age 41").features == {"age": 41}
    assert extract(demo, "estudiante").features == {"job": "student"}
    # And the same lexicon is reused for the same scorecard
    assert lexicon_for(config, scorer) is demo


def test_scorer_feature_specs_are_typed_with_ranges_and_influence() -> None:
    # Given a scorecard with bins, a standardised numeric with a training range, a categorical
    card = make_card()
    card["features"][1]["range"] = {"min": 0.0, "max": 500.0, "integer": True}
    specs = {spec.name: spec for spec in Scorer(card).feature_specs()}
    # Then each spec names its kind, categories or range, and how far it can move the logit
    assert specs["age"].kind == "numeric" and specs["age"].low is None
    assert specs["age"].influence == pytest.approx(0.75 - -0.5)
    assert (specs["balance"].low, specs["balance"].high, specs["balance"].integer) == (0, 500, True)
    assert specs["balance"].influence == pytest.approx(0.4 * 500 / 50)
    assert specs["job"].categories == ("admin", "student")
    assert specs["job"].influence == pytest.approx(1.5 - 0.2)


def test_a_chat_section_naming_an_unknown_feature_is_refused() -> None:
    # Given a config whose [chat] names a feature the model does not have
    raw = {
        "name": "demo",
        "title": "demo",
        "objective": "test",
        "dataset": {"source": "demo.csv"},
        "target": {"column": "y"},
        "features": {"numeric": ["age"]},
        "chat": {"features": {"salary": {"en": ["salary"]}}},
    }
    # When it is validated / Then it is refused, naming the feature
    with pytest.raises(ValidationError, match="salary"):
        ModelConfig.model_validate(raw)


def test_a_number_beyond_float_range_is_not_read_and_does_not_fail() -> None:
    # Given a balance of 400 nines (infinity as a float)
    extraction = extract(lexicon("bank"), "saldo " + "9" * 400 + ", 45 años")
    # Then it is left unread (reported as not understood) and the rest is read
    assert extraction.features == {"age": 45}
    assert extraction.implausible == {}
    assert extraction.unrecognised == ["saldo " + "9" * 400]


def test_a_long_message_is_read_in_one_pass() -> None:
    # Given a 10,000-character message made of a repeated sentence
    sentence = "Tengo 45 años, saldo 1.200 €, hipoteca sí, soy técnico, casado. "
    message = (sentence * (10_000 // len(sentence) + 1))[:10_000]
    # When it is read
    extraction = extract(lexicon("bank"), message)
    # Then the first mention of each feature wins and the repetitions are not errors
    assert extraction.features == {
        "age": 45,
        "balance": 1200,
        "job": "technician",
        "marital": "married",
        "housing": "yes",
    }
    assert extraction.implausible == {}


# Pieces people (and hostile clients) type: numbers with separators and signs, units, negations,
# accents, symbols, stray punctuation.
_PIECES = [
    "45", "-3", "1.200", "2,5", "0.125", "1 200", "9" * 30, "k", "mil", "M", "años", "GB", "€",
    "$", "9" * 400, "saldo", "edad", "no", "sin", "never", "not", "y", "and", ",", ".", ":", "=",
    "-", "'", "técnico", "casado", "hipoteca", "sí", "may", "unknown", "ñ", "¿", "\u00a0", "\n",
    "x_y",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.sampled_from(_PIECES) | st.text(max_size=5), max_size=40),
    st.sampled_from(["bank", "telecom", "churn"]),
)
def test_any_text_is_read_without_error_into_known_values(pieces: list[str], model: str) -> None:
    # Given any mix of numbers, units, negations, symbols and random text
    message = " ".join(pieces)
    known = lexicon(model).features
    # When it is read
    extraction = extract(lexicon(model), message)
    # Then every category is one the scorecard knows and every number is inside its range
    for name, value in extraction.features.items():
        spec = known[name].spec
        if spec.kind == "categorical":
            assert value in spec.categories
        else:
            assert isinstance(value, int | float)
            assert spec.low is not None and spec.high is not None
            assert spec.low <= value <= spec.high
    # And nothing is both understood and doubted
    assert not set(extraction.features) & set(extraction.implausible)
