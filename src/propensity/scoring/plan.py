"""A scorecard's JSON parsed into the flat tuples ``Scorer.score`` walks (stdlib only).

The names keep their leading underscore: they are the scorer's internals, shared with it alone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from propensity.errors import ArtifactError

_NUMERIC, _BINS, _STANDARD, _CATEGORICAL = "numeric", "bins", "standard", "categorical"
# Numeric encodings where some values (sentinels, e.g. pdays = -1) have a weight of their own.
_SENTINEL_BINS, _SENTINEL_STANDARD = "sentinel_bins", "sentinel_standard"
CROSS_SEPARATOR = " × "

# One feature as score() reads it, a flat tuple: (name, encoding, impute, reference, table,
# extra), where table and extra are, for bins: (inner edges, bin weights); standard:
# ((mean, scale), weight); categorical: (weight by category, None); sentinel bins: (inner
# edges, (bin weights, weight by sentinel)); sentinel standard: ((mean, scale, weight by
# sentinel), weight). The encoding is one of this module's constants, so score() compares it by
# identity.
_Step = tuple[str, str, Any, float, Any, Any]
# One cross: (name, first, second, first impute, second impute, reference, weight by first value
# then second level, numeric), numeric being None when the second member is categorical, else
# (inner edges, level by sentinel, level by bin).
_Cross = tuple[str, str, str, Any, Any, float, dict[str, dict[str, float]], Any]


def _require(card: Mapping[str, Any], key: str) -> Any:
    if key not in card:
        raise ArtifactError(f"scorecard has no {key!r}")
    return card[key]


def _parse_feature(spec: Mapping[str, Any]) -> _Step:
    name = str(_require(spec, "name"))
    encoding = _require(spec, "encoding")
    reference = float(spec.get("reference", 0.0))
    sentinels = {float(s["value"]): float(s["weight"]) for s in spec.get("sentinels", ())}
    if encoding == _BINS:
        edges = tuple(float(e) for e in _require(spec, "edges"))
        weights = tuple(float(w) for w in _require(spec, "weights"))
        if len(weights) != len(edges) + 1:
            raise ArtifactError(
                f"feature {name!r}: {len(edges)} inner edges need {len(edges) + 1} weights"
            )
        impute = float(_require(spec, "impute"))
        if sentinels:
            return (name, _SENTINEL_BINS, impute, reference, edges, (weights, sentinels))
        return (name, _BINS, impute, reference, edges, weights)
    if encoding == _STANDARD:
        scale = float(_require(spec, "scale"))
        if scale == 0.0:
            raise ArtifactError(f"feature {name!r}: scale is zero")
        impute = float(_require(spec, "impute"))
        mean = float(_require(spec, "mean"))
        weight = float(_require(spec, "weight"))
        if sentinels:
            return (name, _SENTINEL_STANDARD, impute, reference, (mean, scale, sentinels), weight)
        return (name, _STANDARD, impute, reference, (mean, scale), weight)
    if encoding == _CATEGORICAL:
        by_category = {str(k): float(v) for k, v in dict(_require(spec, "weights")).items()}
        return (name, _CATEGORICAL, str(_require(spec, "impute")), reference, by_category, None)
    raise ArtifactError(f"feature {name!r}: unknown encoding {encoding!r}")


def _parse_cross(spec: Mapping[str, Any], plan: Mapping[str, _Step]) -> _Cross:
    name = str(_require(spec, "name"))
    first, second = (str(f) for f in _require(spec, "features"))
    if first not in plan or second not in plan or plan[first][1] is not _CATEGORICAL:
        raise ArtifactError(f"cross {name!r}: needs a categorical and another feature")
    cells = {
        str(a): {str(b): float(w) for b, w in dict(row).items()}
        for a, row in dict(_require(spec, "cells")).items()
    }
    numeric = None
    if plan[second][1] is not _CATEGORICAL:
        edges = tuple(float(e) for e in _require(spec, "edges"))
        sentinels = [float(s) for s in spec.get("sentinels", ())]
        numeric = (
            edges,
            {s: f"={s:g}" for s in sentinels},
            tuple(f"bin{i}" for i in range(len(edges) + 1)),
        )
    reference = float(spec.get("reference", 0.0))
    return (name, first, second, plan[first][2], plan[second][2], reference, cells, numeric)
