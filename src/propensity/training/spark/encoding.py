"""The scorecard encoding fitted and applied in Spark: what ``ScorecardEncoder`` does, at scale.

Per numeric feature: missing values take the median of the present ones, each sentinel its own
column, the rest quantile bins (the same edges as ``quantile_edges``, from an exact histogram:
``spark.edges``). Per categorical: one column per category seen in training, missing values take
the mode. Per cross: one column per (first, second) level pair seen in training. The specs are
the same dicts ``ScorecardEncoder.specs_`` holds, so the scorecard compiles the same way.

Each group becomes a level column (SQL expressions, no Python UDF), one-hot encoded and
assembled into one sparse vector by MLlib. Only the "impute" missing-value policy and binned
numerics exist here; the config is refused with the field named otherwise
(``refusal``).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
from pyspark.ml.feature import OneHotEncoder, OneHotEncoderModel, VectorAssembler
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as sf

from propensity.config import ModelConfig
from propensity.errors import ConfigError, DatasetError
from propensity.training.spark.edges import Histogram, histogram_edges, histogram_median

FEATURES_COLUMN = "features"
LEVEL_PREFIX = "_level_"
VECTOR_PREFIX = "_onehot_"


def refusal(config: ModelConfig) -> str | None:
    """Why the Spark backend cannot train ``config`` the way the scikit-learn one does."""
    if config.estimator.numeric_encoding != "bins":
        return (
            "estimator.numeric_encoding must be 'bins' for the spark backend "
            f"(got {config.estimator.numeric_encoding!r})"
        )
    if config.estimator.missing == "mean":
        return "estimator.missing 'mean' is not supported by the spark backend (use 'impute')"
    return None


def check_supported(config: ModelConfig) -> None:
    reason = refusal(config)
    if reason is not None:
        raise ConfigError(f"model {config.name!r}: {reason}")


@dataclass
class SparkEncoding:
    """The fitted groups (``ScorecardEncoder.specs_``), their column slices, and level counts."""

    specs: list[dict[str, Any]]
    slices: list[slice]
    n_columns: int
    # Per group: how many training rows fall in each of its columns (the compiler's references).
    level_counts: list[list[int]]
    # Per categorical feature: training rows per category (missing not counted).
    category_counts: dict[str, dict[str, int]]
    # Per numeric feature: the histogram of its present training values.
    histograms: dict[str, Histogram]
    onehot: OneHotEncoderModel

    def features(self, frame: DataFrame) -> DataFrame:
        """``frame`` with the level columns and the assembled sparse ``features`` vector."""
        levelled = with_levels(frame, self.specs)
        encoded = self.onehot.transform(levelled)
        outputs = [f"{VECTOR_PREFIX}{i}" for i in range(len(self.specs))]
        return VectorAssembler(inputCols=outputs, outputCol=FEATURES_COLUMN).transform(encoded)


def _value_counts(
    frame: DataFrame, names: list[str], *, numeric: bool
) -> tuple[dict[str, dict[Any, int]], dict[str, int]]:
    """Per feature: rows per present value, and rows missing (null or NaN): one scan."""
    counts: dict[str, dict[Any, int]] = {name: {} for name in names}
    missing = dict.fromkeys(names, 0)
    if not names:
        return counts, missing
    pairs = []
    for name in names:
        value = sf.col(name).cast("double" if numeric else "string")
        if numeric:
            value = sf.nanvl(value, sf.lit(None).cast("double"))
        pairs.append(sf.struct(sf.lit(name).alias("feature"), value.alias("value")))
    stacked = frame.select(sf.explode(sf.array(*pairs)).alias("pair")).select("pair.*")
    for row in stacked.groupBy("feature", "value").count().collect():
        if row["value"] is None:
            missing[row["feature"]] += int(row["count"])
        else:
            counts[row["feature"]][row["value"]] = int(row["count"])
    return counts, missing


def _numeric_value(spec: dict[str, Any]) -> Column:
    column = sf.col(spec["name"]).cast("double")
    return sf.coalesce(sf.nanvl(column, sf.lit(None).cast("double")), sf.lit(float(spec["impute"])))


def _bin_level(x: Column, sentinels: list[float], edges: list[float]) -> Column:
    """``numeric_levels``: a sentinel's index, else len(sentinels) + edges at or below x."""
    level: Column = sf.lit(len(sentinels))
    for edge in edges:
        level = level + (x >= sf.lit(float(edge))).cast("int")
    for index in reversed(range(len(sentinels))):
        level = sf.when(x == sf.lit(float(sentinels[index])), sf.lit(index)).otherwise(level)
    return level


def _lookup(value: Column, table: dict[Any, int], key_type: str) -> Column:
    if not table:
        return sf.lit(None).cast("int")
    pairs: list[Column] = []
    for key, index in table.items():
        pairs += [sf.lit(key).cast(key_type), sf.lit(index)]
    return sf.element_at(sf.create_map(*pairs), value)


def _group_level(spec: dict[str, Any]) -> Column:
    if spec["type"] == "numeric":
        return _bin_level(_numeric_value(spec), spec["sentinels"], spec["edges"])
    if spec["type"] == "categorical":
        value = sf.coalesce(sf.col(spec["name"]).cast("string"), sf.lit(spec["impute"]))
        return _lookup(value, {c: i for i, c in enumerate(spec["categories"])}, "string")
    return _lookup(_cross_code(spec), {c: i for i, c in enumerate(spec["codes"])}, "int")


def _cross_code(spec: dict[str, Any]) -> Column:
    """first level × number of second levels + second level (as ``_pair_codes``)."""
    first, second = spec["first"], spec["second"]
    if second["type"] == "numeric":
        second_level = _bin_level(_numeric_value(second), spec["sentinels"], spec["edges"])
    else:
        second_level = _group_level(second)
    return _group_level(first) * sf.lit(len(spec["second_levels"])) + second_level


def with_levels(frame: DataFrame, specs: list[dict[str, Any]]) -> DataFrame:
    return frame.withColumns(
        {f"{LEVEL_PREFIX}{i}": _group_level(spec) for i, spec in enumerate(specs)}
    )


def _numeric_spec(
    name: str, present: Histogram, missing: int, sentinels: list[float], n_bins: int
) -> dict[str, Any]:
    impute = histogram_median(present)
    real = present.plus(impute, missing).without(sentinels)
    edges = histogram_edges(real, n_bins)
    return {
        "name": name,
        "type": "numeric",
        "impute": impute,
        "sentinels": sentinels,
        "encoding": "bins",
        "edges": edges,
        "width": len(sentinels) + len(edges) + 1,
    }


def _categorical_spec(name: str, counts: dict[str, int]) -> dict[str, Any]:
    top = max(counts.values()) if counts else 0
    mode = min((c for c, k in counts.items() if k == top), default="")
    categories = sorted(counts)
    return {
        "name": name,
        "type": "categorical",
        "encoding": "categorical",
        "impute": mode,
        "categories": categories,
        "width": len(categories),
    }


def _cross_spec(
    first: dict[str, Any], second: dict[str, Any], bins: int, real: Histogram | None
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": f"{first['name']} × {second['name']}",
        "type": "cross",
        "encoding": "cross",
        "features": [first["name"], second["name"]],
        "first": first,
        "second": second,
    }
    if second["type"] == "numeric" and real is not None:
        spec.update(edges=histogram_edges(real, bins), sentinels=list(second["sentinels"]))
        labels = [f"={s:g}" for s in spec["sentinels"]]
        spec["second_levels"] = labels + [f"bin{i}" for i in range(len(spec["edges"]) + 1)]
    else:
        spec["second_levels"] = list(second["categories"])
    return spec


def _seen_codes(frame: DataFrame, crosses: list[dict[str, Any]]) -> list[list[int]]:
    if not crosses:
        return []
    columns = [_cross_code(spec).alias(f"c{i}") for i, spec in enumerate(crosses)]
    codes = frame.select(sf.array(*columns).alias("codes")).select(
        sf.posexplode("codes").alias("cross", "code")
    )
    seen: list[set[int]] = [set() for _ in crosses]
    for row in codes.where(sf.col("code").isNotNull()).distinct().collect():
        seen[int(row["cross"])].add(int(row["code"]))
    return [sorted(s) for s in seen]


def _level_counts(frame: DataFrame, specs: list[dict[str, Any]]) -> list[list[int]]:
    levelled = with_levels(frame, specs)
    columns = [sf.col(f"{LEVEL_PREFIX}{i}") for i in range(len(specs))]
    pairs = levelled.select(sf.posexplode(sf.array(*columns)).alias("group", "level"))
    counts = [[0] * spec["width"] for spec in specs]
    rows = pairs.where(sf.col("level").isNotNull()).groupBy("group", "level").count().collect()
    for row in rows:
        counts[int(row["group"])][int(row["level"])] = int(row["count"])
    return counts


def _onehot(spark: SparkSession, specs: list[dict[str, Any]]) -> OneHotEncoderModel:
    """One-hot encoders of exactly each group's width: fitted on one row holding every group's
    last level (MLlib reads a column's size from its largest value)."""
    levels = [f"{LEVEL_PREFIX}{i}" for i in range(len(specs))]
    widest = spark.createDataFrame(
        [tuple(float(max(spec["width"], 1) - 1) for spec in specs)], schema=levels
    )
    encoder = OneHotEncoder(
        inputCols=levels,
        outputCols=[f"{VECTOR_PREFIX}{i}" for i in range(len(specs))],
        dropLast=False,
        handleInvalid="error",
    )
    return encoder.fit(widest)


def fit_encoding(spark: SparkSession, frame: DataFrame, config: ModelConfig) -> SparkEncoding:
    """The groups of ``config`` fitted on the training rows ``frame`` (a handful of Spark jobs:
    value histograms, missing counts, seen cross pairs, level counts)."""
    check_supported(config)
    features, estimator = config.features, config.estimator
    numeric_counts, missing = _value_counts(frame, features.numeric, numeric=True)
    category_counts, _ = _value_counts(frame, features.categorical, numeric=False)
    specs: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {}
    histograms: dict[str, Histogram] = {}
    for name in features.numeric:
        histograms[name] = Histogram.of(numeric_counts[name])
        sentinels = [float(v) for v in features.sentinels.get(name, [])]
        spec = _numeric_spec(name, histograms[name], missing[name], sentinels, estimator.n_bins)
        specs.append(spec)
        by_name[name] = spec
    for name in features.categorical:
        spec = _categorical_spec(name, category_counts[name])
        specs.append(spec)
        by_name[name] = spec
    crosses = []
    for cross in features.crosses:
        second = by_name[cross.second]
        real = None
        if second["type"] == "numeric":
            filled = histograms[cross.second].plus(second["impute"], missing[cross.second])
            real = filled.without(second["sentinels"])
        crosses.append(_cross_spec(by_name[cross.first], second, cross.bins, real))
    for spec, codes in zip(crosses, _seen_codes(frame, crosses), strict=True):
        n_second = len(spec["second_levels"])
        first_categories = spec["first"]["categories"]
        spec["codes"] = codes
        spec["cells"] = [
            (first_categories[c // n_second], spec["second_levels"][c % n_second]) for c in codes
        ]
        spec["width"] = len(codes)
    specs += crosses
    empty = [spec["name"] for spec in specs if spec["width"] == 0]
    if empty:
        raise DatasetError(config.name, f"no training value to encode for {empty}")
    starts = np.cumsum([0, *(spec["width"] for spec in specs)])
    return SparkEncoding(
        specs=specs,
        slices=[slice(int(a), int(b)) for a, b in pairwise(starts)],
        n_columns=int(starts[-1]),
        level_counts=_level_counts(frame, specs),
        category_counts={n: {str(k): v for k, v in c.items()} for n, c in category_counts.items()},
        histograms=histograms,
        onehot=_onehot(spark, specs),
    )
