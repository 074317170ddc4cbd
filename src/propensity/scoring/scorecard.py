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
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from propensity.errors import ArtifactError, InvalidInputError

SCORECARD_FORMAT = "propensity.scorecard/1"

_NUMERIC, _BINS, _STANDARD, _CATEGORICAL = "numeric", "bins", "standard", "categorical"


@dataclass(frozen=True, slots=True)
class Contribution:
    feature: str
    value: Any
    contribution: float

    def describe(self) -> str:
        return f"{self.feature}={self.value} {self.contribution:+.2f}"


@dataclass(frozen=True, slots=True)
class Score:
    probability: float
    logit: float
    prediction: int
    # Per feature, in scorecard order: the value scored and its effect relative to the reference.
    # Kept as plain sequences; Contribution objects are built only for what a caller reads.
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
        """The ``top`` contributions with the largest effect, strongest first."""
        effects = self.effects
        ranked = sorted(range(len(effects)), key=lambda i: -abs(effects[i]))[:top]
        return [
            Contribution(self.names[i], self.values[i], effects[i])
            for i in ranked
            if effects[i] != 0.0
        ]


@dataclass(frozen=True, slots=True)
class _Feature:
    name: str
    encoding: str  # bins | standard | categorical
    impute: Any
    reference: float
    edges: tuple[float, ...] = ()
    bin_weights: tuple[float, ...] = ()
    mean: float = 0.0
    scale: float = 1.0
    weight: float = 0.0
    category_weights: Mapping[str, float] = field(default_factory=dict)


def _sigmoid(logit: float) -> float:
    # Branches keep exp() from overflowing for extreme logits.
    if logit >= 0:
        return 1.0 / (1.0 + math.exp(-logit))
    z = math.exp(logit)
    return z / (1.0 + z)


def _require(card: Mapping[str, Any], key: str) -> Any:
    if key not in card:
        raise ArtifactError(f"scorecard has no {key!r}")
    return card[key]


def _parse_feature(spec: Mapping[str, Any]) -> _Feature:
    name = str(_require(spec, "name"))
    encoding = _require(spec, "encoding")
    reference = float(spec.get("reference", 0.0))
    if encoding == _BINS:
        edges = tuple(float(e) for e in _require(spec, "edges"))
        weights = tuple(float(w) for w in _require(spec, "weights"))
        if len(weights) != len(edges) + 1:
            raise ArtifactError(
                f"feature {name!r}: {len(edges)} inner edges need {len(edges) + 1} weights"
            )
        return _Feature(
            name,
            _BINS,
            float(_require(spec, "impute")),
            reference,
            edges=edges,
            bin_weights=weights,
        )
    if encoding == _STANDARD:
        scale = float(_require(spec, "scale"))
        if scale == 0.0:
            raise ArtifactError(f"feature {name!r}: scale is zero")
        return _Feature(
            name,
            _STANDARD,
            float(_require(spec, "impute")),
            reference,
            mean=float(_require(spec, "mean")),
            scale=scale,
            weight=float(_require(spec, "weight")),
        )
    if encoding == _CATEGORICAL:
        by_category = {str(k): float(v) for k, v in dict(_require(spec, "weights")).items()}
        return _Feature(
            name,
            _CATEGORICAL,
            str(_require(spec, "impute")),
            reference,
            category_weights=by_category,
        )
    raise ArtifactError(f"feature {name!r}: unknown encoding {encoding!r}")


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
            self._features = tuple(_parse_feature(s) for s in _require(card, "features"))
        except (TypeError, ValueError) as exc:
            raise ArtifactError(f"malformed scorecard: {exc}") from exc
        if not 0.0 < self.threshold < 1.0:
            raise ArtifactError(f"threshold {self.threshold} is outside (0, 1)")
        self.feature_names = tuple(f.name for f in self._features)
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
            ignored = extra

        # The hot path of every prediction: locals, class identity checks and one pass.
        get = features.get
        logit = self.intercept
        values: list[Any] = []
        effects: list[float] = []
        imputed: list[str] = []
        unknown: list[str] = []
        for feat in self._features:
            value = get(feat.name)
            if value is None:
                imputed.append(feat.name)
                value = feat.impute
            if feat.encoding is _CATEGORICAL:
                if value.__class__ is not str and not isinstance(value, str):
                    raise InvalidInputError(
                        feat.name, f"expected a category string, got {type(value).__name__}"
                    )
                w = feat.category_weights.get(value)
                if w is None:
                    unknown.append(feat.name)
                    w = 0.0
            else:
                cls = value.__class__
                if cls is float:
                    x = value
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    try:
                        x = float(value)
                    except OverflowError:  # an integer beyond float range (JSON allows it)
                        raise InvalidInputError(feat.name, "is too large") from None
                else:
                    raise InvalidInputError(
                        feat.name, f"expected a number, got {type(value).__name__}"
                    )
                if x - x != 0.0:  # NaN and ±inf (x - x is NaN for both); cheaper than isfinite
                    raise InvalidInputError(
                        feat.name, "must be a finite number (not NaN or infinity)"
                    )
                if feat.encoding is _BINS:
                    # Same rule as KBinsDiscretizer: searchsorted(inner_edges, x, side="right").
                    w = feat.bin_weights[bisect_right(feat.edges, x)]
                else:
                    w = (x - feat.mean) / feat.scale * feat.weight
            logit += w
            values.append(value)
            effects.append(w - feat.reference)
        probability = _sigmoid(logit)
        return Score(
            probability=probability,
            logit=logit,
            prediction=1 if probability >= self.threshold else 0,
            names=self.feature_names,
            values=values,
            effects=effects,
            imputed=tuple(imputed),
            unknown=tuple(unknown),
            ignored=ignored,
        )
