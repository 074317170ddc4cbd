"""Numbers linked to features: a unit after the number, a name before it, or its context.

In order: a unit or name after the number ("45 años", "2.500 € de saldo") unless that word
labels the next number ("calls 85 minutes 516"), then a name before it ("saldo 1200"), then a
name after it anyway, then context: a day next to a month ("15 de junio"), or a number alone in
its clause ("student, 21, single"). Each is checked against the training range.
"""

from __future__ import annotations

import math

from propensity.chat.lexicon import CURRENCIES, FILLERS, GLUED_ONLY, ORDINALS
from propensity.chat.reading import Reading
from propensity.chat.text import parse_number

_AROUND = FILLERS | CURRENCIES  # what may stand between a number and its unit or name


class NumberReading(Reading):
    def numbers(self) -> None:
        found = []  # (index of the number, its value, the index after it and its multiplier)
        for index, item in enumerate(self.items):
            if item.kind != "number" or self.used[index]:
                continue
            after = index + 1
            factor = 1.0
            nxt = self._at(after)
            if (
                nxt is not None
                and nxt.of("multiplier")
                and (nxt.text not in GLUED_ONLY or nxt.start == item.end)
            ):
                factor = float(nxt.of("multiplier")[0].value)
                after += 1
            value = parse_number(item.text, multiplied=factor != 1.0) * factor
            if math.isfinite(value):  # 400 nines overflow to infinity: not a number anyone means
                found.append((index, value, after))
        befores = [self._before(index) for index, _, _ in found]
        for strong in (True, False):  # units after the number, names before it, then the rest
            for (index, value, after), before in zip(found, befores, strict=True):
                if self.used[index]:
                    continue
                self._link_after(index, value, after, strong=strong)
                if strong and not self.used[index]:
                    self._link_before(index, value, before)
        for index, value, after in found:
            if not self.used[index]:
                self._link_context(index, value, after)

    def _before(self, index: int) -> int:
        return self._skip(index - 1, -1, _AROUND)

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

    def _link_after(self, index: int, value: float, after: int, *, strong: bool) -> None:
        unit = self._skip(after, 1, _AROUND)
        if unit < 0 or self._at(unit) is None:
            return
        following = self._skip(unit + 1, 1, _AROUND)
        labels_next = following >= 0 and self.items[following].kind == "number"
        if strong and labels_next and not self.used[following]:
            return  # "calls 85 minutes 516": "minutes" names the number after it
        self._link(index, value, unit, *range(index + 1, after))

    def _link_before(self, index: int, value: float, before: int) -> None:
        if before >= 0:
            self._link(index, value, before, *range(before + 1, index))

    def _link_context(self, index: int, value: float, after: int) -> None:
        """A day next to a month ("15 de junio", "March 5"), or a number alone in its clause."""
        neighbours = [self._skip(after, 1, ORDINALS), self._skip(index - 1, -1, ORDINALS)]
        for neighbour in neighbours:
            if neighbour < 0:
                continue
            for meaning in self.items[neighbour].of("value"):
                for name, entry in self.lexicon.features.items():
                    if (
                        entry.chat.next_to == meaning.feature
                        and self._allowed(name, index)
                        and self._set_number(name, value, index, quiet=True)
                    ):
                        return
        if value == int(value) and self.substance.get(self.clause[index]) == 1:
            for name, entry in self.lexicon.features.items():
                if (
                    entry.chat.bare_number
                    and self._allowed(name, index)
                    and self._set_number(name, value, index, quiet=True)
                ):
                    return
