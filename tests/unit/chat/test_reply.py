"""The chat's answer: understood, defaulted, ruled out, what to ask, and questions on doubts."""

from __future__ import annotations

from propensity.chat import extract, most_influential, prediction_reply, question_reply
from propensity.service.predictions import Prediction
from tests.support.chat_lexicons import INFLUENCE, lexicon


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


def test_the_most_influential_missing_fields_are_asked_for_strongest_first() -> None:
    # Given a bank lexicon whose specs rank poutcome, month, contact above the rest
    assert INFLUENCE["poutcome"] > INFLUENCE["month"] > INFLUENCE["contact"]
    # When the missing fields are ranked
    ask = most_influential(lexicon("bank"), ["day", "contact", "poutcome", "month"])
    # Then the two strongest are asked for
    assert ask == ["poutcome", "month"]


def test_spanish_reply_names_probability_label_understood_excluded_defaults_and_asks() -> None:
    # Given a Spanish message that rules out a job, and its prediction
    extraction = extract(lexicon("bank"), "Tengo 45 años, saldo 516,7, no soy estudiante")
    # When the reply is written
    reply = prediction_reply(_prediction(["day", "poutcome"]), extraction, ["poutcome"], "es")
    # Then it gives the probability, the label and every list, in Spanish
    assert "23,5 %" in reply and "«no»" in reply and "umbral 0,31" in reply
    assert "He entendido: age=45, balance=516,7." in reply
    assert "Entiendo que job no es student." in reply
    assert "Rellenado con valores por defecto: day, poutcome." in reply
    assert "Para afinar, dígame: poutcome." in reply


def test_english_reply_says_when_nothing_was_defaulted_and_what_it_did_not_understand() -> None:
    # Given an English extraction with an unrecognised fragment and no imputation
    extraction = extract(lexicon("telecom"), "85 calls, I love cats")
    # When the reply is written in English
    reply = prediction_reply(_prediction([]), extraction, [], "en")
    # Then it says so
    assert "23.5%" in reply and "'no'" in reply and "I understood: calls=85." in reply
    assert "No field needed a default." in reply and "I did not understand: I love cats." in reply
    assert "tell me" not in reply


def test_an_implausible_value_gets_a_question_naming_the_value_and_the_range() -> None:
    # Given a message with an age outside the training range
    extraction = extract(lexicon("bank"), "tengo 150 años, casado")
    # When the reply is written
    reply = question_reply(extraction, "es")
    # Then it asks about the value, gives the range and what else was understood, in Spanish
    assert "age = 150 (fuera del rango visto en el entrenamiento, de 18 a 95)" in reply
    assert reply.startswith("Antes de puntuar") and "Sí he entendido: marital=married." in reply
    english = question_reply(extract(lexicon("telecom"), "5000 calls"), "en")
    assert english.startswith("Before scoring") and "calls = 5000" in english
    assert "outside the range seen in training (0 to " in english


def test_a_category_the_model_does_not_know_is_asked_about() -> None:
    # Given "job: astronaut" (bank knows no such job)
    extraction = extract(lexicon("bank"), "job: astronaut, edad 40")
    # When the reply is written in Spanish / Then it names the value as unknown to the model
    assert "job = astronaut (no es una categoría que el modelo conozca)" in question_reply(
        extraction, "es"
    )
    assert "technician" in extraction.implausible["job"].reason  # the API lists the known ones
