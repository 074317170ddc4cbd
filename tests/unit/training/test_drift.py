"""Drift report: KS or chi-square per feature, adjusted for testing them all, and PSI."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import ValidationError
from scipy import stats

from propensity.config import DriftConfig, ModelConfig, load_model_config
from propensity.errors import DatasetError
from propensity.training.drift import (
    adjust_pvalues,
    drift_report,
    population_stability_index,
)

ROWS = 2_000


@pytest.fixture(scope="module")
def telecom() -> ModelConfig:
    return load_model_config("telecom")


@pytest.fixture(scope="module")
def bank() -> ModelConfig:
    return load_model_config("bank")


def _usage(seed: int, rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "calls": rng.poisson(60, rows).astype(float),
            "minutes": rng.normal(430.0, 120.0, rows),
            "messages": rng.poisson(35, rows).astype(float),
            "mb_used": rng.gamma(9.0, 1_900.0, rows),
        }
    )


def _with_proportions(values: dict[str, float], rows: int, seed: int) -> np.ndarray[Any, Any]:
    """Exactly these category shares, in random order."""
    counts = [round(share * rows) for share in values.values()]
    column = np.repeat(list(values), counts)
    np.random.default_rng(seed).shuffle(column)
    return column


def _clients(seed: int, contact_shares: dict[str, float], rows: int = ROWS) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, rows),
            "balance": rng.normal(1_300, 3_000, rows),
            "day": rng.integers(1, 32, rows),
            "campaign": rng.integers(1, 10, rows),
            "pdays": np.where(rng.random(rows) < 0.8, -1, rng.integers(1, 400, rows)),
            "previous": rng.poisson(0.5, rows),
            "job": rng.choice(["admin.", "blue-collar", "technician", "retired"], rows),
            "marital": rng.choice(["married", "single", "divorced"], rows, p=[0.6, 0.3, 0.1]),
            "education": rng.choice(["primary", "secondary", "tertiary"], rows),
            "default": rng.choice(["no", "yes"], rows, p=[0.98, 0.02]),
            "housing": rng.choice(["no", "yes"], rows),
            "loan": rng.choice(["no", "yes"], rows, p=[0.85, 0.15]),
            "contact": _with_proportions(contact_shares, rows, seed),
            "month": rng.choice(["may", "jun", "jul", "aug"], rows),
            "poutcome": rng.choice(["unknown", "failure", "success"], rows, p=[0.8, 0.15, 0.05]),
        }
    )


def test_identical_frames_show_no_drift(telecom: ModelConfig) -> None:
    # Given the same frame as reference and current
    frame = _usage(seed=1)

    # When the drift report compares them
    report = drift_report(frame, frame.copy(), telecom)

    # Then nothing drifts: PSI is ~0 and KS sees identical samples
    assert report["drift"] is False
    assert report["drifted_features"] == []
    for name in telecom.features.numeric:
        entry = report["features"][name]
        assert entry["psi"] == pytest.approx(0.0, abs=1e-12)
        assert entry["ks_statistic"] == pytest.approx(0.0)
        assert entry["ks_pvalue"] == pytest.approx(1.0)
        assert entry["drift"] is False
        assert entry["reasons"] == []


def test_report_shape_is_json_serialisable(telecom: ModelConfig) -> None:
    # Given two samples of the same distribution
    reference, current = _usage(seed=1), _usage(seed=2, rows=1_500)

    # When the report is built
    report = drift_report(reference, current, telecom)

    # Then it has the documented keys and survives strict JSON
    assert report["model"] == "telecom"
    assert report["reference_rows"] == ROWS
    assert report["current_rows"] == 1_500
    assert report["thresholds"] == telecom.drift.model_dump()
    assert set(report["features"]) == set(telecom.features.numeric)
    json.dumps(report, allow_nan=False)


def test_numeric_shift_of_two_std_is_flagged_by_psi_and_ks(telecom: ModelConfig) -> None:
    # Given a current sample whose minutes moved up by two standard deviations
    reference, current = _usage(seed=1), _usage(seed=2)
    current["minutes"] += 2 * reference["minutes"].std()

    # When the drift report compares them
    report = drift_report(reference, current, telecom)

    # Then minutes (and only minutes) is flagged, with a large PSI and a tiny KS p-value
    minutes = report["features"]["minutes"]
    assert minutes["drift"] is True
    assert minutes["psi"] >= telecom.drift.min_psi
    assert minutes["ks_pvalue"] < 1e-10 and minutes["adjusted_pvalue"] < telecom.drift.alpha
    assert any(reason.startswith("PSI") for reason in minutes["reasons"])
    assert any(reason.startswith("KS") for reason in minutes["reasons"])
    assert report["drifted_features"] == ["minutes"]
    assert report["drift"] is True


def test_values_beyond_the_reference_range_fall_in_the_end_bins(telecom: ModelConfig) -> None:
    # Given current values all above the reference maximum
    reference = _usage(seed=1)
    current = reference.copy()
    current["calls"] = reference["calls"].max() + 1 + np.arange(ROWS)

    # When the drift report compares them
    entry = drift_report(reference, current, telecom)["features"]["calls"]

    # Then all of them land in the last bin: PSI is large but finite
    assert entry["drift"] is True
    assert np.isfinite(entry["psi"])
    assert entry["psi"] > 5


def test_missing_values_are_ignored_and_counted(telecom: ModelConfig) -> None:
    # Given a current sample of the same distribution with 10 % of calls missing
    reference, current = _usage(seed=1), _usage(seed=2)
    current.loc[current.index[::10], "calls"] = np.nan

    # When the drift report compares them
    entry = drift_report(reference, current, telecom)["features"]["calls"]

    # Then the NaNs are reported as a missing fraction, not as drift
    assert entry["missing_fraction"] == {"reference": 0.0, "current": pytest.approx(0.1)}
    assert entry["drift"] is False


def test_a_feature_with_too_few_values_is_not_tested(telecom: ModelConfig) -> None:
    # Given a current sample where messages was never recorded and calls only 150 times
    reference, current = _usage(seed=1), _usage(seed=2)
    current["messages"] = np.nan
    current.loc[current.index[150:], "calls"] = np.nan

    # When the drift report compares them
    report = drift_report(reference, current, telecom)

    # Then neither is tested nor drift (the scorer imputed them), and the entry says why
    messages, calls = report["features"]["messages"], report["features"]["calls"]
    assert (messages["tested"], messages["drift"], messages["psi"]) == (False, False, None)
    assert messages["decision"] == (
        "not tested: 0 values in the current data, fewer than min_rows 200"
    )
    assert calls["values"] == {"reference": ROWS, "current": 150} and calls["drift"] is False
    assert messages["missing_fraction"]["current"] == 1.0
    # And only the two tested features share the correction
    assert report["correction"]["tests"] == 2
    json.dumps(report, allow_nan=False)


def test_a_significant_but_small_categorical_move_is_reported_not_drift(
    bank: ModelConfig,
) -> None:
    # Given contact shares that move from 50/50 to 58/42: clear at 2,000 rows, but a PSI of 0.03
    reference = _clients(seed=1, contact_shares={"cellular": 0.5, "telephone": 0.5})
    current = _clients(seed=1, contact_shares={"cellular": 0.58, "telephone": 0.42})

    # When the drift report compares them
    report = drift_report(reference, current, bank)

    # Then contact is significant after the correction, but below min_psi: not drift, and why
    contact = report["features"]["contact"]
    assert contact["significant"] is True and contact["adjusted_pvalue"] < bank.drift.alpha
    assert contact["psi"] < bank.drift.min_psi and contact["material"] is False
    assert contact["drift"] is False and contact["reasons"] == []
    assert "too small to matter" in contact["decision"]
    assert report["drifted_features"] == []


def test_categorical_proportion_change_is_flagged_by_chi_square_and_psi(bank: ModelConfig) -> None:
    # Given contact shares that move from 50/50 to 72/28
    reference = _clients(seed=1, contact_shares={"cellular": 0.5, "telephone": 0.5})
    current = _clients(seed=1, contact_shares={"cellular": 0.72, "telephone": 0.28})

    # When the drift report compares them
    report = drift_report(reference, current, bank)

    # Then contact alone is flagged, with the test's and PSI's numbers as its reasons
    contact = report["features"]["contact"]
    assert contact["drift"] is True and contact["test"] == "chi2"
    assert contact["psi"] >= bank.drift.min_psi
    assert contact["chi2_pvalue"] == contact["pvalue"] <= contact["adjusted_pvalue"] < 1e-10
    assert [reason.split()[0] for reason in contact["reasons"]] == ["chi-square", "PSI"]
    assert contact["decision"].startswith("drift: chi-square statistic")
    assert report["drifted_features"] == ["contact"]
    assert report["decision"].startswith("drift in contact (15 features tested")


def test_new_category_counts_towards_psi_and_is_listed(bank: ModelConfig) -> None:
    # Given a category that the reference never saw
    reference = _clients(seed=1, contact_shares={"cellular": 1.0})
    current = _clients(seed=1, contact_shares={"cellular": 0.5, "unknown": 0.5})

    # When the drift report compares them
    contact = drift_report(reference, current, bank)["features"]["contact"]

    # Then the empty reference bin uses the epsilon (finite PSI) and the category is named
    assert contact["new_categories"] == ["unknown"]
    assert contact["pooled_categories"] == ["unknown"]
    assert contact["categories"] == 2
    assert np.isfinite(contact["psi"])
    assert contact["drift"] is True


def test_single_category_on_both_sides_has_p_value_one(bank: ModelConfig) -> None:
    # Given a categorical with one category in both frames
    reference = _clients(seed=1, contact_shares={"cellular": 1.0})
    current = _clients(seed=2, contact_shares={"cellular": 1.0})

    # When the drift report compares them
    contact = drift_report(reference, current, bank)["features"]["contact"]

    # Then the degenerate chi-square is reported as no evidence of change
    assert contact["chi2_pvalue"] == 1.0
    assert contact["psi"] == pytest.approx(0.0)
    assert contact["drift"] is False


@pytest.mark.parametrize("side", ["reference", "current"])
def test_missing_feature_column_names_it(telecom: ModelConfig, side: str) -> None:
    # Given one frame without the mb_used column
    frames = {"reference": _usage(seed=1), "current": _usage(seed=2)}
    frames[side] = frames[side].drop(columns=["mb_used"])

    # When the drift report is asked for
    with pytest.raises(DatasetError) as raised:
        drift_report(frames["reference"], frames["current"], telecom)

    # Then the error names the frame and the column
    assert raised.value.column == "mb_used"
    assert raised.value.source == side
    assert "mb_used" in str(raised.value)


def test_empty_frame_is_rejected(telecom: ModelConfig) -> None:
    # Given an empty current frame with the right columns
    reference = _usage(seed=1)
    current = reference.iloc[0:0]

    # When / Then the report refuses to compare against nothing
    with pytest.raises(DatasetError, match="no rows"):
        drift_report(reference, current, telecom)


def test_non_numeric_value_in_numeric_feature_is_rejected(telecom: ModelConfig) -> None:
    # Given a text value in a numeric column
    reference, current = _usage(seed=1), _usage(seed=2)
    current["calls"] = current["calls"].astype(object)
    current.loc[5, "calls"] = "lots"

    # When / Then the error names the column instead of silently treating it as missing
    with pytest.raises(DatasetError) as raised:
        drift_report(reference, current, telecom)
    assert raised.value.column == "calls"


def test_population_stability_index_matches_the_formula() -> None:
    # Given shares 50/50 → 25/75
    # When PSI is computed from counts
    psi = population_stability_index([50, 50], [25, 75])

    # Then it equals Σ (c - r)·ln(c / r)
    expected = (0.25 - 0.5) * np.log(0.25 / 0.5) + (0.75 - 0.5) * np.log(0.75 / 0.5)
    assert psi == pytest.approx(expected)


def _with_correction(config: ModelConfig, correction: str) -> ModelConfig:
    drift = config.drift.model_copy(update={"correction": correction})
    return config.model_copy(update={"drift": drift})


@pytest.mark.parametrize("correction", ["benjamini-hochberg", "benjamini-yekutieli", "bonferroni"])
def test_p_values_are_adjusted_together_by_the_configured_method(
    telecom: ModelConfig, correction: str
) -> None:
    # Given two samples of the same distribution and a config naming the correction
    config = _with_correction(telecom, correction)
    reference, current = _usage(seed=1), _usage(seed=2, rows=400)

    # When the drift report compares them
    report = drift_report(reference, current, config)

    # Then each adjusted p-value is the method's, over the four features' raw p-values
    names = list(report["features"])
    raw = np.array([report["features"][n]["pvalue"] for n in names])
    if correction == "bonferroni":
        expected = np.minimum(raw * len(raw), 1.0)
    else:
        method = "bh" if correction == "benjamini-hochberg" else "by"
        expected = stats.false_discovery_control(raw, method=method)
    assert [report["features"][n]["adjusted_pvalue"] for n in names] == pytest.approx(expected)
    assert report["correction"] == {
        "method": correction,
        "alpha": config.drift.alpha,
        "min_psi": config.drift.min_psi,
        "tests": 4,
    }


def test_a_p_value_below_alpha_alone_is_not_significant_among_many() -> None:
    # Given one p-value of 0.004 among fifteen features' p-values that show nothing
    pvalues = [0.004, *np.linspace(0.2, 0.95, 14)]

    # When they are adjusted for testing fifteen features
    bh = adjust_pvalues(pvalues, "benjamini-hochberg")
    bonferroni = adjust_pvalues(pvalues, "bonferroni")

    # Then 0.004 is no longer below alpha 0.01: one chance in a hundred, fifteen times over
    assert bh[0] == pytest.approx(0.004 * 15) and bonferroni[0] == pytest.approx(0.06)
    assert all(adjusted >= raw for adjusted, raw in zip(bh, pvalues, strict=True))


def test_rare_categories_are_pooled_for_the_chi_square(bank: ModelConfig) -> None:
    # Given a reference where "x" is 0.1 % of contacts: 2 expected in 2,000 current rows
    reference = _clients(seed=1, contact_shares={"cellular": 0.599, "telephone": 0.4, "x": 0.001})
    current = _clients(seed=2, contact_shares={"cellular": 0.597, "telephone": 0.4, "x": 0.003})

    # When the drift report compares them
    contact = drift_report(reference, current, bank)["features"]["contact"]

    # Then the rare category is pooled for the test (the approximation needs ~5 expected)
    assert contact["pooled_categories"] == ["x"] and contact["categories"] == 3
    assert contact["tested"] is True and contact["pvalue"] is not None


@pytest.mark.parametrize(
    "settings",
    [{"sources": ["web"]}, {"sources": []}, {"min_rows": 5}, {"alpha": 0}, {"correction": "none"}],
)
def test_the_drift_config_refuses_settings_without_meaning(settings: dict[str, Any]) -> None:
    # When a [drift] section names an unknown source, no source, a tiny window, alpha 0 or no
    # correction / Then it is refused before any report is computed
    with pytest.raises(ValidationError):
        DriftConfig(**settings)
