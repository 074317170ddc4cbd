"""Rule-based extraction of model features from a chat message, in Spanish or English.

No ML: the message is normalised (lower case, accents removed) and read by ordered regular
expressions. Every match consumes its span of the text, so a fragment ("no housing loan") feeds
one feature only and later, looser rules ("loan") cannot read it again. Only features of the
model's configuration are emitted, and categorical values only when the model knows them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from propensity.config import ModelConfig
from propensity.service.predictions import Prediction

Language = Literal["es", "en"]
FeatureValue = float | str

# ------------------------------------------------------------------------------------------------
# Numbers
# ------------------------------------------------------------------------------------------------

# 2,500 / 2.500 / 1 200 / 22.696,96 (grouped) or 516.7 / 516,7 / 45 (plain); optional sign.
_NUMBER = (
    r"(?:(?<![\w.,])-\s?)?"
    r"(?:\d{1,3}(?:(?:[.,]|[ ])\d{3})+(?:[.,]\d+)?(?![\d])|\d+(?:[.,]\d+)?)"
)
N = rf"(?P<n>{_NUMBER})(?:\s*(?P<k>k|mil)\b)?"
CUR = r"(?:€|eur\b|euros?\b|\$|usd\b|dolares\b|dollars?\b|bucks\b)"


def parse_number(raw: str, *, multiplier: str | None = None) -> float:
    """A number as people write it: thousands separators, decimal comma or point, k / mil."""
    text = raw.replace(" ", "")
    negative = text.startswith("-")
    text = text.lstrip("-")
    if "," in text and "." in text:
        decimal = "," if text.rfind(",") > text.rfind(".") else "."
        thousands = "." if decimal == "," else ","
        text = text.replace(thousands, "").replace(decimal, ".")
    elif "," in text or "." in text:
        separator = "," if "," in text else "."
        parts = text.split(separator)
        grouped = len(parts) > 2 or (len(parts[1]) == 3 and parts[0] != "0")
        text = "".join(parts) if grouped and multiplier is None else ".".join(parts)
    value = float(text)
    if multiplier in {"k", "mil"}:
        value *= 1000
    return -value if negative else value


def _tidy(value: float) -> float:
    """Integral values as ints (45, not 45.0), the rest rounded to 4 decimals."""
    return int(value) if value == int(value) else round(value, 4)


# ------------------------------------------------------------------------------------------------
# Text with consumed spans
# ------------------------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, accents stripped, one character per input character (spans map back)."""
    out: list[str] = []
    for char in text:
        if char in "’‘´`":
            out.append("'")
            continue
        if char in "\u00a0\u202f\t\r\n":
            out.append(" ")
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)
        )
        out.append(base.lower() if len(base) == 1 else char.lower()[:1] or " ")
    return "".join(out)


class _Text:
    def __init__(self, original: str) -> None:
        self.original = original
        self.norm = normalise(original)
        self.used = [False] * len(self.norm)

    def free(self, start: int, end: int) -> bool:
        return not any(self.used[start:end])

    def take(self, start: int, end: int) -> None:
        for i in range(start, end):
            self.used[i] = True

    def matches(self, pattern: re.Pattern[str]) -> list[re.Match[str]]:
        return [
            m for m in pattern.finditer(self.norm) if m.end() > m.start() and self.free(*m.span())
        ]

    def leftovers(self) -> list[str]:
        chars = [" " if used else c for c, used in zip(self.original, self.used, strict=True)]
        return re.split(r"[;!?\n]|[,.](?!\d)|\s{2,}|\s(?:y|and|e)\s", "".join(chars))


def _c(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


# ------------------------------------------------------------------------------------------------
# Numeric rules: (feature, pattern, options) in priority order across features
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NumberRule:
    feature: str
    pattern: re.Pattern[str]
    scale: float = 1.0
    allow_multiplier: bool = True
    low: float | None = None
    high: float | None = None
    integer: bool = False
    consume_number_only: bool = False


MONTHS: dict[str, str] = {
    "enero": "jan",
    "febrero": "feb",
    "marzo": "mar",
    "abril": "apr",
    "mayo": "may",
    "junio": "jun",
    "julio": "jul",
    "agosto": "aug",
    "septiembre": "sep",
    "setiembre": "sep",
    "octubre": "oct",
    "noviembre": "nov",
    "diciembre": "dec",
    "january": "jan",
    "february": "feb",
    "march": "mar",
    "april": "apr",
    "may": "may",
    "june": "jun",
    "july": "jul",
    "august": "aug",
    "september": "sep",
    "october": "oct",
    "november": "nov",
    "december": "dec",
    "jan": "jan",
    "feb": "feb",
    "apr": "apr",
    "jun": "jun",
    "jul": "jul",
    "aug": "aug",
    "sep": "sep",
    "sept": "sep",
    "oct": "oct",
    "nov": "nov",
    "dec": "dec",
}
_MONTH_WORDS = "|".join(sorted(MONTHS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th|º|o)?"
_AGE_STOP = (
    r"(?!\s*(?:k\b|mil\b|%|€|\$|eur|euro|dolar|dollar|times|veces|calls|llamad|minut"
    r"|messag|mensaj|sms|gb|mb|days|dias))"
)
_DATA = r"(?:datos|data|internet|mb_used)"
_TIMES = r"(?:veces|vez|times?)"
_CONTACTED = r"(?:contactad[oa]|llamad[oa]|contacted|called|phoned|contacte|llame)"

_NUMBER_RULES: tuple[_NumberRule, ...] = (
    # age
    _NumberRule("age", _c(rf"\btengo\s+{N}\s+anos?\b(?:\s+de\s+edad)?"), low=15, high=120),
    _NumberRule(
        "age",
        _c(rf"\b{N}\s*(?:-\s*)?(?:years?|yrs?|y/o|yo)\b(?:\s*-?\s*old\b)?"),
        low=15,
        high=120,
        allow_multiplier=False,
    ),
    _NumberRule(
        "age", _c(rf"\b{N}\s+anos?\b(?:\s+de\s+edad)?"), low=15, high=120, allow_multiplier=False
    ),
    _NumberRule(
        "age",
        _c(rf"\b(?:edad|age|aged)\s*(?:[:=]|\bde\b|\bof\b|\bis\b|\bes\b)?\s*{N}"),
        low=15,
        high=120,
        allow_multiplier=False,
    ),
    _NumberRule(
        "age",
        _c(rf"\bi\s*(?:'\s*m|m|\s+am)\s+{N}{_AGE_STOP}"),
        low=15,
        high=120,
        allow_multiplier=False,
    ),
    # previous contacts (before campaign: "contacted 2 times before")
    _NumberRule(
        "previous",
        _c(
            rf"\b{_CONTACTED}\s+{N}\s+{_TIMES}\s+(?:antes|before|previously|anteriormente|en\s+(?:campanas\s+)?anteriores|in\s+(?:the\s+)?previous\s+campaigns?)"
        ),
        integer=True,
        low=0,
    ),
    _NumberRule(
        "previous",
        _c(
            rf"\b{N}\s+(?:contactos|llamadas|contacts|calls)\s+(?:previos|anteriores|previous|prior|before|antes)\b"
        ),
        integer=True,
        low=0,
    ),
    _NumberRule(
        "previous",
        _c(rf"\b{N}\s+(?:previous|prior|earlier)\s+(?:contacts?|calls?)\b"),
        integer=True,
        low=0,
    ),
    _NumberRule(
        "previous",
        _c(rf"\b(?:contactos\s+(?:previos|anteriores)|previous\s+contacts|previous)\s*[:=]?\s*{N}"),
        integer=True,
        low=0,
    ),
    # pdays
    _NumberRule("pdays", _c(rf"\bhace\s+{N}\s+dias\b"), integer=True, low=-1),
    _NumberRule("pdays", _c(rf"\b{N}\s+days?\s+(?:ago|since)\b"), integer=True, low=-1),
    _NumberRule("pdays", _c(rf"\b{N}\s+dias\s+desde\b"), integer=True, low=-1),
    # campaign
    _NumberRule("campaign", _c(rf"\b{_CONTACTED}\s+{N}\s+{_TIMES}\b"), integer=True, low=1),
    _NumberRule(
        "campaign",
        _c(
            rf"\b{N}\s+(?:contactos|contacts|llamadas|calls)\s+(?:en|durante|in|during|this|esta)\s+(?:(?:esta|la|this|the|current|actual)\s+)?(?:campana|campaign)\b"
        ),
        integer=True,
        low=1,
    ),
    _NumberRule("campaign", _c(rf"\b{N}\s+{_TIMES}\b"), integer=True, low=1),
    _NumberRule(
        "campaign",
        _c(rf"\b(?:campaign|campana)(?:\s+(?:contacts|contactos))?\s*[:=]?\s*{N}"),
        integer=True,
        low=1,
    ),
    # day of the month (the month word itself is left for the month rule)
    _NumberRule(
        "day",
        _c(rf"\b(?:el\s+)?(?:dia|day)\s*[:=]?\s*{N}{_ORD}(?!\s*(?:dias|days))\b"),
        integer=True,
        low=1,
        high=31,
        allow_multiplier=False,
    ),
    _NumberRule(
        "day",
        _c(rf"\b(?:el\s+)?{N}{_ORD}\s+(?:de\s+|of\s+)?(?=(?:{_MONTH_WORDS})\b)"),
        integer=True,
        low=1,
        high=31,
        allow_multiplier=False,
        consume_number_only=True,
    ),
    _NumberRule(
        "day",
        _c(
            rf"\b(?:{_MONTH_WORDS})\s+{N}{_ORD}\b(?!\s*(?:veces|vez|times?|calls|contacts|llamadas|contactos))"
        ),
        integer=True,
        low=1,
        high=31,
        allow_multiplier=False,
        consume_number_only=True,
    ),
    _NumberRule(
        "day",
        _c(rf"\bon\s+the\s+{N}(?:st|nd|rd|th)\b"),
        integer=True,
        low=1,
        high=31,
        allow_multiplier=False,
    ),
    # balance
    _NumberRule(
        "balance",
        _c(
            rf"\b(?:saldo\s+negativo|negative\s+balance|descubierto|overdrawn(?:\s+by)?)\s*(?:[:=]|\bde\b|\bof\b)?\s*{CUR}?\s*{N}\s*{CUR}?"
        ),
        scale=-1.0,
    ),
    _NumberRule(
        "balance",
        _c(
            rf"\b(?:saldo|balance|ahorros|savings)(?:\s+(?:medio|promedio|anual|bancario|average|yearly|annual))*\s*(?:[:=]|\bde\b|\bof\b|\bis\b|\bes\b)?\s*(?:de\s+)?{CUR}?\s*{N}\s*{CUR}?"
        ),
    ),
    _NumberRule(
        "balance",
        _c(
            rf"{CUR}?\s*{N}\s*{CUR}?\s+(?:en|in)\s+(?:(?:el|la|mi|the|my)\s+)?(?:banco|bank|cuenta|account)\b"
        ),
    ),
    _NumberRule(
        "balance",
        _c(
            rf"{CUR}?\s*{N}\s*{CUR}?\s+(?:de\s+)?(?:saldo|balance|ahorrados?|saved|ahorros|savings|in\s+savings)\b"
        ),
    ),
    # a lone integer clause ("student, 21, single") is an age
    _NumberRule(
        "age",
        _c(rf"(?:^|(?<=[,;]))\s*{N}\s*(?=[,;]|$)"),
        low=16,
        high=99,
        integer=True,
        allow_multiplier=False,
    ),
    # telecom usage
    _NumberRule(
        "calls", _c(rf"\b{N}\s+(?:llamadas|calls|phone\s+calls)\b"), allow_multiplier=False
    ),
    _NumberRule(
        "minutes",
        _c(rf"\b{N}\s*(?:minutos|minuto|minutes|minute|mins?)\b(?:\s+de\s+(?:llamadas|voz))?"),
        allow_multiplier=False,
    ),
    _NumberRule(
        "messages",
        _c(rf"\b{N}\s*(?:sms|mensajes(?:\s+de\s+texto)?|messages|text\s+messages|texts|msgs?)\b"),
        allow_multiplier=False,
    ),
    _NumberRule(
        "mb_used",
        _c(
            rf"\b(?:{_DATA}\s*[:=]?\s*)?{N}\s*(?:gb|gbs|gigas?|gigabytes?)\b(?:\s+de\s+datos|\s+of\s+data)?"
        ),
        scale=1024.0,
        allow_multiplier=False,
    ),
    _NumberRule(
        "mb_used",
        _c(
            rf"\b(?:{_DATA}\s*[:=]?\s*)?{N}\s*(?:mb|mbs|megas?|megabytes?)\b(?:\s+de\s+datos|\s+of\s+data)?"
        ),
        allow_multiplier=False,
    ),
    _NumberRule("calls", _c(rf"\b(?:llamadas|calls)\s*[:=]?\s*{N}"), allow_multiplier=False),
    _NumberRule("minutes", _c(rf"\b(?:minutos|minutes)\s*[:=]?\s*{N}"), allow_multiplier=False),
    _NumberRule(
        "messages", _c(rf"\b(?:sms|mensajes|messages)\s*[:=]?\s*{N}"), allow_multiplier=False
    ),
    _NumberRule(
        "mb_used",
        _c(rf"\b(?:datos|data|internet)\s*[:=]?\s*{N}\s*(?:gb|gigas?)\b"),
        scale=1024.0,
        allow_multiplier=False,
    ),
    _NumberRule(
        "mb_used",
        _c(rf"\b(?:datos|data|internet)\s*[:=]?\s*{N}(?:\s*(?:mb|megas?)\b)?"),
        allow_multiplier=False,
    ),
)

# "never contacted before": no previous contacts, pdays -1 (the dataset's "not contacted").
_NEVER_CONTACTED = _c(
    r"\b(?:nunca\s+(?:(?:me\s+)?(?:han|ha)\s+)?(?:sido\s+|fue\s+)?(?:contactad[oa]|llamad[oa])"
    r"(?:\s+antes)?|never\s+(?:been\s+)?(?:contacted|called)(?:\s+before)?|no\s+previous\s+contacts?"
    r"|sin\s+contactos\s+(?:previos|anteriores)|first\s+(?:time\s+)?contact(?:ed)?)"
)

# ------------------------------------------------------------------------------------------------
# Categorical rules
# ------------------------------------------------------------------------------------------------


def _alt(*alternatives: str) -> str:
    return "|".join(alternatives)


def _words(pattern: str) -> re.Pattern[str]:
    return _c(rf"(?<![\w-])(?:{pattern})(?![\w-])")


JOBS: dict[str, str] = {
    "unemployed": _alt(
        r"desemplead[oa]s?",
        r"parad[oa]",
        r"en\s+(?:el\s+)?paro",
        r"sin\s+(?:trabajo|empleo)",
        r"unemployed",
        r"jobless",
        r"out\s+of\s+work",
        r"looking\s+for\s+(?:a\s+)?job",
    ),
    "admin.": _alt(
        r"administrativ[oa]s?",
        r"admin\.?",
        r"administrative(?:\s+(?:staff|worker|job))?",
        r"administration",
        r"office\s+(?:clerk|worker|job)",
        r"oficinista",
        r"clerk",
    ),
    "blue-collar": _alt(
        r"obrer[oa]s?",
        r"operari[oa]",
        r"blue[\s-]?collar(?:\s+worker)?",
        r"peon",
        r"albanil",
        r"manual\s+(?:worker|labou?rer)",
        r"factory\s+worker",
        r"construction\s+worker",
        r"trabajador\s+manual",
        r"labou?rer",
    ),
    "entrepreneur": _alt(
        r"emprendedora?",
        r"empresari[oa]",
        r"entrepreneur",
        r"business\s+owner",
        r"own\s+(?:a|my)\s+(?:business|company)",
        r"tengo\s+(?:una|mi)\s+empresa",
    ),
    "housemaid": _alt(
        r"emplead[ao]\s+(?:de\s+hogar|del\s+hogar|domestic[ao])",
        r"trabajadora?\s+(?:domestic[ao]|del\s+hogar)",
        r"housemaid",
        r"maid",
        r"housekeeper",
        r"asistenta",
        r"limpiadora",
    ),
    "management": _alt(
        r"gerente",
        r"directiv[oa]",
        r"directora?",
        r"manager",
        r"management",
        r"jef[ea]",
        r"executive",
        r"ejecutiv[oa]",
    ),
    "retired": r"jubilad[oa]|retirad[oa]|pensionista|retired|pensioner",
    "self-employed": _alt(
        r"autonom[oa]",
        r"self[\s-]?employed",
        r"freelancer?",
        r"por\s+cuenta\s+propia",
        r"trabajador\s+independiente",
    ),
    "services": _alt(
        r"(?:sector\s+)?servicios",
        r"services",
        r"service\s+(?:worker|sector|industry)",
        r"camarer[oa]",
        r"dependient[ae]",
        r"waiter",
        r"waitress",
        r"shop\s+assistant",
    ),
    "student": r"estudiante|student",
    "technician": r"tecnic[oa]|technician|tech",
}
MARITAL: dict[str, str] = {
    "single": r"solter[oa]|single|unmarried|not\s+married|no\s+(?:estoy\s+)?casad[oa]",
    "married": r"casad[oa]|married|(?:mi|my)\s+(?:esposa|esposo|marido|wife|husband)",
    "divorced": r"divorciad[oa]|divorced|separad[oa]|separated|viud[oa]|widow(?:ed|er)?",
}
EDUCATION: dict[str, str] = {
    "primary": _alt(
        r"(?:estudios\s+|educacion\s+)?primari[oa]s?",
        r"primary(?:\s+(?:school|education))?",
        r"educacion\s+basica",
        r"basic\s+education",
        r"elementary(?:\s+school)?",
    ),
    "secondary": _alt(
        r"(?:estudios\s+|educacion\s+)?secundari[oa]s?",
        r"secondary(?:\s+(?:school|education))?",
        r"bachillerato",
        r"high\s+school",
        r"instituto",
    ),
    "tertiary": _alt(
        r"(?:estudios\s+|educacion\s+)?universitari[oa]s?",
        r"(?:la\s+)?universidad",
        r"estudios\s+superiores",
        r"educacion\s+superior",
        r"licenciad[oa]",
        r"graduad[oa]",
        r"master",
        r"doctorado",
        r"tertiary(?:\s+education)?",
        r"university(?:\s+degree)?",
        r"college(?:\s+degree)?",
        r"degree",
        r"bachelor'?s?(?:\s+degree)?",
        r"graduate",
        r"phd",
    ),
}
CONTACT: dict[str, str] = {
    "cellular": _alt(
        r"(?:telefono\s+)?(?:movil|celular)",
        r"cellular",
        r"mobile(?:\s+phone)?",
        r"cell\s*phone",
        r"cell",
        r"smartphone",
    ),
    "telephone": _alt(
        r"telefono(?:\s+fijo)?",
        r"fijo",
        r"linea\s+fija",
        r"landline",
        r"land\s+line",
        r"telephone",
        r"home\s+phone",
        r"fixed\s+line",
    ),
}
_MONTH_CONTEXT = r"(?:in|on|during|since|last|de|en|mes|month|desde|durante)"
_UNAMBIGUOUS_MONTHS = "|".join(k for k in sorted(MONTHS, key=len, reverse=True) if k != "may")
MONTH_PATTERN = _c(
    rf"(?<![\w-])(?:(?P<m>{_UNAMBIGUOUS_MONTHS})"
    r"|(?P<may>may)(?=\s+\d))(?![\w-])"
)
_MAY_AFTER = _c(
    rf"\b{_MONTH_CONTEXT}\s+(?:(?:el|la|the)\s+(?:mes\s+de\s+|month\s+of\s+)?)?(?P<may>may)\b"
)

_NEG = (
    r"(?:\b(?:sin|without|ni|nor|no|not|never|nunca|"
    r"no\s+(?:tengo|tiene|tenemos|hay|esta\s+en|estoy\s+en)|"
    r"(?:do|does)\s*n[o']?t\s+have|don'?t\s+have|doesn'?t\s+have|never\s+had|"
    r"nunca\s+(?:he\s+)?tenido)\s+"
    r"(?:(?:a|an|any|un|una|ningun|ninguna|ningun)\s+)?(?:(?:en|in)\s+)?)"
)
_YES = (
    r"(?:\b(?:con|tengo|tiene|tenemos|with|have|has|got|pago|pagando|paying)\s+"
    r"(?:(?:a|an|un|una|mi|my)\s+)?)"
)
_NO_WORD = r"\s*[:=]?\s*(?:no|none|ninguna?|false)\b"
_YES_WORD = r"\s*[:=]?\s*(?:si|yes|true)\b"


@dataclass(frozen=True)
class _YesNo:
    feature: str
    nouns: str
    bare_means_yes: bool
    yes_forms: str = ""


_YES_NO: tuple[_YesNo, ...] = (
    _YesNo(
        "housing",
        r"hipoteca|prestamo\s+hipotecario|credito\s+hipotecario|housing\s+loan|housing|mortgage|home\s+loan",
        bare_means_yes=True,
    ),
    _YesNo(
        "loan",
        r"prestamo(?:\s+personal)?|prestamos\s+personales|credito\s+personal|personal\s+loan|consumer\s+loan|car\s+loan|loan",
        bare_means_yes=True,
    ),
    _YesNo(
        "default",
        r"impagos?|morosidad|default|credito\s+en\s+mora|deudas?\s+impagadas?",
        bare_means_yes=False,
        yes_forms=r"\b(?:en\s+(?:impago|mora)|in\s+default|has\s+defaulted|defaulted|moros[oa]|con\s+impagos|tengo\s+impagos|tiene\s+impagos)\b",
    ),
)

_PREVIOUS_CAMPAIGN = _c(
    r"\b(?:(?:campana|campaign|resultado|outcome|oferta|offer)\s+(?:anterior|previa|previo|pasada|prior|previous|last)"
    r"|(?:anterior|previous|prior|last|ultima|pasada)\s+(?:campana|campaign|resultado|outcome|oferta|offer)|poutcome)\b"
)
OUTCOMES: dict[str, str] = {
    "failure": _alt(
        r"fracas\w*",
        r"fall(?:o|ida|ido)",
        r"failed",
        r"failure",
        r"unsuccessful",
        r"no\s+funciono",
        r"salio\s+mal",
        r"didn'?t\s+work",
        r"negativ[oa]",
        r"rechaz\w+",
        r"rejected",
        r"declined",
    ),
    "success": _alt(
        r"exit\w*",
        r"success\w*",
        r"succeeded",
        r"funciono",
        r"salio\s+bien",
        r"worked",
        r"positiv[oa]",
        r"acepto",
        r"accepted",
        r"subscribed",
        r"suscribio",
        r"contrato",
    ),
    "other": r"otro|otra|other",
}
_CLAUSE_BREAK = _c(r"[;!?\n]|[,.](?!\d)|\s(?:y|and|pero|but)\s")

# ------------------------------------------------------------------------------------------------
# Extraction
# ------------------------------------------------------------------------------------------------


@dataclass
class Extraction:
    features: dict[str, FeatureValue] = field(default_factory=dict)
    understood: list[str] = field(default_factory=list)
    unrecognised: list[str] = field(default_factory=list)
    language: Language = "en"


class _Extractor:
    def __init__(
        self, config: ModelConfig, text: str, categories: Mapping[str, Sequence[str]]
    ) -> None:
        self.text = _Text(text)
        self.order = config.features.all
        self.numeric = set(config.features.numeric)
        self.categorical = set(config.features.categorical)
        self.categories = {k: set(v) for k, v in categories.items()}
        self.features: dict[str, FeatureValue] = {}

    # -- helpers ---------------------------------------------------------------------------
    def _wants(self, feature: str) -> bool:
        return (
            feature in self.numeric or feature in self.categorical
        ) and feature not in self.features

    def _set(self, feature: str, value: FeatureValue, *spans: tuple[int, int]) -> bool:
        if not self._wants(feature):
            return False
        if feature in self.categorical and (
            not isinstance(value, str) or value not in self.categories.get(feature, set())
        ):
            return False
        self.features[feature] = value
        for span in spans:
            self.text.take(*span)
        return True

    def _earliest(self, feature: str, options: Mapping[str, str]) -> None:
        """The category whose synonym appears first (longest on ties), consuming it."""
        if not self._wants(feature):
            return
        best: tuple[int, int, str] | None = None
        for category, pattern in options.items():
            if category not in self.categories.get(feature, set()):
                continue
            for match in self.text.matches(_words(pattern)):
                key = (match.start(), -(match.end() - match.start()), category)
                if best is None or key < best:
                    best = key
                break
        if best is not None:
            start, negative_length, category = best
            self._set(feature, category, (start, start - negative_length))

    # -- rules -----------------------------------------------------------------------------
    def generic(self) -> None:
        """``name: value`` / ``name=value`` with the model's own feature names."""
        for name in sorted(self.numeric):
            pattern = _c(rf"\b{re.escape(name)}\s*[:=]?\s*{N}")
            for match in self.text.matches(pattern):
                value = parse_number(match["n"], multiplier=match["k"])
                if self._set(name, _tidy(value), match.span()):
                    break
        for name in sorted(self.categorical):
            pattern = _c(rf"\b{re.escape(name)}\s*[:=]\s*(?P<v>[\w.\-]+)")
            for match in self.text.matches(pattern):
                category = match["v"]
                if category not in self.categories.get(name, set()):
                    category = category.rstrip(".")
                if self._set(name, category, match.span()):
                    break

    def numbers(self) -> None:
        if self._wants("previous") or self._wants("pdays"):
            for match in self.text.matches(_NEVER_CONTACTED):
                took = self._set("previous", 0)
                took = self._set("pdays", -1) or took
                if took:
                    self.text.take(*match.span())
                break
        for rule in _NUMBER_RULES:
            if not self._wants(rule.feature):
                continue
            for match in self.text.matches(rule.pattern):
                multiplier = match["k"] if rule.allow_multiplier else None
                if match["k"] and not rule.allow_multiplier:
                    continue
                value = parse_number(match["n"], multiplier=multiplier) * rule.scale
                if rule.integer and value != int(value):
                    continue
                if rule.low is not None and value < rule.low:
                    continue
                if rule.high is not None and value > rule.high:
                    continue
                span = match.span("n") if rule.consume_number_only else match.span()
                if self._set(rule.feature, _tidy(value), span):
                    break

    def yes_no(self) -> None:
        for rule in _YES_NO:
            if not self._wants(rule.feature):
                continue
            nouns = rf"(?:{rule.nouns})(?![\w-])"
            candidates: list[tuple[re.Pattern[str], str]] = [
                (_c(rf"{_NEG}{nouns}"), "no"),
                (_c(rf"\b{nouns}{_NO_WORD}"), "no"),
                (_c(rf"\b{nouns}{_YES_WORD}"), "yes"),
            ]
            if rule.yes_forms:
                candidates.append((_c(rule.yes_forms), "yes"))
            candidates.append((_c(rf"{_YES}{nouns}"), "yes"))
            if rule.bare_means_yes:
                candidates.append((_c(rf"\b{nouns}"), "yes"))
            for pattern, value in candidates:
                found = self.text.matches(pattern)
                if found and self._set(rule.feature, value, found[0].span()):
                    break

    def months(self) -> None:
        if not self._wants("month"):
            return
        for match in self.text.matches(MONTH_PATTERN):
            word = match["m"] or match["may"]
            if self._set("month", MONTHS[word], match.span()):
                return
        for match in self.text.matches(_MAY_AFTER):
            if self._set("month", "may", match.span("may")):
                return

    def outcome(self) -> None:
        if not self._wants("poutcome"):
            return
        norm = self.text.norm
        for keyword in self.text.matches(_PREVIOUS_CAMPAIGN):
            breaks = [m.start() for m in _CLAUSE_BREAK.finditer(norm)]
            start = max((b for b in breaks if b < keyword.start()), default=-1) + 1
            end = min((b for b in breaks if b >= keyword.end()), default=len(norm))
            for category, pattern in OUTCOMES.items():
                word = _c(rf"(?<![\w-])(?:{pattern})(?![\w-])").search(norm, start, end)
                if (
                    word
                    and self.text.free(*word.span())
                    and self._set("poutcome", category, keyword.span(), word.span())
                ):
                    return

    def run(self) -> Extraction:
        self.generic()
        self.numbers()
        self.yes_no()
        self._earliest("job", JOBS)
        self._earliest("marital", MARITAL)
        self._earliest("education", EDUCATION)
        self._earliest("contact", CONTACT)
        self.months()
        self.outcome()
        self._fallback_categories()
        understood = [f for f in self.order if f in self.features]
        return Extraction(
            features={f: self.features[f] for f in understood},
            understood=understood,
            unrecognised=self._unrecognised(),
            language=detect_language(self.text.original),
        )

    def _fallback_categories(self) -> None:
        """Models without rules: a category value written as a word (not yes/no/unknown)."""
        ruled = {
            "job",
            "marital",
            "education",
            "contact",
            "month",
            "poutcome",
            "housing",
            "loan",
            "default",
        }
        for feature in sorted(self.categorical - ruled):
            values = [
                v
                for v in self.categories.get(feature, ())
                if len(v) >= 3 and normalise(v) not in {"yes", "no", "unknown", "other", "none"}
            ]
            options = {v: re.escape(normalise(v)) for v in values}
            self._earliest(feature, options)

    def _unrecognised(self) -> list[str]:
        out = []
        for fragment in self.text.leftovers():
            words = re.findall(r"[\w'$€%]+", normalise(fragment))
            meaningful = [w for w in words if w not in _STOPWORDS and (len(w) > 2 or w.isdigit())]
            if meaningful:
                out.append(" ".join(fragment.split()))
        return out


_STOPWORDS = frozenset(
    [
        "soy",
        "tengo",
        "tiene",
        "estoy",
        "es",
        "el",
        "la",
        "los",
        "las",
        "un",
        "una",
        "unos",
        "unas",
        "de",
        "del",
        "en",
        "y",
        "e",
        "o",
        "con",
        "mi",
        "mis",
        "me",
        "yo",
        "al",
        "por",
        "para",
        "que",
        "uso",
        "hago",
        "hace",
        "hago",
        "tambien",
        "ademas",
        "trabajo",
        "como",
        "pero",
        "muy",
        "mas",
        "su",
        "sus",
        "nos",
        "lo",
        "le",
        "se",
        "fue",
        "ha",
        "he",
        "han",
        "hemos",
        "cliente",
        "clienta",
        "cual",
        "i",
        "i'm",
        "im",
        "am",
        "is",
        "are",
        "a",
        "an",
        "the",
        "and",
        "or",
        "with",
        "my",
        "me",
        "of",
        "in",
        "on",
        "at",
        "to",
        "for",
        "have",
        "has",
        "had",
        "use",
        "make",
        "do",
        "does",
        "also",
        "work",
        "as",
        "but",
        "very",
        "more",
        "our",
        "we",
        "it",
        "was",
        "were",
        "been",
        "be",
        "client",
        "customer",
        "about",
        "per",
        "month",
        "mes",
        "al",
        "hola",
        "contacted",
        "contactado",
        "contactada",
        "last",
        "ultima",
        "vez",
        "desde",
        "llamo",
        "called",
        "hello",
        "hi",
        "please",
        "por",
        "favor",
        "gracias",
        "thanks",
        "thank",
        "you",
    ]
)

# ------------------------------------------------------------------------------------------------
# Language and reply
# ------------------------------------------------------------------------------------------------

_SPANISH = frozenset(
    [
        "tengo",
        "soy",
        "anos",
        "ano",
        "saldo",
        "hipoteca",
        "prestamo",
        "personal",
        "casado",
        "casada",
        "soltero",
        "soltera",
        "divorciado",
        "divorciada",
        "sin",
        "con",
        "y",
        "el",
        "la",
        "los",
        "las",
        "de",
        "del",
        "en",
        "hago",
        "uso",
        "mi",
        "estoy",
        "campana",
        "veces",
        "llamadas",
        "minutos",
        "mensajes",
        "euros",
        "fue",
        "un",
        "una",
        "es",
        "por",
        "que",
        "al",
        "hace",
        "dias",
        "trabajo",
        "impagos",
        "movil",
        "telefono",
        "anterior",
        "exito",
        "edad",
        "mayo",
        "enero",
        "febrero",
        "marzo",
        "abril",
        "junio",
        "julio",
        "agosto",
        "septiembre",
        "octubre",
        "noviembre",
        "diciembre",
        "jubilado",
        "jubilada",
        "tecnico",
        "tecnica",
        "obrero",
        "estudiante",
        "desempleado",
        "autonomo",
        "gerente",
        "contactado",
        "contactada",
        "fracaso",
        "universitaria",
        "universidad",
        "secundaria",
        "primaria",
        "tambien",
        "pero",
        "si",
    ]
)
_ENGLISH = frozenset(
    [
        "i",
        "i'm",
        "im",
        "am",
        "have",
        "has",
        "the",
        "and",
        "with",
        "balance",
        "loan",
        "mortgage",
        "single",
        "married",
        "divorced",
        "years",
        "old",
        "calls",
        "minutes",
        "messages",
        "in",
        "my",
        "of",
        "was",
        "is",
        "a",
        "an",
        "no",
        "not",
        "housing",
        "personal",
        "bank",
        "campaign",
        "previous",
        "times",
        "called",
        "contacted",
        "succeeded",
        "failed",
        "success",
        "failure",
        "retired",
        "student",
        "technician",
        "manager",
        "unemployed",
        "self-employed",
        "mobile",
        "landline",
        "use",
        "make",
        "month",
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
        "education",
        "university",
        "degree",
        "secondary",
        "primary",
        "default",
    ]
)


def detect_language(text: str) -> Language:
    """es or en, by counting marker words (accents and ñ/¿/¡ count for Spanish); en on ties."""
    words = re.findall(r"[\w']+", normalise(text))
    spanish = sum(w in _SPANISH for w in words) + 2 * len(re.findall(r"[ñáéíóú¿¡]", text.lower()))
    english = sum(w in _ENGLISH for w in words)
    return "es" if spanish > english else "en"


def extract_features(
    config: ModelConfig, text: str, categories: Mapping[str, Sequence[str]]
) -> Extraction:
    """The features of ``config`` found in ``text`` (categoricals only with known categories)."""
    return _Extractor(config, text, categories).run()


def _percent(value: float, language: Language) -> str:
    text = f"{value * 100:.1f}"
    return f"{text.replace('.', ',')} %" if language == "es" else f"{text}%"


def _decimal(value: float, language: Language) -> str:
    text = f"{value:.2f}"
    return text.replace(".", ",") if language == "es" else text


def _value(value: object, language: Language) -> str:
    if isinstance(value, float) and value != int(value):
        return _decimal(value, language).rstrip("0").rstrip(",.")
    if isinstance(value, float):
        return str(int(value))
    return str(value)


def chat_reply(prediction: Prediction, extraction: Extraction, language: Language) -> str:
    """A short answer: probability, label, what was understood and what was defaulted."""
    understood = ", ".join(
        f"{name}={_value(value, language)}" for name, value in extraction.features.items()
    )
    defaults = ", ".join(prediction.imputed)
    probability = _percent(prediction.probability, language)
    threshold = _decimal(prediction.threshold, language)
    if language == "es":
        parts = [
            f"Probabilidad estimada: {probability}. Predicción: «{prediction.label}» "
            f"(umbral {threshold}, modelo {prediction.model} {prediction.version}).",
            f"He entendido: {understood}.",
            f"Rellenado con valores por defecto: {defaults}."
            if defaults
            else "No he tenido que rellenar ningún campo por defecto.",
        ]
        if extraction.unrecognised:
            parts.append("No he entendido: " + "; ".join(extraction.unrecognised) + ".")
    else:
        parts = [
            f"Estimated probability: {probability}. Prediction: '{prediction.label}' "
            f"(threshold {threshold}, model {prediction.model} {prediction.version}).",
            f"I understood: {understood}.",
            f"Filled with defaults: {defaults}." if defaults else "No field needed a default.",
        ]
        if extraction.unrecognised:
            parts.append("I did not understand: " + "; ".join(extraction.unrecognised) + ".")
    return " ".join(parts)
