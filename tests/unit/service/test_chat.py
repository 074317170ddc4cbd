"""Rule-based chat extraction: a table of Spanish and English phrases with their features."""

from __future__ import annotations

import csv
import gzip
from collections.abc import Mapping, Sequence

import pytest

from propensity.config import ModelConfig, load_model_config
from propensity.service.chat import (
    Extraction,
    chat_reply,
    detect_language,
    extract_features,
    parse_number,
)
from propensity.service.predictions import Prediction
from tests.conftest import DATA_ROOT

BANK = load_model_config("bank")
TELECOM = load_model_config("telecom")


def _bank_categories() -> dict[str, list[str]]:
    """The category values of the real dataset (what the trained scorecard knows)."""
    path = DATA_ROOT / BANK.dataset.source
    with gzip.open(path, "rt", encoding=BANK.dataset.encoding) as handle:
        reader = csv.DictReader(handle, delimiter=BANK.dataset.delimiter)
        seen: dict[str, set[str]] = {name: set() for name in BANK.features.categorical}
        for row in reader:
            for name, values in seen.items():
                values.add(row[name])
    return {name: sorted(values) for name, values in seen.items()}


BANK_CATEGORIES = _bank_categories()
NO_CATEGORIES: dict[str, list[str]] = {}

# (language, text, expected features)
BANK_PHRASES: list[tuple[str, str, dict[str, float | str]]] = [
    # --- Spanish ---------------------------------------------------------------------------
    (
        "es",
        "Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado",
        {"age": 45, "balance": 1200, "housing": "yes", "job": "technician", "marital": "married"},
    ),
    (
        "es",
        "Soy jubilada, viuda, estudios primarios, sin hipoteca ni préstamo",
        {
            "job": "retired",
            "marital": "divorced",
            "education": "primary",
            "housing": "no",
            "loan": "no",
        },
    ),
    (
        "es",
        "Tengo 3.500 euros en el banco y un préstamo personal",
        {"balance": 3500, "loan": "yes"},
    ),
    (
        "es",
        "sin impagos, contactado 3 veces en mayo por móvil",
        {"default": "no", "campaign": 3, "month": "may", "contact": "cellular"},
    ),
    ("es", "la campaña anterior fue un éxito", {"poutcome": "success"}),
    (
        "es",
        "obrero, 38 años, casado, secundaria, teléfono fijo",
        {
            "job": "blue-collar",
            "age": 38,
            "marital": "married",
            "education": "secondary",
            "contact": "telephone",
        },
    ),
    (
        "es",
        "Soy autónomo, divorciado, universidad, saldo de -300 €",
        {"job": "self-employed", "marital": "divorced", "education": "tertiary", "balance": -300},
    ),
    (
        "es",
        "emprendedor de 50 años con hipoteca, contactado el 15 de junio",
        {"job": "entrepreneur", "age": 50, "housing": "yes", "day": 15, "month": "jun"},
    ),
    (
        "es",
        "empleada doméstica, soltera, 27 años, saldo 516,7",
        {"job": "housemaid", "marital": "single", "age": 27, "balance": 516.7},
    ),
    (
        "es",
        "gerente, casado, 2.500 € de saldo, nunca contactado antes",
        {"job": "management", "marital": "married", "balance": 2500, "previous": 0, "pdays": -1},
    ),
    (
        "es",
        "Estudiante de 22 años, soltero, sin hipoteca",
        {"job": "student", "age": 22, "marital": "single", "housing": "no"},
    ),
    ("es", "desempleado, edad 55", {"job": "unemployed", "age": 55}),
    (
        "es",
        "trabajo en servicios, hipoteca no, préstamo sí",
        {"job": "services", "housing": "no", "loan": "yes"},
    ),
    (
        "es",
        "administrativa, casada, 1 200 euros de saldo",
        {"job": "admin.", "marital": "married", "balance": 1200},
    ),
    (
        "es",
        "TENGO 45 AÑOS, CASADO, CAMPAÑA ANTERIOR FRACASO, CELULAR, EN OCTUBRE",
        {
            "age": 45,
            "marital": "married",
            "poutcome": "failure",
            "contact": "cellular",
            "month": "oct",
        },
    ),
    ("es", "el día 12 de marzo", {"day": 12, "month": "mar"}),
    ("es", "Hola, me llamo Ana y tengo 29 años", {"age": 29}),
    (
        "es",
        "directivo con estudios universitarios, ahorros de 12.000 euros, en mora",
        {"job": "management", "education": "tertiary", "balance": 12000, "default": "yes"},
    ),
    (
        "es",
        "no tengo hipoteca, tengo un préstamo, contactado 2 veces antes",
        {"housing": "no", "loan": "yes", "previous": 2},
    ),
    (
        "es",
        "Divorciada, 61 años, con 3 mil euros en la cuenta, llamada hace 90 días",
        {"marital": "divorced", "age": 61, "balance": 3000, "pdays": 90},
    ),
    # --- English ---------------------------------------------------------------------------
    (
        "en",
        "I'm 30, single, no housing loan, balance 2,500",
        {"age": 30, "marital": "single", "housing": "no", "balance": 2500},
    ),
    (
        "en",
        "I am a 52 year old retired teacher with a mortgage and a personal loan",
        {"age": 52, "job": "retired", "housing": "yes", "loan": "yes"},
    ),
    (
        "en",
        "I have 3k in the bank, no personal loan, not in default",
        {"balance": 3000, "loan": "no", "default": "no"},
    ),
    (
        "en",
        "Contacted in May, called 2 times, on a landline",
        {"month": "may", "campaign": 2, "contact": "telephone"},
    ),
    (
        "en",
        "previous campaign failed, contacted 4 times before",
        {"poutcome": "failure", "previous": 4},
    ),
    (
        "en",
        "the previous campaign succeeded; last contacted 30 days ago",
        {"poutcome": "success", "pdays": 30},
    ),
    (
        "en",
        "blue collar worker aged 41, married, high school, mobile phone",
        {
            "job": "blue-collar",
            "age": 41,
            "marital": "married",
            "education": "secondary",
            "contact": "cellular",
        },
    ),
    (
        "en",
        "self-employed, divorced, university degree, balance of -1.200",
        {"job": "self-employed", "marital": "divorced", "education": "tertiary", "balance": -1200},
    ),
    (
        "en",
        "I'm an entrepreneur, 33 years old, contacted on 5 March",
        {"job": "entrepreneur", "age": 33, "day": 5, "month": "mar"},
    ),
    (
        "en",
        "manager, married, $2,500 in savings, never contacted before",
        {"job": "management", "marital": "married", "balance": 2500, "previous": 0, "pdays": -1},
    ),
    ("en", "student, 21, single", {"job": "student", "age": 21, "marital": "single"}),
    ("en", "unemployed, age 47, in default", {"job": "unemployed", "age": 47, "default": "yes"}),
    (
        "en",
        "services, housing: yes, loan: no, default: no",
        {"job": "services", "housing": "yes", "loan": "no", "default": "no"},
    ),
    (
        "en",
        "admin., married, contacted in august, previous outcome: other",
        {"job": "admin.", "marital": "married", "month": "aug", "poutcome": "other"},
    ),
    (
        "en",
        "I work in management, I have a tertiary education, contacted 1 time",
        {"job": "management", "education": "tertiary", "campaign": 1},
    ),
    (
        "en",
        "job=technician month=nov day=20 campaign=2 pdays=-1",
        {"job": "technician", "month": "nov", "day": 20, "campaign": 2, "pdays": -1},
    ),
    (
        "en",
        "my age is 64 and I am retired, with no mortgage",
        {"age": 64, "job": "retired", "housing": "no"},
    ),
    (
        "en",
        "married with a mortgage, I don't have a personal loan",
        {"marital": "married", "housing": "yes", "loan": "no"},
    ),
    (
        "en",
        "Housemaid, 60 yo, primary school, widowed, balance 516.7 euros",
        {
            "job": "housemaid",
            "age": 60,
            "education": "primary",
            "marital": "divorced",
            "balance": 516.7,
        },
    ),
    (
        "en",
        "TECHNICIAN AGED 29, SINGLE, CALLED 3 TIMES IN JULY ON HIS CELL PHONE",
        {
            "job": "technician",
            "age": 29,
            "marital": "single",
            "campaign": 3,
            "month": "jul",
            "contact": "cellular",
        },
    ),
]

TELECOM_PHRASES: list[tuple[str, str, dict[str, float | str]]] = [
    (
        "es",
        "hago 85 llamadas, 516 minutos, 56 SMS y uso 22 GB",
        {"calls": 85, "minutes": 516, "messages": 56, "mb_used": 22 * 1024},
    ),
    (
        "en",
        "85 calls, 516.7 minutes, 56 messages, 22696 MB",
        {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696},
    ),
    (
        "en",
        "calls: 40, minutes: 311,5, messages 12, data 1.5 GB",
        {"calls": 40, "minutes": 311.5, "messages": 12, "mb_used": 1536},
    ),
    (
        "es",
        "Hago unas 120 llamadas al mes, 1.050 minutos, 10 mensajes y gasto 15.000 MB",
        {"calls": 120, "minutes": 1050, "messages": 10, "mb_used": 15000},
    ),
    (
        "es",
        "uso 22.696,96 megas de datos y 516,7 min",
        {"mb_used": 22696.96, "minutes": 516.7},
    ),
    ("en", "I send 3 texts and use 2 GB of data", {"messages": 3, "mb_used": 2048}),
]

TABLE = [(BANK, BANK_CATEGORIES, *row) for row in BANK_PHRASES] + [
    (TELECOM, NO_CATEGORIES, *row) for row in TELECOM_PHRASES
]


def test_the_table_covers_both_languages() -> None:
    # Given the phrase table
    languages = [language for _, _, language, _, _ in TABLE]
    # Then it has at least 40 phrases, 15 per language, and the three from the issue
    assert len(TABLE) >= 40
    assert languages.count("es") >= 15 and languages.count("en") >= 15
    texts = {text for _, _, _, text, _ in TABLE}
    assert {
        "Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado",
        "I'm 30, single, no housing loan, balance 2,500",
        "hago 85 llamadas, 516 minutos, 56 SMS y uso 22 GB",
    } <= texts


@pytest.mark.parametrize(
    ("config", "categories", "language", "text", "expected"),
    TABLE,
    ids=[row[3][:50] for row in TABLE],
)
def test_phrase_is_extracted_exactly(
    config: ModelConfig,
    categories: Mapping[str, Sequence[str]],
    language: str,
    text: str,
    expected: dict[str, float | str],
) -> None:
    # Given a message about a client and the model's known categories
    # When the features are extracted
    extraction = extract_features(config, text, categories)
    # Then exactly the expected features are read, in the model's feature order
    assert extraction.features == expected
    assert extraction.understood == [f for f in config.features.all if f in expected]
    # And the message's language is detected
    assert extraction.language == language
    # And every categorical value is one the model knows
    for name, value in extraction.features.items():
        if name in config.features.categorical:
            assert value in categories[name]


@pytest.mark.parametrize(
    ("raw", "multiplier", "expected"),
    [
        ("2,500", None, 2500),
        ("2.500", None, 2500),
        ("1 200", None, 1200),
        ("516.7", None, 516.7),
        ("516,7", None, 516.7),
        ("22.696,96", None, 22696.96),
        ("1,234,567", None, 1234567),
        ("0.125", None, 0.125),
        ("3", "k", 3000),
        ("1.5", "k", 1500),
        ("-300", None, -300),
    ],
)
def test_numbers_are_read_as_people_write_them(
    raw: str, multiplier: str | None, expected: float
) -> None:
    # Given a number with separators / When parsed / Then its value
    assert parse_number(raw, multiplier=multiplier) == pytest.approx(expected)


def test_categories_the_model_does_not_know_are_not_emitted() -> None:
    # Given a scorecard that never saw the "student" job
    categories = {**BANK_CATEGORIES, "job": [j for j in BANK_CATEGORIES["job"] if j != "student"]}
    # When a student is described
    extraction = extract_features(BANK, "student, 21, single", categories)
    # Then the job is left out (the model will impute it), the rest is read
    assert extraction.features == {"age": 21, "marital": "single"}


def test_features_of_other_models_are_ignored() -> None:
    # Given a telecom message read with the bank model
    extraction = extract_features(BANK, "85 calls, 516 minutes", BANK_CATEGORIES)
    # Then nothing is understood and the fragments are reported
    assert extraction.features == {}
    assert extraction.unrecognised == ["85 calls", "516 minutes"]


def test_unrecognised_fragments_are_reported() -> None:
    # Given a message with something the rules do not know
    extraction = extract_features(BANK, "Tengo 45 años, me gusta el fútbol", BANK_CATEGORIES)
    # Then the known part is read and the rest reported
    assert extraction.features == {"age": 45}
    assert extraction.unrecognised == ["me gusta el fútbol"]


@pytest.mark.parametrize(
    ("text", "language"),
    [("hola, soy técnico", "es"), ("hello, I am a technician", "en"), ("56 SMS", "en")],
)
def test_language_detection(text: str, language: str) -> None:
    assert detect_language(text) == language


def _prediction(imputed: list[str]) -> Prediction:
    return Prediction(
        prediction_id="abc",
        model="bank",
        version="v1",
        probability=0.2346,
        prediction=0,
        label="no",
        threshold=0.31,
        timestamp="2024-01-01T00:00:00.000+00:00",
        reasons=[],
        imputed=imputed,
    )


def test_spanish_reply_names_probability_label_understood_and_defaults() -> None:
    # Given a Spanish extraction and its prediction
    extraction = Extraction(features={"age": 45, "balance": 516.7}, understood=["age", "balance"])
    # When the reply is written in Spanish
    reply = chat_reply(_prediction(["day", "month"]), extraction, "es")
    # Then it gives the probability, the label and both lists
    assert "23,5 %" in reply and "«no»" in reply and "umbral 0,31" in reply
    assert "He entendido: age=45, balance=516,7." in reply
    assert "Rellenado con valores por defecto: day, month." in reply


def test_english_reply_says_when_nothing_was_defaulted() -> None:
    # Given an English extraction with unrecognised fragments and no imputation
    extraction = Extraction(
        features={"calls": 85}, understood=["calls"], unrecognised=["I love cats"]
    )
    # When the reply is written in English
    reply = chat_reply(_prediction([]), extraction, "en")
    # Then it says so
    assert "23.5%" in reply and "'no'" in reply and "I understood: calls=85." in reply
    assert "No field needed a default." in reply and "I did not understand: I love cats." in reply
