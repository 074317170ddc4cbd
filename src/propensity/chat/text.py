"""Text normalisation: accents, case, tokens and numbers as people write them (es/en).

Everything here is one left-to-right pass over the message: one regular expression without
nested quantifiers finds the tokens, so the cost grows linearly with the message
(``bench/chat_parse.py`` measures it).
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

TokenKind = Literal["number", "word", "symbol", "break"]

# A number: digits, then groups of three after a thousands separator (. , space or '), then an
# optional decimal part. Which separator is the decimal one is decided by parse_number().
# A minus sign counts only where a sign can stand ("saldo -300", "pdays=-1"), not in "2013-14".
_TOKEN = re.compile(
    r"(?P<number>(?:(?<![\w.,-])-)?\d+(?:[., ']\d{3}(?!\d))*(?:[.,]\d+)?)"
    r"|(?P<word>[a-z][a-z0-9_]*(?:'[a-z]+)*)"
    r"|(?P<symbol>[€$£%:=/+])"
    r"|(?P<break>[,;.!?()\n])"
)
_QUOTES = str.maketrans({"’": "'", "‘": "'", "´": "'", "`": "'"})
_SPACES = str.maketrans({"\u00a0": " ", "\u202f": " ", "\t": " ", "\r": " "})


@dataclass(frozen=True, slots=True)
class Token:
    kind: TokenKind
    text: str  # normalised
    start: int  # character span in the message (normalisation keeps one character per character)
    end: int


@lru_cache(maxsize=4096)
def _fold(char: str) -> str:
    """One character, lower case, accents stripped: still one character (spans map back)."""
    base = unicodedata.normalize("NFKD", char)
    kept = "".join(c for c in base if not unicodedata.combining(c)).lower()
    return kept[:1] or " "


def normalise(text: str) -> str:
    """Lower case with accents stripped, one character per input character."""
    text = text.translate(_QUOTES).translate(_SPACES)
    if text.isascii():
        return text.lower()
    return "".join(map(_fold, text))


def tokenise(text: str) -> list[Token]:
    """The tokens of an already normalised text, in order."""
    tokens = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup
        assert kind is not None  # every alternative is a named group
        tokens.append(Token(kind, match.group(), match.start(), match.end()))  # type: ignore[arg-type]
    return tokens


def words_of(phrase: str) -> tuple[str, ...]:
    """The word and number tokens of a lexicon phrase ("Blue-collar" → ("blue", "collar"))."""
    return tuple(t.text for t in tokenise(normalise(phrase)) if t.kind in ("word", "number"))


def parse_number(raw: str, *, multiplied: bool = False) -> float:
    """A number as people write it: 2,500 / 2.500 / 1 200 / 22.696,96 / 516,7 / 0.125.

    One separator followed by exactly three digits is a thousands separator (2.500 = 2500),
    except after a lone 0 (0.125) or when a multiplier follows (1.5k = 1500).
    """
    text = raw.replace(" ", "").replace("'", "")
    negative = text.startswith("-")
    text = text.lstrip("-")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text or "." in text:
        separator = "," if "," in text else "."
        parts = text.split(separator)
        grouped = len(parts) > 2 or (len(parts[1]) == 3 and parts[0] != "0" and not multiplied)
        text = "".join(parts) if grouped else ".".join(parts)
    value = float(text)
    return -value if negative else value


def tidy(value: float) -> float | int:
    """Integral values as ints (45, not 45.0), the rest rounded to 4 decimals."""
    if not math.isfinite(value):
        return value
    return int(value) if value == int(value) else round(value, 4)
