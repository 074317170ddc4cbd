"""The state of one reading: the message as items in clauses, and what has been read so far.

Shared by the passes of ``propensity.chat.numbers`` and ``propensity.chat.extract``; also the
result types and the words never reported as "not understood".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from propensity.chat.lexicon import (
    CONJUNCTIONS,
    CURRENCIES,
    ENGLISH,
    FILLERS,
    SPANISH,
    Item,
    Lexicon,
    Value,
)
from propensity.chat.text import normalise, tidy, tokenise
from propensity.scoring.specs import FeatureSpec

Language = Literal["es", "en"]
_ACCENTED = frozenset("ñáéíóú¿¡")
# Words that say nothing about the client: never reported as "not understood".
_STOPWORDS = SPANISH | ENGLISH | FILLERS | CONJUNCTIONS | CURRENCIES | {
    "hola", "hello", "hi", "please", "gracias", "thanks", "me", "yo", "we", "it", "lo", "le",
    "se", "ha", "he", "han", "also", "tambien", "ademas", "as", "como", "o", "or", "very",
    "client", "clienta", "contacted", "contactado", "contactada", "called", "llamado", "so",
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Implausible:
    feature: str
    value: Value
    reason: str  # in English, for the API; the reply words it in the message's language
    low: float | None = None  # the training range, for a number outside it
    high: float | None = None


@dataclass
class Extraction:
    features: dict[str, Value] = field(default_factory=dict)  # in the model's feature order
    language: Language = "en"
    implausible: dict[str, Implausible] = field(default_factory=dict)
    excluded: dict[str, list[str]] = field(default_factory=dict)  # "not a student": job ≠ student
    unrecognised: list[str] = field(default_factory=list)


def plausibility(spec: FeatureSpec, value: float) -> str | None:
    """Why ``value`` is not plausible for a numeric feature, or None when it is."""
    if spec.low is not None and spec.high is not None and not spec.low <= value <= spec.high:
        return f"is outside the range seen in training ({tidy(spec.low)} to {tidy(spec.high)})"
    return None


class Reading:
    def __init__(self, lexicon: Lexicon, message: str) -> None:
        self.lexicon = lexicon
        self.message = message
        self.items = lexicon.match(tokenise(normalise(message)))
        self.used = [False] * len(self.items)
        self.negated = [False] * len(self.items)
        self.clause: list[int] = []
        clause = 0
        for item in self.items:
            if item.kind == "break" or (not item.meanings and item.text in CONJUNCTIONS):
                clause += 1
            self.clause.append(clause)
        self.named: dict[int, set[str]] = {}  # clause → features it names
        self.substance: dict[int, int] = {}  # clause → how many of its items say something
        for index, item in enumerate(self.items):
            if item.kind != "break" and item.text not in _STOPWORDS:
                self.substance[self.clause[index]] = self.substance.get(self.clause[index], 0) + 1
            for meaning in item.of("alias"):
                self.named.setdefault(self.clause[index], set()).add(meaning.feature)
        self.features: dict[str, Value] = {}
        self.implausible: dict[str, Implausible] = {}
        self.excluded: dict[str, list[str]] = {}

    # -- helpers ------------------------------------------------------------------------------
    def _free(self, feature: str) -> bool:
        return feature not in self.features and feature not in self.implausible

    def _skip(self, index: int, step: int, words: frozenset[str]) -> int:
        """The next index from ``index`` (in direction ``step``, same clause) not in ``words``."""
        clause = self.clause[index - step] if 0 <= index - step < len(self.items) else -1
        while 0 <= index < len(self.items) and self.clause[index] == clause:
            item = self.items[index]
            if item.kind == "break" or self.used[index] or item.text not in words:
                return index
            index += step
        return -1

    def _at(self, index: int) -> Item | None:
        if 0 <= index < len(self.items) and not self.used[index]:
            return self.items[index]
        return None

    def _set_category(self, feature: str, category: str, *indexes: int) -> None:
        if self._free(feature):
            self.features[feature] = category
        for index in indexes:
            self.used[index] = True

    def _set_number(self, feature: str, value: float, *indexes: int, quiet: bool = False) -> bool:
        spec = self.lexicon.features[feature].spec
        problem = plausibility(spec, value)
        if problem and quiet:
            return False
        if problem:
            self.implausible[feature] = Implausible(
                feature, tidy(value), problem, spec.low, spec.high
            )
        else:
            self.features[feature] = tidy(value)
        for index in indexes:
            self.used[index] = True
        return True

    # -- result ---------------------------------------------------------------------------------
    def unrecognised(self) -> list[str]:
        understood = set(self.features) | set(self.implausible) | set(self.excluded)
        fragments: list[str] = []
        run: list[int] = []
        for index, item in enumerate([*self.items, Item("break", ("",), "", 0, 0)]):
            free = index < len(self.items) and not self.used[index] and item.kind != "break"
            if free and not any(m.feature in understood for m in item.meanings if m.feature):
                if run and self.clause[run[-1]] != self.clause[index]:
                    self._fragment(run, fragments)
                    run = []
                run.append(index)
                continue
            if run:
                self._fragment(run, fragments)
                run = []
        return fragments

    def _fragment(self, run: list[int], fragments: list[str]) -> None:
        items = [self.items[i] for i in run]
        words = [(w, i.kind) for i in items for w in i.words]
        if any(w not in _STOPWORDS and (len(w) > 2 or kind == "number") for w, kind in words):
            fragments.append(" ".join(self.message[items[0].start : items[-1].end].split()))

    def language(self) -> Language:
        spanish = english = 0
        for item in self.items:
            languages = {m.language for m in item.of("alias")}
            spanish += "es" in languages or any(w in SPANISH for w in item.words)
            english += "en" in languages or any(w in ENGLISH for w in item.words)
        spanish += 2 * sum(c in _ACCENTED for c in self.message.lower())
        return "es" if spanish > english else "en"
