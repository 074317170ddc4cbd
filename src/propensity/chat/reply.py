"""The chat's answer: what was understood, what was defaulted, and what to ask next.

Written in the message's language. When a value is implausible the answer is a question about
it and nothing is scored; otherwise it gives the prediction and asks for the one or two missing
fields that could move it most (by the scorecard's weights).
"""

from __future__ import annotations

from collections.abc import Sequence

from propensity.chat.lexicon import Lexicon, Value
from propensity.chat.reading import Extraction, Implausible, Language
from propensity.chat.text import tidy
from propensity.service.predictions import Prediction

ASK_AT_MOST = 2


def most_influential(
    lexicon: Lexicon, missing: Sequence[str], count: int = ASK_AT_MOST
) -> list[str]:
    """The ``count`` missing features that can move the score most, strongest first."""
    known = [name for name in missing if name in lexicon.features]
    ranked = sorted(known, key=lambda name: -lexicon.features[name].spec.influence)
    return ranked[:count]


def _number(value: float, language: Language) -> str:
    text = f"{value * 100:.1f}"
    return text.replace(".", ",") if language == "es" else text


def _value(value: Value, language: Language) -> str:
    if isinstance(value, float):
        text = f"{value:g}"
        return text.replace(".", ",") if language == "es" else text
    return str(value)


def _listed(features: dict[str, Value], language: Language) -> str:
    return ", ".join(f"{name}={_value(value, language)}" for name, value in features.items())


def _excluded(extraction: Extraction, language: Language) -> str:
    word = " no es " if language == "es" else " is not "
    return "; ".join(
        f"{name}{word}{' / '.join(values)}" for name, values in extraction.excluded.items()
    )


def _doubt(doubt: Implausible, language: Language) -> str:
    reason = doubt.reason
    if language == "es" and doubt.low is not None and doubt.high is not None:
        low, high = _value(tidy(doubt.low), language), _value(tidy(doubt.high), language)
        reason = f"fuera del rango visto en el entrenamiento, de {low} a {high}"
    elif language == "es":
        reason = "no es una categoría que el modelo conozca"
    return f"{doubt.feature} = {_value(doubt.value, language)} ({reason})"


def question_reply(extraction: Extraction, language: Language) -> str:
    """The answer when a value is implausible: ask about it, score nothing."""
    asked = [_doubt(doubt, language) for doubt in extraction.implausible.values()]
    if language == "es":
        parts = [
            "Antes de puntuar, ¿puede confirmarlo? No me parece plausible: "
            + "; ".join(asked)
            + "."
        ]
        if extraction.features:
            parts.append(f"Sí he entendido: {_listed(extraction.features, language)}.")
    else:
        parts = [
            "Before scoring, could you check this? It does not look plausible: "
            + "; ".join(asked)
            + "."
        ]
        if extraction.features:
            parts.append(f"I did understand: {_listed(extraction.features, language)}.")
    return " ".join(parts)


def prediction_reply(
    prediction: Prediction, extraction: Extraction, ask: Sequence[str], language: Language
) -> str:
    """The answer with a score: probability, label, understood, defaulted, and what to ask."""
    understood = _listed(extraction.features, language)
    defaults = ", ".join(prediction.imputed)
    probability = _number(prediction.probability, language)
    threshold = f"{prediction.threshold:.2f}"
    excluded = _excluded(extraction, language)
    if language == "es":
        parts = [
            f"Probabilidad estimada: {probability} %. Predicción: «{prediction.label}» "
            f"(umbral {threshold.replace('.', ',')}, modelo {prediction.model} "
            f"{prediction.version}).",
            f"He entendido: {understood}.",
            f"Entiendo que {excluded}." if excluded else "",
            f"Rellenado con valores por defecto: {defaults}."
            if defaults
            else "No he tenido que rellenar ningún campo por defecto.",
            f"Para afinar, dígame: {', '.join(ask)}." if ask else "",
            "No he entendido: " + "; ".join(extraction.unrecognised) + "."
            if extraction.unrecognised
            else "",
        ]
    else:
        parts = [
            f"Estimated probability: {probability}%. Prediction: '{prediction.label}' "
            f"(threshold {threshold}, model {prediction.model} {prediction.version}).",
            f"I understood: {understood}.",
            f"I take it that {excluded}." if excluded else "",
            f"Filled with defaults: {defaults}." if defaults else "No field needed a default.",
            f"To be more precise, tell me: {', '.join(ask)}." if ask else "",
            "I did not understand: " + "; ".join(extraction.unrecognised) + "."
            if extraction.unrecognised
            else "",
        ]
    return " ".join(part for part in parts if part)
