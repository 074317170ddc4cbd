"""One generic extractor: reads a message with a model's lexicon.

The message becomes items (known phrases, longest first) split into clauses. Then, in order:
yes/no answers after a feature's name ("hipoteca sí"), negation scopes (a negation word governs
the rest of its clause, in both languages), fixed phrases, category values, and numbers, each
linked to the feature named by a unit or alias next to it. Every number is checked against the
training range in the scorecard: an implausible one is set aside to be asked about, not scored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from propensity.chat.lexicon import (
    CONJUNCTIONS,
    CURRENCIES,
    ENGLISH,
    FILLERS,
    GLUED_ONLY,
    ORDINALS,
    SPANISH,
    Item,
    Lexicon,
    Meaning,
    Value,
)
from propensity.chat.text import normalise, parse_number, tidy, tokenise
from propensity.scoring.scorecard import FeatureSpec

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
    reason: str


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


class _Reader:
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
            self.implausible[feature] = Implausible(feature, tidy(value), problem)
        else:
            self.features[feature] = tidy(value)
        for index in indexes:
            self.used[index] = True
        return True

    # -- passes ---------------------------------------------------------------------------------
    def answers(self) -> None:
        """"hipoteca sí", "loan: no", and "job: astronaut" (a value the model does not know)."""
        for index, item in enumerate(self.items):
            for alias in item.of("alias"):
                entry = self.lexicon.features[alias.feature]
                if entry.numeric or not self._free(alias.feature):
                    continue
                after = self._skip(index + 1, 1, frozenset({":", "=", "is", "es"}))
                answer = self._at(after)
                if answer is None:
                    continue
                if answer.of("yes") and entry.yes_value:
                    self._set_category(alias.feature, entry.yes_value, index, after)
                elif answer.of("no") and entry.no_value:
                    self._set_category(alias.feature, entry.no_value, index, after)
                elif (
                    not answer.meanings
                    and answer.kind == "word"
                    and self.items[index + 1].text in (":", "=")
                ):
                    known = ", ".join(entry.spec.categories)
                    reason = f"is not a category the model knows ({known})"
                    self.implausible[alias.feature] = Implausible(alias.feature, answer.text, reason)
                    self.used[index] = self.used[after] = True

    def negations(self) -> None:
        scope = -1
        for index, item in enumerate(self.items):
            if self.clause[index] != scope:
                scope = -1
            if scope >= 0:
                self.negated[index] = True
            elif item.of("negation") and not self.used[index]:
                scope = self.clause[index]
                self.used[index] = True

    def phrases(self) -> None:
        for index, item in enumerate(self.items):
            for meaning in item.of("phrase"):
                for feature, value in meaning.sets:
                    if not self._free(feature):
                        continue
                    if isinstance(value, str):
                        self._set_category(feature, value, index)
                    else:
                        self._set_number(feature, value, index)

    def categories(self) -> None:
        for index, item in enumerate(self.items):
            if self.used[index]:
                continue
            named = self.named.get(self.clause[index], set())
            values = [
                m
                for m in item.of("value")
                if self._free(m.feature) and (not m.ambiguous or m.feature in named)
            ]
            if len({m.feature for m in values}) > 1:  # "unknown" of several features
                values = [m for m in values if m.feature in named]
            if len({m.feature for m in values}) == 1:
                self._value(index, values[0])
                continue
            for alias in item.of("alias"):
                entry = self.lexicon.features[alias.feature]
                if entry.numeric or not self._free(alias.feature):
                    continue
                if self.negated[index] and entry.no_value:
                    self._set_category(alias.feature, entry.no_value, index)
                elif not self.negated[index] and entry.binary and entry.yes_value:
                    self._set_category(alias.feature, entry.yes_value, index)

    def _value(self, index: int, meaning: Meaning) -> None:
        entry = self.lexicon.features[meaning.feature]
        category = str(meaning.value)
        if self.negated[index]:
            opposite = entry.chat.opposites.get(category)
            if entry.binary and category in (entry.yes_value, entry.no_value):
                opposite = entry.no_value if category == entry.yes_value else entry.yes_value
            if opposite is None or opposite not in entry.spec.categories:
                self.excluded.setdefault(meaning.feature, []).append(category)
                self.used[index] = True
                return
            category = opposite
        self._set_category(meaning.feature, category, index)

    def numbers(self) -> None:
        found = []  # (index of the number, value, index after it, is it written with a multiplier)
        for index, item in enumerate(self.items):
            if item.kind != "number" or self.used[index]:
                continue
            after = index + 1
            factor = 1.0
            nxt = self._at(after)
            if nxt is not None and nxt.of("multiplier"):
                if nxt.text not in GLUED_ONLY or nxt.start == item.end:
                    factor = float(nxt.of("multiplier")[0].value)
                    after += 1
            value = parse_number(item.text, multiplied=factor != 1.0) * factor
            found.append((index, value, after))
        befores = [self._before(index) for index, _, _ in found]
        for strong in (True, False):  # units after the number, names before it, then the rest
            for (index, value, after), before in zip(found, befores, strict=True):
                if self.used[index]:
                    continue
                self._link_after(index, value, after, before, strong=strong)
                if strong and not self.used[index]:
                    self._link_before(index, value, before)
        for (index, value, after), before in zip(found, befores, strict=True):
            if not self.used[index]:
                self._link_context(index, value, after, before)

    def _before(self, index: int) -> int:
        return self._skip(index - 1, -1, FILLERS | CURRENCIES)

    def _allowed(self, feature: str, index: int) -> bool:
        entry = self.lexicon.features[feature]
        if not entry.numeric or not self._free(feature):
            return False
        previous = self.items[index - 1].text if index > 0 else ""
        return previous not in entry.not_after

    def _link(self, index: int, value: float, alias_index: int, *extra: int) -> bool:
        alias = self._at(alias_index)
        if alias is None:
            return False
        for meaning in alias.of("alias"):
            if self._allowed(meaning.feature, index):
                return self._set_number(
                    meaning.feature, value * float(meaning.value), index, alias_index, *extra
                )
        return False

    def _link_after(self, index: int, value: float, after: int, before: int, *, strong: bool) -> None:
        unit = self._skip(after, 1, FILLERS | CURRENCIES)
        if unit < 0 or self._at(unit) is None:
            return
        following = self._skip(unit + 1, 1, FILLERS | CURRENCIES)
        labels_next = following >= 0 and self.items[following].kind == "number"
        if strong and labels_next and not self.used[following]:
            return  # "calls 85 minutes 516": "minutes" names the number after it
        self._link(index, value, unit, *range(index + 1, after))

    def _link_before(self, index: int, value: float, before: int) -> None:
        if before >= 0:
            self._link(index, value, before, *range(before + 1, index))

    def _link_context(self, index: int, value: float, after: int, before: int) -> None:
        """A day next to a month ("15 de junio", "March 5"), or a number alone in its clause."""
        neighbours = [self._skip(after, 1, ORDINALS), self._skip(index - 1, -1, ORDINALS)]
        for neighbour in neighbours:
            if neighbour < 0:
                continue
            for meaning in self.items[neighbour].of("value"):
                for name, entry in self.lexicon.features.items():
                    if entry.chat.next_to == meaning.feature and self._allowed(name, index):
                        if self._set_number(name, value, index, quiet=True):
                            return
        if value == int(value) and self.substance.get(self.clause[index]) == 1:
            for name, entry in self.lexicon.features.items():
                if entry.chat.bare_number and self._allowed(name, index):
                    if self._set_number(name, value, index, quiet=True):
                        return

    # -- result ---------------------------------------------------------------------------------
    def unrecognised(self) -> list[str]:
        understood = set(self.features) | set(self.implausible) | set(self.excluded)
        fragments: list[str] = []
        run: list[int] = []
        for index, item in enumerate([*self.items, Item("break", ("",), 0, 0)]):
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


def extract(lexicon: Lexicon, message: str) -> Extraction:
    """What ``message`` says about the features of ``lexicon``'s model."""
    reader = _Reader(lexicon, message)
    reader.answers()
    reader.negations()
    reader.phrases()
    reader.categories()
    reader.numbers()
    order = list(lexicon.features)
    return Extraction(
        features={f: reader.features[f] for f in order if f in reader.features},
        language=reader.language(),
        implausible={f: reader.implausible[f] for f in order if f in reader.implausible},
        excluded=reader.excluded,
        unrecognised=reader.unrecognised(),
    )
