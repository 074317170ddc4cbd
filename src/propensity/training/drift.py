"""Data drift between a reference frame (the training data) and a current one (recent traffic).

Every configured feature gets a magnitude (PSI, population stability index) and a significance
test (two-sample Kolmogorov–Smirnov for numerics, chi-square on the 2×k contingency table for
categoricals). PSI says how much the distribution moved; the test says whether the move is more
than sampling noise. With large samples the tests flag tiny, harmless moves, so both are reported
and either one flags the feature; the thresholds come from the model config.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from propensity.config import ModelConfig
from propensity.errors import DatasetError

# Stands in for the share of an empty bin: ln(0) would make PSI infinite.
PSI_EPSILON = 1e-4
# Categories seen only in current data (the scorer gives them no weight), listed up to this many.
MAX_LISTED_CATEGORIES = 20

_REFERENCE, _CURRENT = "reference", "current"

FloatArray = npt.NDArray[np.float64]


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, config: ModelConfig
) -> dict[str, Any]:
    """Compare every configured feature of ``current`` with ``reference``; JSON-serialisable.

    NaN (and, for numerics, ±inf) values are left out of the comparison and reported as
    ``missing_fraction``. Raises ``DatasetError`` for an empty frame or a missing feature column.
    """
    _check_frame(reference, _REFERENCE, config)
    _check_frame(current, _CURRENT, config)
    thresholds = config.drift

    features: dict[str, dict[str, Any]] = {}
    for name in config.features.numeric:
        features[name] = _numeric_drift(
            numeric_values(reference[name], name, _REFERENCE),
            numeric_values(current[name], name, _CURRENT),
            config,
        )
    for name in config.features.categorical:
        features[name] = _categorical_drift(reference[name], current[name], config)

    drifted = [name for name, entry in features.items() if entry["drift"]]
    return {
        "model": config.name,
        "thresholds": thresholds.model_dump(),
        "reference_rows": len(reference),
        "current_rows": len(current),
        "features": features,
        "drifted_features": drifted,
        "drift": bool(drifted),
    }


def population_stability_index(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike
) -> float:
    """PSI = Σ (c - r)·ln(c / r) over bins, on shares; empty bins count as ``PSI_EPSILON``."""
    reference_share = _shares(np.asarray(reference_counts, dtype=np.float64))
    current_share = _shares(np.asarray(current_counts, dtype=np.float64))
    log_ratio = np.log(current_share / reference_share)
    return float(np.sum((current_share - reference_share) * log_ratio))


def _shares(counts: FloatArray) -> FloatArray:
    shares: FloatArray = np.maximum(counts / counts.sum(), PSI_EPSILON)
    return shares


def _check_frame(frame: pd.DataFrame, source: str, config: ModelConfig) -> None:
    if len(frame) == 0:
        raise DatasetError(source, "has no rows: drift needs data on both sides")
    missing = [name for name in config.features.all if name not in frame.columns]
    if missing:
        raise DatasetError(source, f"missing feature columns {missing}", column=missing[0])


def numeric_values(column: pd.Series[Any], name: str, source: str) -> pd.Series[float]:
    """The column as floats, NaN where missing or infinite; a non-numeric value is an error."""
    as_numbers = pd.to_numeric(column, errors="coerce")
    unparsable = as_numbers.isna() & column.notna()
    if unparsable.any():
        example = column[unparsable].iloc[0]
        raise DatasetError(
            source, f"non-numeric value {example!r} in a numeric feature", column=name
        )
    as_floats = as_numbers.astype(np.float64)
    return as_floats.where(np.isfinite(as_floats))


def _missing_fraction(missing: int, rows: int) -> float:
    return missing / rows if rows else 0.0


def _empty_side_entry(
    kind: str, reference_present: int, current_present: int, base: dict[str, Any]
) -> dict[str, Any]:
    """Entry for a feature with no usable values on one or both sides: nothing to compare."""
    statistic, pvalue = (
        ("ks_statistic", "ks_pvalue") if kind == "numeric" else ("chi2_statistic", "chi2_pvalue")
    )
    entry = {**base, "psi": None, statistic: None, pvalue: None, "drift": False, "reasons": []}
    if reference_present == 0 and current_present == 0:
        return {**entry, "note": "no non-missing values in either frame"}
    # Values on one side only is itself a change of the data.
    side = _REFERENCE if reference_present == 0 else _CURRENT
    return {**entry, "drift": True, "reasons": [f"no non-missing values in the {side} data"]}


def _numeric_drift(
    reference: pd.Series[float], current: pd.Series[float], config: ModelConfig
) -> dict[str, Any]:
    thresholds = config.drift
    reference_values = reference.dropna().to_numpy(dtype=np.float64)
    current_values = current.dropna().to_numpy(dtype=np.float64)
    base: dict[str, Any] = {
        "type": "numeric",
        "missing_fraction": {
            _REFERENCE: _missing_fraction(len(reference) - len(reference_values), len(reference)),
            _CURRENT: _missing_fraction(len(current) - len(current_values), len(current)),
        },
        "reference_mean": float(reference_values.mean()) if len(reference_values) else None,
        "current_mean": float(current_values.mean()) if len(current_values) else None,
    }
    if len(reference_values) == 0 or len(current_values) == 0:
        return _empty_side_entry("numeric", len(reference_values), len(current_values), base)

    # Inner cut points at the reference's inner quantiles; ties collapse (a column that is mostly
    # one value gets fewer bins). Bins are right-closed, values beyond the reference range land
    # in the end bins.
    quantiles = np.linspace(0.0, 1.0, thresholds.bins + 1)[1:-1]
    cut_points = np.unique(np.quantile(reference_values, quantiles))
    bin_count = len(cut_points) + 1
    reference_counts = np.bincount(
        np.searchsorted(cut_points, reference_values, side="left"), minlength=bin_count
    )
    current_counts = np.bincount(
        np.searchsorted(cut_points, current_values, side="left"), minlength=bin_count
    )
    psi = population_stability_index(reference_counts, current_counts)
    ks = stats.ks_2samp(reference_values, current_values)
    ks_statistic, ks_pvalue = float(ks.statistic), float(ks.pvalue)

    reasons = []
    if psi >= thresholds.psi_threshold:
        reasons.append(f"PSI {psi:.3f} ≥ {thresholds.psi_threshold}")
    if ks_pvalue < thresholds.ks_pvalue:
        reasons.append(
            f"KS statistic {ks_statistic:.3f}, p-value {ks_pvalue:.3g} < {thresholds.ks_pvalue}"
        )
    return {
        **base,
        "bins": bin_count,
        "psi": psi,
        "ks_statistic": ks_statistic,
        "ks_pvalue": ks_pvalue,
        "drift": bool(reasons),
        "reasons": reasons,
    }


def _categorical_drift(
    reference: pd.Series[Any], current: pd.Series[Any], config: ModelConfig
) -> dict[str, Any]:
    thresholds = config.drift
    # Compare categories as text, the way the scorer receives them.
    reference_counts = reference.dropna().astype(str).value_counts()
    current_counts = current.dropna().astype(str).value_counts()
    reference_present, current_present = int(reference_counts.sum()), int(current_counts.sum())
    categories = sorted(set(reference_counts.index) | set(current_counts.index))
    new_categories = sorted(set(current_counts.index) - set(reference_counts.index))
    base: dict[str, Any] = {
        "type": "categorical",
        "missing_fraction": {
            _REFERENCE: _missing_fraction(len(reference) - reference_present, len(reference)),
            _CURRENT: _missing_fraction(len(current) - current_present, len(current)),
        },
        "categories": len(categories),
        "new_categories": new_categories[:MAX_LISTED_CATEGORIES],
    }
    if reference_present == 0 or current_present == 0:
        return _empty_side_entry("categorical", reference_present, current_present, base)

    table = np.vstack(
        [
            reference_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.float64),
            current_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.float64),
        ]
    )
    psi = population_stability_index(table[0], table[1])
    if len(categories) < 2:
        # A single category on both sides: the proportions cannot differ.
        chi2_statistic, chi2_pvalue = 0.0, 1.0
    else:
        # Every category has a non-zero count on at least one side, so no expected count is 0.
        chi2 = stats.chi2_contingency(table)
        chi2_statistic, chi2_pvalue = float(chi2.statistic), float(chi2.pvalue)

    reasons = []
    if psi >= thresholds.psi_threshold:
        reasons.append(f"PSI {psi:.3f} ≥ {thresholds.psi_threshold}")
    if chi2_pvalue < thresholds.chi2_pvalue:
        reasons.append(
            f"chi-square {chi2_statistic:.3f}, p-value {chi2_pvalue:.3g} < {thresholds.chi2_pvalue}"
        )
    return {
        **base,
        "psi": psi,
        "chi2_statistic": chi2_statistic,
        "chi2_pvalue": chi2_pvalue,
        "drift": bool(reasons),
        "reasons": reasons,
    }
