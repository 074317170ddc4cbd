"""The scikit-learn pipeline a model config describes (offline/retrain only).

``ScorecardEncoder`` turns a frame into the columns the logistic regression weighs: per numeric
feature its sentinel indicators and quantile bins (or one scaled column), per categorical one
column per category, per declared cross one column per seen pair. It computes exactly what the
pure-Python scorer computes from the compiled scorecard, so the two agree on every row; the
compiler reads its fitted ``specs_`` and ``slices_``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import KBinsDiscretizer

from propensity.config import ModelConfig

# Step names are part of the contract with the scorecard compiler.
FEATURES_STEP = "features"
CLASSIFIER_STEP = "classifier"

MISSING_POLICIES = ("impute", "mean")
Levels = NDArray[np.int_]
# Rows a transform encodes at a time: a block's triplets (row, column, value) take a few times
# the memory of its CSR rows, so a million-row frame costs one block of them, not a million.
TRANSFORM_BLOCK = 131_072


def quantile_edges(values: NDArray[np.float64], n_bins: int) -> list[float]:
    """Inner bin edges at quantiles of ``values`` (KBinsDiscretizer's, tiny bins merged)."""
    if len(np.unique(values)) < 2:
        return []
    binner = KBinsDiscretizer(
        n_bins=n_bins,
        encode="ordinal",
        strategy="quantile",
        # Explicit: the default is changing upstream and we want stable edges.
        quantile_method="averaged_inverted_cdf",
        subsample=None,
    )
    with warnings.catch_warnings():
        # Quantile bins collapse on heavily repeated values; that is expected.
        warnings.filterwarnings("ignore", message="Bins whose width are too small")
        binner.fit(values.reshape(-1, 1))
    return [float(e) for e in binner.bin_edges_[0][1:-1]]


def numeric_levels(
    x: NDArray[np.float64], sentinels: Sequence[float], edges: Sequence[float]
) -> Levels:
    """Column of each value: its sentinel's index, else len(sentinels) + its bin."""
    levels = len(sentinels) + np.searchsorted(np.asarray(edges, dtype=float), x, side="right")
    for index, sentinel in enumerate(sentinels):
        levels[x == sentinel] = index
    return levels


def _factorized(values: pd.Series) -> tuple[Levels, list[str]]:
    """(code of each row, -1 when missing; the distinct values as text): one hash pass."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=int), [str(u) for u in uniques]


def _categories_and_mode(values: pd.Series) -> tuple[list[str], str]:
    codes, uniques = _factorized(values)
    counts: dict[str, int] = {}
    counted = np.bincount(codes[codes >= 0], minlength=len(uniques))
    for text, count in zip(uniques, counted, strict=True):
        counts[text] = counts.get(text, 0) + int(count)
    if not counts:
        return [], ""
    top = max(counts.values())
    mode = min(text for text, count in counts.items() if count == top)  # ties: smallest, as sklearn
    return sorted(counts), mode


# Per fit/transform call: categorical column name -> (levels, missing), shared by the feature
# and every cross it is part of (hashing text columns is the encoder's main cost).
Memo = dict[str, tuple[Levels, NDArray[np.bool_]]]


class ScorecardEncoder(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Impute, bin/scale, one-hot and cross, as the scorecard does. Output: sparse CSR."""

    def __init__(
        self,
        numeric: tuple[str, ...] = (),
        categorical: tuple[str, ...] = (),
        numeric_encoding: str = "bins",
        n_bins: int = 10,
        sentinels: tuple[tuple[str, tuple[float, ...]], ...] = (),
        crosses: tuple[tuple[str, str, int], ...] = (),
        missing: str = "impute",
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.numeric_encoding = numeric_encoding
        self.n_bins = n_bins
        self.sentinels = sentinels
        self.crosses = crosses
        self.missing = missing

    # --- fit ---------------------------------------------------------------------------------

    def fit(self, frame: pd.DataFrame, y: Any = None) -> ScorecardEncoder:
        # As every scikit-learn transformer fitted on a DataFrame (the pipeline exposes them).
        self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
        self.n_features_in_ = len(self.feature_names_in_)
        sentinels = {name: tuple(float(v) for v in values) for name, values in self.sentinels}
        specs: list[dict[str, Any]] = []
        by_name: dict[str, dict[str, Any]] = {}
        for name in self.numeric:
            column = frame[name].to_numpy(dtype=float)
            present = column[~np.isnan(column)]
            spec: dict[str, Any] = {
                "name": name,
                "type": "numeric",
                "impute": float(np.median(present)) if present.size else 0.0,
                "sentinels": list(sentinels.get(name, ())),
            }
            filled = np.where(np.isnan(column), spec["impute"], column)
            real = filled[~np.isin(filled, spec["sentinels"])]
            if self.numeric_encoding == "bins":
                spec.update(encoding="bins", edges=quantile_edges(real, self.n_bins))
                spec["width"] = len(spec["sentinels"]) + len(spec["edges"]) + 1
            else:
                scale = float(np.std(real)) if real.size else 1.0
                spec.update(
                    encoding="standard",
                    mean=float(np.mean(real)) if real.size else 0.0,
                    scale=scale if scale > 0.0 else 1.0,  # as StandardScaler: constant → 1
                )
                spec["width"] = len(spec["sentinels"]) + 1
            specs.append(spec)
            by_name[name] = spec
        for name in self.categorical:
            categories, mode = _categories_and_mode(frame[name])
            spec = {
                "name": name,
                "type": "categorical",
                "encoding": "categorical",
                "impute": mode,
                "categories": categories,
                "width": len(categories),
            }
            specs.append(spec)
            by_name[name] = spec
        memo: Memo = {}
        for first, second, bins in self.crosses:
            specs.append(self._fit_cross(frame, by_name[first], by_name[second], bins, memo))
        self.specs_ = specs
        widths = [spec["width"] for spec in specs]
        starts = np.cumsum([0, *widths])
        self.slices_ = [slice(int(a), int(b)) for a, b in pairwise(starts)]
        self.n_columns_ = int(starts[-1])
        # Per group: the mean of its columns over rows where it is known, which a missing value
        # takes under the "mean" policy (so it contributes the training average).
        self.means_ = []
        for spec in specs:
            levels, weights, missing = self._group(frame, spec, memo)
            self.means_.append(_column_means(levels, weights, ~missing, spec["width"]))
        return self

    def _fit_cross(
        self,
        frame: pd.DataFrame,
        first: dict[str, Any],
        second: dict[str, Any],
        bins: int,
        memo: Memo,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "name": f"{first['name']} × {second['name']}",
            "type": "cross",
            "encoding": "cross",
            "features": [first["name"], second["name"]],
            "first": first,
            "second": second,
        }
        if second["type"] == "numeric":
            column = frame[second["name"]].to_numpy(dtype=float)
            filled = np.where(np.isnan(column), second["impute"], column)
            real = filled[~np.isin(filled, second["sentinels"])]
            spec.update(edges=quantile_edges(real, bins), sentinels=list(second["sentinels"]))
            labels = [f"={s:g}" for s in spec["sentinels"]]
            labels += [f"bin{i}" for i in range(len(spec["edges"]) + 1)]
            spec["second_levels"] = labels
        else:
            spec["second_levels"] = list(second["categories"])
        spec["width"] = 0
        spec["cells"] = []
        pair_codes = self._pair_codes(frame, spec, memo)[0]
        seen = np.unique(pair_codes[pair_codes >= 0])
        spec["codes"] = [int(c) for c in seen]
        n_second = len(spec["second_levels"])
        spec["cells"] = [
            (first["categories"][c // n_second], spec["second_levels"][c % n_second]) for c in seen
        ]
        spec["width"] = len(seen)
        return spec

    # --- transform ---------------------------------------------------------------------------

    def transform(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        if self.missing not in MISSING_POLICIES:
            raise ValueError(f"missing must be one of {MISSING_POLICIES}, not {self.missing!r}")
        if len(frame) <= TRANSFORM_BLOCK:
            return self._transform_block(frame)
        blocks = [
            self._transform_block(frame.iloc[start : start + TRANSFORM_BLOCK])
            for start in range(0, len(frame), TRANSFORM_BLOCK)
        ]
        return sparse.vstack(blocks, format="csr")

    def _transform_block(self, frame: pd.DataFrame) -> sparse.csr_matrix:
        impute = self.missing == "impute"
        memo: Memo = {}
        rows: list[NDArray[Any]] = []
        cols: list[NDArray[Any]] = []
        vals: list[NDArray[Any]] = []
        n = len(frame)
        for spec, where, means in zip(self.specs_, self.slices_, self.means_, strict=True):
            levels, values, missing = self._group(frame, spec, memo)
            known = levels >= 0
            if not impute:
                known &= ~missing
            rows.append(np.flatnonzero(known).astype(np.int32))
            cols.append((where.start + levels[known]).astype(np.int32))
            vals.append(values[known])
            if not impute and missing.any():
                # A missing value takes the group's training mean in every column.
                hit = np.flatnonzero(missing).astype(np.int32)
                width = spec["width"]
                rows.append(np.repeat(hit, width))
                cols.append(np.tile(np.arange(where.start, where.stop, dtype=np.int32), hit.size))
                vals.append(np.tile(means, hit.size))
        matrix = sparse.coo_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n, self.n_columns_),
        )
        return matrix.tocsr()

    def _group(
        self, frame: pd.DataFrame, spec: dict[str, Any], memo: Memo
    ) -> tuple[Levels, NDArray[np.float64], NDArray[np.bool_]]:
        """(column within the group or -1, value there, row missing) for one group; a missing
        value is at its imputed value's column (transform drops it under the mean policy)."""
        if spec["type"] == "cross":
            return self._pair_codes(frame, spec, memo, to_columns=True)
        if spec["type"] == "numeric":
            column = frame[spec["name"]].to_numpy(dtype=float)
            missing = np.isnan(column)
            x = np.where(missing, spec["impute"], column)
            ones = np.ones(len(x))
            if spec["encoding"] == "bins":
                return numeric_levels(x, spec["sentinels"], spec["edges"]), ones, missing
            sentinel = np.isin(x, spec["sentinels"])
            levels = numeric_levels(x, spec["sentinels"], [])
            scaled = np.where(sentinel, 1.0, (x - spec["mean"]) / spec["scale"])
            return levels, scaled, missing
        name = spec["name"]
        if name not in memo:
            codes, uniques = _factorized(frame[name])
            index = {c: i for i, c in enumerate(spec["categories"])}
            # One entry per distinct value, then the imputed value's, which code -1 picks.
            table = np.array([index.get(u, -1) for u in [*uniques, spec["impute"]]], dtype=int)
            memo[name] = (table[codes], codes < 0)
        levels, missing = memo[name]
        return levels, np.ones(len(levels)), missing

    def _pair_codes(
        self, frame: pd.DataFrame, spec: dict[str, Any], memo: Memo, *, to_columns: bool = False
    ) -> tuple[Levels, NDArray[np.float64], NDArray[np.bool_]]:
        first, second = spec["first"], spec["second"]
        first_levels, _, first_missing = self._group(frame, first, memo)
        if second["type"] == "numeric":
            column = frame[second["name"]].to_numpy(dtype=float)
            second_missing = np.isnan(column)
            x = np.where(second_missing, second["impute"], column)
            second_levels = numeric_levels(x, spec["sentinels"], spec["edges"])
        else:
            second_levels, _, second_missing = self._group(frame, second, memo)
        n_second = len(spec["second_levels"])
        codes = np.where(
            (first_levels >= 0) & (second_levels >= 0), first_levels * n_second + second_levels, -1
        )
        missing = first_missing | second_missing
        if to_columns:
            column_of = np.full(len(first["categories"]) * n_second + 1, -1)
            column_of[spec["codes"]] = np.arange(len(spec["codes"]))
            codes = column_of[codes]  # -1 indexes the final -1
        return codes, np.ones(len(codes)), missing


def _column_means(
    levels: Levels, values: NDArray[np.float64], known: NDArray[np.bool_], width: int
) -> NDArray[np.float64]:
    count = int(known.sum())
    if count == 0 or width == 0:
        return np.zeros(width)
    inside = known & (levels >= 0)
    sums = np.bincount(levels[inside], weights=values[inside], minlength=width)
    return np.asarray(sums / count, dtype=float)


def build_encoder(config: ModelConfig, *, missing: str = "impute") -> ScorecardEncoder:
    features, estimator = config.features, config.estimator
    return ScorecardEncoder(
        numeric=tuple(features.numeric),
        categorical=tuple(features.categorical),
        numeric_encoding=estimator.numeric_encoding,
        n_bins=estimator.n_bins,
        sentinels=tuple((k, tuple(v)) for k, v in sorted(features.sentinels.items())),
        crosses=tuple((c.first, c.second, c.bins) for c in features.crosses),
        missing=missing,
    )


def build_pipeline(
    config: ModelConfig, *, c_value: float | None = None, missing: str = "impute"
) -> Pipeline:
    estimator = config.estimator
    classifier = LogisticRegression(
        C=estimator.C if c_value is None else c_value,
        class_weight=estimator.class_weight,
        max_iter=estimator.max_iter,
        solver="lbfgs",
    )
    return Pipeline(
        [(FEATURES_STEP, build_encoder(config, missing=missing)), (CLASSIFIER_STEP, classifier)]
    )
