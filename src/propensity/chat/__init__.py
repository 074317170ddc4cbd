"""Chat: a client described in Spanish or English, read with the model's own lexicon.

``text`` normalises (accents, separators, multipliers), ``lexicon`` joins the model's ``[chat]``
config with its scorecard, ``extract`` reads the message, ``reply`` answers. Standard library
only; the predict function imports it on the first chat request, not at cold start.
"""

from __future__ import annotations

from propensity.chat.extract import extract
from propensity.chat.lexicon import Lexicon, build_lexicon
from propensity.chat.reading import Extraction, Implausible, Language
from propensity.chat.reply import most_influential, prediction_reply, question_reply
from propensity.chat.text import normalise, parse_number
from propensity.config import ModelConfig
from propensity.scoring.scorecard import Scorer

_CACHE_SIZE = 32
_lexicons: dict[tuple[str, str, int], Lexicon] = {}


def lexicon_for(config: ModelConfig, scorer: Scorer) -> Lexicon:
    """The lexicon of ``config`` for the champion ``scorer``, built once per scorecard."""
    key = (config.name, scorer.version, id(scorer))
    lexicon = _lexicons.get(key)
    if lexicon is None:
        if len(_lexicons) >= _CACHE_SIZE:
            _lexicons.clear()
        lexicon = _lexicons[key] = build_lexicon(config, scorer.feature_specs())
    return lexicon


__all__ = [
    "Extraction",
    "Implausible",
    "Language",
    "Lexicon",
    "build_lexicon",
    "extract",
    "lexicon_for",
    "most_influential",
    "normalise",
    "parse_number",
    "prediction_reply",
    "question_reply",
]
