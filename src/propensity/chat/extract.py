"""One generic extractor: reads a message with a model's lexicon.

The message becomes items (known phrases, longest first) split into clauses. Then, in order:
yes/no answers after a feature's name ("hipoteca sí"), negation scopes (a negation word governs
the rest of its clause, in both languages), fixed phrases, category values, and numbers, each
linked to the feature named by a unit or alias next to it. Every number is checked against the
training range in the scorecard: an implausible one is set aside to be asked about, not scored.
"""

from __future__ import annotations

from propensity.chat.lexicon import Lexicon, Meaning
from propensity.chat.numbers import NumberReading
from propensity.chat.reading import Extraction, Implausible

_ANSWER_FILLERS = frozenset({":", "=", "is", "es"})


class _Reader(NumberReading):
    def answers(self) -> None:
        """Answers after a feature's name: "hipoteca sí", "loan: no", and "job: astronaut" (a
        value the model does not know, asked about)."""
        for index, item in enumerate(self.items):
            for alias in item.of("alias"):
                entry = self.lexicon.features[alias.feature]
                if entry.numeric or not self._free(alias.feature):
                    continue
                after = self._skip(index + 1, 1, _ANSWER_FILLERS)
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
                    self.implausible[alias.feature] = Implausible(
                        alias.feature, answer.text, reason
                    )
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
