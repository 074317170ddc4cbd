"""Pure-Python scorer for a compiled logistic-regression scorecard.

The scorecard is the JSON the trainer compiles from a fitted scikit-learn pipeline
(``propensity.training.compile``). This module must import nothing outside the standard library:
it is what the predict Lambda runs, and a test enforces it.

The logit is computed exactly as the pipeline does (impute → bin or scale → one-hot → dot
product + intercept), so probabilities match ``predict_proba`` to ~1e-15. Each feature's
contribution is reported relative to its average over the training data ("reference"), so the
reasons read as "why this customer differs from the typical one".
"""

from __future__ import annotations

import json
import math
from bisect import bisect_right
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from propensity.errors import ArtifactError, InvalidInputError
from propensity.scoring.plan import (
    _BINS,
    _CATEGORICAL,
    _SENTINEL_BINS,
    _STANDARD,
    CROSS_SEPARATOR,
    _parse_cross,
    _parse_feature,
    _require,
)
from propensity.scoring.specs import FeatureSpec, ScorecardTarget
from propensity.scoring.text import check_category, check_text

SCORECARD_FORMAT = "propensity.scorecard/1"

MISSING_POLICIES = ("impute", "mean")
_NUMBER_TYPES = (int, float)  # a tuple: ``int | float`` would build a union on every call


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: Any
    contribution: float

    def describe(self) -> str:
        if self.value.__class__ is tuple:  # a cross: "month=mar × contact=cellular +0.41"
            parts = self.feature.split(CROSS_SEPARATOR)
            shown = CROSS_SEPARATOR.join(
                f"{n}={v}" for n, v in zip(parts, self.value, strict=False)
            )
            return f"{shown} {self.contribution:+.2f}"
        return f"{self.feature}={self.value} {self.contribution:+.2f}"


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    logit: float
    prediction: int
    # Per feature, then per cross, in scorecard order: the value scored (a pair for a cross) and
    # its effect relative to the reference. Kept as plain sequences; Contribution objects are
    # built only for what a caller reads.
    names: tuple[str, ...]
    values: list[Any]
    effects: list[float]
    imputed: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    ignored: tuple[str, ...] = ()

    @property
    def contributions(self) -> tuple[Contribution, ...]:
        return tuple(
            Contribution(n, v, e)
            for n, v, e in zip(self.names, self.values, self.effects, strict=True)
        )

    def reasons(self, top: int = 3) -> list[Contribution]:
        """The ``top`` contributions with the largest effect, strongest first.

        A field the caller did not give is never a reason (nor a cross it is part of): its
        value was filled in by the model, not told by the caller.
        """
        effects, names = self.effects, self.names
        candidates = [i for i in range(len(effects)) if effects[i] != 0.0]
        if self.imputed:
            missing = frozenset(self.imputed)
            candidates = [
                i
                for i in candidates
                if names[i] not in missing
                and not missing.intersection(names[i].split(CROSS_SEPARATOR))
            ]
        ranked = sorted(candidates, key=lambda i: -abs(effects[i]))[:top]
        return [Contribution(names[i], self.values[i], effects[i]) for i in ranked]


def _score_factory() -> Callable[..., Score]:
    """``Score(...)`` with positional arguments, 2-3x faster than the frozen dataclass's
    ``__init__`` (which calls ``object.__setattr__`` by name for each of the nine fields): the
    instance is made with ``object.__new__`` and each slot set through its descriptor. Same
    object, as immutable afterwards (tests/unit/scoring/test_score_construction.py)."""
    new = object.__new__
    (
        set_probability,
        set_logit,
        set_prediction,
        set_names,
        set_values,
        set_effects,
        set_imputed,
        set_unknown,
        set_ignored,
    ) = (getattr(Score, f.name).__set__ for f in fields(Score))  # fails here if fields change

    def make(
        probability: float,
        logit: float,
        prediction: int,
        names: tuple[str, ...],
        values: list[Any],
        effects: list[float],
        imputed: tuple[str, ...],
        unknown: tuple[str, ...],
        ignored: tuple[str, ...],
    ) -> Score:
        score: Score = new(Score)
        set_probability(score, probability)
        set_logit(score, logit)
        set_prediction(score, prediction)
        set_names(score, names)
        set_values(score, values)
        set_effects(score, effects)
        set_imputed(score, imputed)
        set_unknown(score, unknown)
        set_ignored(score, ignored)
        return score

    return make


_new_score = _score_factory()


class Scorer:
    """Scores feature dictionaries with a scorecard; safe to share across requests."""

    def __init__(self, card: Mapping[str, Any]) -> None:
        if card.get("format") != SCORECARD_FORMAT:
            raise ArtifactError(
                f"not a {SCORECARD_FORMAT} scorecard (format={card.get('format')!r})"
            )
        try:
            self.card = card
            self.model = str(_require(card, "model"))
            self.version = str(card.get("version", "unversioned"))
            self.intercept = float(_require(card, "intercept"))
            self.threshold = float(_require(card, "threshold"))
            self._plan = tuple(_parse_feature(s) for s in _require(card, "features"))
            by_name = {step[0]: step for step in self._plan}
            self._crosses = tuple(_parse_cross(s, by_name) for s in card.get("crosses", ()))
            missing = card.get("missing", "impute")
            if missing not in MISSING_POLICIES:
                raise ArtifactError(f"unknown missing-value policy {missing!r}")
            self.missing = str(missing)
            target = card.get("target") or {}
            self.target = ScorecardTarget(
                str(target.get("column", "")),
                str(target.get("negative_label", "0")),
                str(target.get("positive_label", "1")),
            )
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ArtifactError(f"malformed scorecard: {exc}") from exc
        if not 0.0 < self.threshold < 1.0:
            raise ArtifactError(f"threshold {self.threshold} is outside (0, 1)")
        self.feature_names = tuple(step[0] for step in self._plan)
        self.cross_names = tuple(cross[0] for cross in self._crosses)
        # What a Score's names/values/effects hold: every feature, then every cross.
        self._score_names = self.feature_names + self.cross_names
        self._known = frozenset(self.feature_names)

    @classmethod
    def from_json(cls, payload: bytes | str) -> Scorer:
        try:
            card = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ArtifactError(f"scorecard is not valid JSON: {exc}") from exc
        if not isinstance(card, dict):
            raise ArtifactError("scorecard is not a JSON object")
        return cls(card)

    def score(self, features: Mapping[str, Any], *, strict: bool = True) -> Score:
        """Score one row. ``strict`` rejects feature names the model does not know."""
        ignored: tuple[str, ...] = ()
        if not self._known.issuperset(features):
            extra = tuple(sorted(k for k in features if k not in self._known))
            if strict:
                raise InvalidInputError(extra[0], "is not a feature of model " + repr(self.model))
            # Ignored names are answered back in ``ignored``: they must be text.
            for extra_name in extra:
                check_text(extra_name, extra_name)
            ignored = extra

        # The hot path of every prediction: one pass over the precompiled plan (tuples, no
        # attribute lookups), locals, class identity checks, and no allocation beyond the two
        # per-feature lists and the Score (imputed/unknown lists only when something is).
        get = features.get
        logit = self.intercept
        values: list[Any] = []
        effects: list[float] = []
        add_value = values.append
        add_effect = effects.append
        imputed: list[str] | None = None
        unknown: list[str] | None = None
        missing_is_mean = self.missing == "mean"
        for name, kind, impute, reference, table, extra_data in self._plan:
            value = get(name)
            if value is None:
                if imputed is None:
                    imputed = []
                imputed.append(name)
                if missing_is_mean:  # contributes its training average: no effect
                    logit += reference
                    add_value(None)
                    add_effect(0.0)
                    continue
                value = impute
            if kind is _CATEGORICAL:
                if value.__class__ is not str and not isinstance(value, str):
                    raise InvalidInputError(
                        name, f"expected a category string, got {type(value).__name__}"
                    )
                w = table.get(value)
                if w is None:
                    check_category(name, value)  # known values need no check
                    if unknown is None:
                        unknown = []
                    unknown.append(name)
                    w = 0.0
            else:
                cls = value.__class__
                if cls is int:  # JSON integers: the common case; float() of an int is finite
                    try:
                        x = float(value)
                    except OverflowError:  # an integer beyond float range (JSON allows it)
                        raise InvalidInputError(name, "is too large") from None
                elif cls is float or (
                    isinstance(value, _NUMBER_TYPES) and not isinstance(value, bool)
                ):
                    try:
                        x = float(value)
                    except OverflowError:  # an int subclass beyond float range
                        raise InvalidInputError(name, "is too large") from None
                    if x - x != 0.0:  # NaN and ±inf (x - x is NaN for both); cheaper than isfinite
                        raise InvalidInputError(
                            name, "must be a finite number (not NaN or infinity)"
                        )
                else:
                    raise InvalidInputError(name, f"expected a number, got {type(value).__name__}")
                if kind is _BINS:
                    # Same rule as KBinsDiscretizer: searchsorted(inner_edges, x, side="right").
                    w = extra_data[bisect_right(table, x)]
                elif kind is _STANDARD:
                    mean, scale = table
                    w = (x - mean) / scale * extra_data
                elif kind is _SENTINEL_BINS:
                    bin_weights, sentinel_weights = extra_data
                    w = sentinel_weights.get(x)
                    if w is None:
                        w = bin_weights[bisect_right(table, x)]
                else:
                    mean, scale, sentinel_weights = table
                    w = sentinel_weights.get(x)
                    if w is None:
                        w = (x - mean) / scale * extra_data
            logit += w
            add_value(value)
            add_effect(w - reference)
        if self._crosses:
            logit += self._score_crosses(get, add_value, add_effect, missing_is_mean)
        # The sigmoid; the branches keep exp() from overflowing for extreme logits.
        if logit >= 0:
            probability = 1.0 / (1.0 + math.exp(-logit))
        else:
            z = math.exp(logit)
            probability = z / (1.0 + z)
        return _new_score(
            probability,
            logit,
            1 if probability >= self.threshold else 0,
            self._score_names,
            values,
            effects,
            tuple(imputed) if imputed else (),
            tuple(unknown) if unknown else (),
            ignored,
        )

    def _score_crosses(
        self,
        get: Callable[[str], Any],
        add_value: Callable[[Any], None],
        add_effect: Callable[[float], None],
        missing_is_mean: bool,
    ) -> float:
        """The crosses' part of the logit. Runs after every member passed its feature's checks."""
        total = 0.0
        for (
            _name,
            first,
            second,
            first_impute,
            second_impute,
            reference,
            cells,
            numeric,
        ) in self._crosses:
            a, b = get(first), get(second)
            if a is None or b is None:
                if missing_is_mean:
                    total += reference
                    add_value(None)
                    add_effect(0.0)
                    continue
                a = first_impute if a is None else a
                b = second_impute if b is None else b
            if numeric is None:
                level = b
            else:
                edges, sentinel_levels, bin_levels = numeric
                x = float(b)
                level = sentinel_levels.get(x)
                if level is None:
                    level = bin_levels[bisect_right(edges, x)]
            row = cells.get(a)
            w = 0.0 if row is None else row.get(level, 0.0)
            total += w
            add_value((a, b))
            add_effect(w - reference)
        return total

    def feature_specs(self) -> tuple[FeatureSpec, ...]:
        """What the scorecard knows of each feature, typed: kind, training range or categories,
        and how far it can move the logit (for asking about the most influential ones first)."""
        ranges = {
            str(s.get("name")): s.get("range") or {}
            for s in self.card.get("features", ())
            if isinstance(s, Mapping)
        }
        specs = []
        for name, kind, _impute, _reference, table, extra in self._plan:
            known = ranges.get(name, {})
            low, high = known.get("min"), known.get("max")
            if kind is _CATEGORICAL:
                weights = list(table.values()) or [0.0]
                specs.append(
                    FeatureSpec(
                        name,
                        "categorical",
                        tuple(table),
                        None,
                        None,
                        False,
                        max(weights) - min(weights),
                    )
                )
                continue
            if kind is _BINS:
                influence = max(extra) - min(extra)
            elif kind is _SENTINEL_BINS:
                bin_weights, sentinel_weights = extra
                every = [*bin_weights, *sentinel_weights.values()]
                influence = max(every) - min(every)
            else:
                scale = table[1]
                span = float(high) - float(low) if low is not None and high is not None else scale
                influence = abs(extra) * span / scale
            specs.append(
                FeatureSpec(
                    name,
                    "numeric",
                    (),
                    None if low is None else float(low),
                    None if high is None else float(high),
                    bool(known.get("integer", False)),
                    influence,
                )
            )
        return tuple(specs)
