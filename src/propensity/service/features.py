"""Validation of feature maps against a model config (feedback, uploads) without a scorecard."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from propensity.config import ModelConfig
from propensity.errors import InvalidInputError
from propensity.scoring.text import check_category


def _check_bounds(config: ModelConfig, field: str, name: str, value: float) -> None:
    rules = config.feedback
    if abs(value) > rules.max_abs_value:
        raise InvalidInputError(field, f"{value:.12g} is beyond ±{rules.max_abs_value:.12g}")
    bounds = rules.bounds.get(name)
    if bounds is not None and not bounds[0] <= value <= bounds[1]:
        raise InvalidInputError(
            field, f"{value:.12g} is outside [{bounds[0]:.12g}, {bounds[1]:.12g}] (feedback.bounds)"
        )


def validate_features(
    config: ModelConfig, features: Mapping[str, Any], *, prefix: str = "features"
) -> dict[str, Any]:
    """The features with known names and valid types; ``None`` marks a value to impute."""
    if not isinstance(features, Mapping):
        raise InvalidInputError(prefix, "must be an object of feature name → value")
    known = set(config.features.all)
    unknown = sorted(k for k in features if k not in known)
    if unknown:
        raise InvalidInputError(
            f"{prefix}.{unknown[0]}", f"is not a feature of model {config.name!r}"
        )
    clean: dict[str, Any] = {}
    for name in config.features.numeric:
        value = features.get(name)
        if value is not None:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidInputError(
                    f"{prefix}.{name}", f"expected a number, got {type(value).__name__}"
                )
            try:
                finite = math.isfinite(value)
            except OverflowError:  # an integer beyond float range (JSON allows it)
                raise InvalidInputError(f"{prefix}.{name}", "is too large") from None
            if not finite:
                raise InvalidInputError(
                    f"{prefix}.{name}", "must be a finite number (not NaN or infinity)"
                )
            _check_bounds(config, f"{prefix}.{name}", name, float(value))
        clean[name] = value
    for name in config.features.categorical:
        value = features.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise InvalidInputError(
                    f"{prefix}.{name}", f"expected a category string, got {type(value).__name__}"
                )
            check_category(f"{prefix}.{name}", value)
        clean[name] = value
    if all(v is None for v in clean.values()):
        raise InvalidInputError(prefix, "holds no feature value")
    return clean
