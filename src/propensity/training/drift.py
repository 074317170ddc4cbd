"""Data drift between a reference frame (the training data) and a current one (recent traffic).

Every configured feature gets a significance test (two-sample Kolmogorov–Smirnov for numerics,
chi-square on the 2×k contingency table for categoricals) and a magnitude (PSI, population
stability index). The p-values of all tested features are adjusted together (Benjamini–Hochberg
by default): testing fifteen features at 1 % each would flag one in seven unchanged windows.

A feature drifts when its adjusted p-value is below ``alpha`` and its PSI reaches ``min_psi``.
PSI alone is no test: its sampling noise is about (bins - 1) / rows, so at 50 rows every window
drawn from the training data itself passed the old 0.2 mark. Each entry says, in ``decision``,
why it is or is not drift, with the numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

from propensity.config import DriftConfig, ModelConfig
from propensity.errors import DatasetError

# Stands in for the share of an empty bin: ln(0) would make PSI infinite.
PSI_EPSILON = 1e-4
# Categories seen only in current data (the scorer gives them no weight), listed up to this many.
MAX_LISTED_CATEGORIES = 20
# Cochran's rule: the chi-square approximation needs expected counts of about 5 or more, so
# categories rarer than that in the current window are pooled into one cell for the test.
MIN_EXPECTED_COUNT = 5.0

_REFERENCE, _CURRENT = "reference", "current"
_SCIPY_METHODS = {"benjamini-hochberg": "bh", "benjamini-yekutieli": "by"}

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class _Tested:
    """A feature's entry so far, and its raw p-value when it was tested."""

    entry: dict[str, Any]
    pvalue: float | None


def drift_report(
    reference: pd.DataFrame, current: pd.DataFrame, config: ModelConfig
) -> dict[str, Any]:
    """Compare every configured feature of ``current`` with ``reference``; JSON-serialisable.

    NaN (and, for numerics, ±inf) values are left out of the comparison and reported as
    ``missing_fraction``; a feature with fewer than ``min_rows`` values on either side is not
    tested. Raises ``DatasetError`` for an empty frame or a missing feature column.
    """
    _check_frame(reference, _REFERENCE, config)
    _check_frame(current, _CURRENT, config)
    settings = config.drift

    tested: dict[str, _Tested] = {}
    for name in config.features.numeric:
        tested[name] = _numeric_drift(
            numeric_values(reference[name], name, _REFERENCE),
            numeric_values(current[name], name, _CURRENT),
            settings,
        )
    for name in config.features.categorical:
        tested[name] = _categorical_drift(reference[name], current[name], settings)

    raw = {name: result.pvalue for name, result in tested.items() if result.pvalue is not None}
    adjusted = adjust_pvalues(list(raw.values()), settings.correction)
    features = {name: result.entry for name, result in tested.items()}
    for name, pvalue in zip(raw, adjusted, strict=True):
        features[name] = _decide(features[name], pvalue, settings)

    drifted = [name for name, entry in features.items() if entry["drift"]]
    return {
        "model": config.name,
        "thresholds": settings.model_dump(),
        "correction": {
            "method": settings.correction,
            "alpha": settings.alpha,
            "min_psi": settings.min_psi,
            "tests": len(raw),
        },
        "reference_rows": len(reference),
        "current_rows": len(current),
        "features": features,
        "drifted_features": drifted,
        "drift": bool(drifted),
        "decision": _summary(drifted, len(raw), settings),
    }


def adjust_pvalues(pvalues: list[float], method: str) -> list[float]:
    """The p-values adjusted for testing them together; SciPy's BH/BY, or Bonferroni."""
    if not pvalues:
        return []
    raw = np.asarray(pvalues, dtype=np.float64)
    if method == "bonferroni":
        return [float(p) for p in np.minimum(raw * len(raw), 1.0)]
    return [float(p) for p in stats.false_discovery_control(raw, method=_SCIPY_METHODS[method])]


def population_stability_index(
    reference_counts: npt.ArrayLike, current_counts: npt.ArrayLike
) -> float:
    """PSI = Σ (c - r)·ln(c / r) over bins, on shares; empty bins count as ``PSI_EPSILON``."""
    reference_share = _shares(np.asarray(reference_counts, dtype=np.float64))
    current_share = _shares(np.asarray(current_counts, dtype=np.float64))
    log_ratio = np.log(current_share / reference_share)
    return float(np.sum((current_share - reference_share) * log_ratio))


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


def _shares(counts: FloatArray) -> FloatArray:
    shares: FloatArray = np.maximum(counts / counts.sum(), PSI_EPSILON)
    return shares


def _check_frame(frame: pd.DataFrame, source: str, config: ModelConfig) -> None:
    if len(frame) == 0:
        raise DatasetError(source, "has no rows: drift needs data on both sides")
    missing = [name for name in config.features.all if name not in frame.columns]
    if missing:
        raise DatasetError(source, f"missing feature columns {missing}", column=missing[0])


def _missing_fraction(missing: int, rows: int) -> float:
    return missing / rows if rows else 0.0


def _untested(
    test: str, reference_present: int, current_present: int, base: dict[str, Any], minimum: int
) -> _Tested:
    """Entry for a feature with too few values on a side to test: not drift, and why."""
    side, present = (
        (_REFERENCE, reference_present)
        if reference_present < minimum
        else (_CURRENT, current_present)
    )
    entry = {
        **base,
        "test": test,
        "tested": False,
        "psi": None,
        "statistic": None,
        "pvalue": None,
        "adjusted_pvalue": None,
        f"{test}_statistic": None,
        f"{test}_pvalue": None,
        "drift": False,
        "reasons": [],
        "decision": (
            f"not tested: {present} values in the {side} data, fewer than min_rows {minimum}"
        ),
    }
    return _Tested(entry, None)


def _tested(
    test: str, base: dict[str, Any], psi: float, statistic: float, pvalue: float
) -> _Tested:
    entry = {
        **base,
        "test": test,
        "tested": True,
        "psi": psi,
        "statistic": statistic,
        "pvalue": pvalue,
        f"{test}_statistic": statistic,
        f"{test}_pvalue": pvalue,
    }
    return _Tested(entry, pvalue)


def _decide(entry: dict[str, Any], adjusted: float, settings: DriftConfig) -> dict[str, Any]:
    """The tested entry with its adjusted p-value, verdict and the reasons for it."""
    label = "KS" if entry["test"] == "ks" else "chi-square"
    evidence = (
        f"{label} statistic {entry['statistic']:.3f}, p-value {entry['pvalue']:.3g}, "
        f"adjusted ({settings.correction}) {adjusted:.3g}"
    )
    significant = adjusted < settings.alpha
    material = entry["psi"] >= settings.min_psi
    psi = f"PSI {entry['psi']:.3f}"
    if significant and material:
        reasons = [f"{evidence} < alpha {settings.alpha}", f"{psi} ≥ min_psi {settings.min_psi}"]
        decision = f"drift: {reasons[0]} and {reasons[1]}"
    elif significant:
        reasons = []
        decision = (
            f"no drift: {evidence} < alpha {settings.alpha}, but {psi} < min_psi "
            f"{settings.min_psi}: too small to matter"
        )
    else:
        reasons = []
        decision = f"no drift: {evidence} ≥ alpha {settings.alpha}, {psi}: within sampling noise"
    return {
        **entry,
        "adjusted_pvalue": adjusted,
        "alpha": settings.alpha,
        "min_psi": settings.min_psi,
        "significant": significant,
        "material": material,
        "drift": significant and material,
        "reasons": reasons,
        "decision": decision,
    }


def _summary(drifted: list[str], tests: int, settings: DriftConfig) -> str:
    rule = (
        f"{tests} features tested, p-values adjusted by {settings.correction}; drift where the "
        f"adjusted p-value < {settings.alpha} and PSI ≥ {settings.min_psi}"
    )
    if drifted:
        return f"drift in {', '.join(drifted)} ({rule})"
    return f"no drift ({rule})"


def _numeric_drift(
    reference: pd.Series[float], current: pd.Series[float], settings: DriftConfig
) -> _Tested:
    reference_values = reference.dropna().to_numpy(dtype=np.float64)
    current_values = current.dropna().to_numpy(dtype=np.float64)
    base: dict[str, Any] = {
        "type": "numeric",
        "values": {_REFERENCE: len(reference_values), _CURRENT: len(current_values)},
        "missing_fraction": {
            _REFERENCE: _missing_fraction(len(reference) - len(reference_values), len(reference)),
            _CURRENT: _missing_fraction(len(current) - len(current_values), len(current)),
        },
        "reference_mean": float(reference_values.mean()) if len(reference_values) else None,
        "current_mean": float(current_values.mean()) if len(current_values) else None,
    }
    if min(len(reference_values), len(current_values)) < settings.min_rows:
        return _untested("ks", len(reference_values), len(current_values), base, settings.min_rows)

    # Inner cut points at the reference's inner quantiles; ties collapse (a column that is mostly
    # one value gets fewer bins). Bins are right-closed, values beyond the reference range land
    # in the end bins.
    quantiles = np.linspace(0.0, 1.0, settings.bins + 1)[1:-1]
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
    return _tested("ks", {**base, "bins": bin_count}, psi, float(ks.statistic), float(ks.pvalue))


def _categorical_drift(
    reference: pd.Series[Any], current: pd.Series[Any], settings: DriftConfig
) -> _Tested:
    # Compare categories as text, the way the scorer receives them.
    reference_counts = reference.dropna().astype(str).value_counts()
    current_counts = current.dropna().astype(str).value_counts()
    reference_present, current_present = int(reference_counts.sum()), int(current_counts.sum())
    categories = sorted(set(reference_counts.index) | set(current_counts.index))
    new_categories = sorted(set(current_counts.index) - set(reference_counts.index))
    base: dict[str, Any] = {
        "type": "categorical",
        "values": {_REFERENCE: reference_present, _CURRENT: current_present},
        "missing_fraction": {
            _REFERENCE: _missing_fraction(len(reference) - reference_present, len(reference)),
            _CURRENT: _missing_fraction(len(current) - current_present, len(current)),
        },
        "categories": len(categories),
        "new_categories": new_categories[:MAX_LISTED_CATEGORIES],
    }
    if min(reference_present, current_present) < settings.min_rows:
        return _untested("chi2", reference_present, current_present, base, settings.min_rows)

    table = np.vstack(
        [
            reference_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.float64),
            current_counts.reindex(categories, fill_value=0).to_numpy(dtype=np.float64),
        ],
        # pandas-stubs 3 types to_numpy() of counts as integer whatever the dtype asked for
        dtype=np.float64,
    )
    psi = population_stability_index(table[0], table[1])
    pooled, pooled_names = _pool_rare(table, categories)
    if pooled.shape[1] < 2:
        # One category (or one cell after pooling) on both sides: the proportions cannot differ.
        statistic, pvalue = 0.0, 1.0
    else:
        # Every category has a non-zero count on at least one side, so no expected count is 0.
        chi2 = stats.chi2_contingency(pooled)
        statistic, pvalue = float(chi2.statistic), float(chi2.pvalue)
    base["pooled_categories"] = pooled_names[:MAX_LISTED_CATEGORIES]
    return _tested("chi2", base, psi, statistic, pvalue)


def _pool_rare(table: FloatArray, categories: list[str]) -> tuple[FloatArray, list[str]]:
    """The 2×k table with categories expected fewer than 5 times in the current window merged.

    Expected counts are the reference shares times the current rows, so a category new in the
    current data (share 0) is always pooled: it still moves PSI and is listed as new.
    """
    reference_share = table[0] / table[0].sum()
    rare = reference_share * table[1].sum() < MIN_EXPECTED_COUNT
    if not rare.any():
        return table, []
    kept = table[:, ~rare]
    merged = table[:, rare].sum(axis=1, keepdims=True)
    names = [c for c, is_rare in zip(categories, rare, strict=True) if is_rare]
    return np.hstack([kept, merged]), names
