"""The lexicon of one model: its ``[chat]`` section joined with what its scorecard knows.

Model vocabulary comes only from the config (aliases, units, category synonyms, fixed phrases)
and the scorecard (feature names, categories, training ranges). What is here in code is the
language itself: negation, multipliers, currencies, filler and clause words of Spanish and
English, the same for every model.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from propensity.chat.text import Token, normalise, words_of
from propensity.config import ModelConfig
from propensity.config_chat import ChatFeatureConfig
from propensity.scoring.specs import FeatureSpec

MeaningKind = Literal["alias", "value", "phrase", "yes", "no", "negation", "multiplier"]
Value = float | int | str

# One rule for both languages: a negation word governs the rest of its clause.
NEGATIONS = (
    "no", "not", "never", "nunca", "jamas", "sin", "ni", "nor", "without", "tampoco", "neither",
    "don't", "dont", "doesn't", "doesnt", "didn't", "didnt", "isn't", "wasn't", "haven't",
    "hasn't", "aren't", "no longer",
)  # fmt: skip
# A clause ends at punctuation or at these words (so "sin hipoteca y con préstamo" is two).
CONJUNCTIONS = frozenset({"y", "e", "and", "but", "pero", "aunque", "though", "although"})
# Words that may stand between a feature's name and its number ("saldo de 300", "age is 64").
FILLERS = frozenset(
    {":", "=", "de", "of", "is", "es", "was", "fue", "a", "an", "un", "una", "the", "el", "la",
     "my", "mi", "su", "his", "her", "about", "around", "unos", "unas", "aprox", "sobre",
     "approximately", "roughly", "are", "son", "at", "en", "in", "to"}
)  # fmt: skip
ORDINALS = frozenset({"st", "nd", "rd", "th", "o", "er", "de", "of", "the", "el"})
CURRENCIES = frozenset(
    {"€", "$", "£", "eur", "euro", "euros", "usd", "dollar", "dollars", "dolar", "dolares",
     "bucks", "gbp", "pounds", "libras"}
)  # fmt: skip
# Multipliers after a number; "m" only when written against it ("2M"), not as a word.
MULTIPLIERS = {"k": 1e3, "mil": 1e3, "thousand": 1e3, "m": 1e6, "million": 1e6, "millon": 1e6,
               "millones": 1e6, "millions": 1e6}  # fmt: skip
GLUED_ONLY = frozenset({"m"})
# Function words that tell the language when the lexicon's own words do not.
SPANISH = frozenset(
    {"tengo", "tiene", "soy", "estoy", "es", "el", "la", "los", "las", "de", "del", "en", "y",
     "con", "sin", "un", "una", "mi", "por", "que", "al", "hace", "pero", "nunca", "fue", "uso",
     "hago", "anos", "dias", "mes", "veces", "llevo", "pago", "cliente", "desde", "muy", "mas"}
)  # fmt: skip
ENGLISH = frozenset(
    {"i", "i'm", "im", "am", "have", "has", "the", "and", "with", "of", "in", "my", "is", "a",
     "an", "not", "was", "years", "old", "never", "per", "on", "been", "for", "pay", "use",
     "make", "send", "times", "without", "don't", "customer", "month", "months"}
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Meaning:
    kind: MeaningKind
    feature: str = ""
    value: Value = ""  # the category of a value; the factor of an alias or unit
    language: str = ""  # "es"/"en" for aliases written under those keys
    ambiguous: bool = False  # a value that counts only in a clause naming its feature
    sets: tuple[tuple[str, Value], ...] = ()  # what a fixed phrase sets


@dataclass(frozen=True, slots=True)
class Item:
    """A matched phrase, or a single token the lexicon does not know."""

    kind: str  # a token kind
    words: tuple[str, ...]
    text: str  # the words joined by single spaces
    start: int
    end: int
    meanings: tuple[Meaning, ...] = ()

    def of(self, kind: MeaningKind) -> list[Meaning]:
        return [m for m in self.meanings if m.kind == kind]


@dataclass(frozen=True)
class FeatureLexicon:
    spec: FeatureSpec
    chat: ChatFeatureConfig
    yes_value: str | None = None  # the category meaning yes, for categoricals that have one
    no_value: str | None = None
    not_after: frozenset[str] = frozenset()

    @property
    def binary(self) -> bool:
        return self.yes_value is not None and self.no_value is not None

    @property
    def numeric(self) -> bool:
        return self.spec.kind == "numeric"


@dataclass
class Lexicon:
    model: str
    features: dict[str, FeatureLexicon]
    phrases: dict[tuple[str, ...], tuple[Meaning, ...]] = field(default_factory=dict)
    # Phrases by their first word, longest first: matching tries only these at each word.
    _by_first: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)

    def add(self, phrase: str, meaning: Meaning) -> None:
        words = words_of(phrase)
        if not words or not words[0][0].isalpha():
            return
        meanings = self.phrases.get(words, ())
        if meaning not in meanings:
            self.phrases[words] = (*meanings, meaning)

    def freeze(self) -> Lexicon:
        self._by_first = {}
        for words in self.phrases:
            self._by_first.setdefault(words[0], []).append(words)
        for options in self._by_first.values():
            options.sort(key=len, reverse=True)
        return self

    def match(self, tokens: Sequence[Token]) -> list[Item]:
        """Tokens grouped into the longest known phrases, left to right (linear: each token
        starts at most the few phrases that begin with its word)."""
        items: list[Item] = []
        i, count = 0, len(tokens)
        while i < count:
            token = tokens[i]
            if token.kind == "word":
                for words in self._by_first.get(token.text, ()):
                    end = i + len(words)
                    if end <= count and all(tokens[i + k].text == w for k, w in enumerate(words)):
                        last = tokens[end - 1].end
                        text = " ".join(words)
                        items.append(
                            Item("word", words, text, token.start, last, self.phrases[words])
                        )
                        i = end
                        break
                else:
                    items.append(Item("word", (token.text,), token.text, token.start, token.end))
                    i += 1
                continue
            items.append(Item(token.kind, (token.text,), token.text, token.start, token.end))
            i += 1
        return items


def _category_word(category: str, words: set[tuple[str, ...]]) -> bool:
    return words_of(category) in words


def build_lexicon(config: ModelConfig, specs: Sequence[FeatureSpec]) -> Lexicon:
    """The lexicon of ``config``'s model for the features its scorecard ``specs`` describe."""
    chat = config.chat
    yes_words = {words_of(w) for w in chat.yes}
    no_words = {words_of(w) for w in chat.no}
    lexicon = Lexicon(config.name, {})
    for spec in specs:
        settings = chat.features.get(spec.name, ChatFeatureConfig())
        yes_value = next((c for c in spec.categories if _category_word(c, yes_words)), None)
        no_value = next((c for c in spec.categories if _category_word(c, no_words)), None)
        blockers = normalised_set(settings.not_after)
        entry = FeatureLexicon(spec, settings, yes_value, no_value, blockers)
        lexicon.features[spec.name] = entry
        lexicon.add(spec.name, Meaning("alias", spec.name, 1.0))
        for language, aliases in (("es", settings.es), ("en", settings.en)):
            for alias in aliases:
                lexicon.add(alias, Meaning("alias", spec.name, 1.0, language))
        if entry.numeric:
            for unit, factor in settings.units.items():
                lexicon.add(unit, Meaning("alias", spec.name, factor))
            continue
        ambiguous = {words_of(a) for a in settings.ambiguous}
        for category in spec.categories:
            synonyms = list(settings.values.get(category, ()))
            if category not in (yes_value, no_value):  # "yes" alone names no feature
                synonyms.append(category)
            for synonym in synonyms:
                unclear = settings.needs_alias or words_of(synonym) in ambiguous
                lexicon.add(synonym, Meaning("value", spec.name, category, ambiguous=unclear))
    for phrase in chat.phrases:
        sets = tuple(phrase.sets.items())
        for says in phrase.says:
            lexicon.add(says, Meaning("phrase", sets=sets))
    for words, kind in ((chat.yes, "yes"), (chat.no, "no"), (NEGATIONS, "negation")):
        for word in words:
            lexicon.add(word, Meaning(kind))  # type: ignore[arg-type]
    for word, factor in MULTIPLIERS.items():
        lexicon.add(word, Meaning("multiplier", value=factor))
    return lexicon.freeze()


def normalised_set(words: Sequence[str]) -> frozenset[str]:
    return frozenset(" ".join(words_of(w)) or normalise(w) for w in words)
