"""The one training entry point of the retrain path: bytes and records in, a candidate out.

The service reads every byte through its injected stores and hands them over as a
``TrainingSet``; nothing here touches storage. The candidate carries its rendered artifacts and,
for every model it has to beat, that model's metrics on the candidate's own held-out rows.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from propensity.columns import FeedbackColumns
from propensity.config import ModelConfig
from propensity.inputs import TrainingSet
from propensity.records import Candidate
from propensity.scoring import Scorer
from propensity.training.dataset import load_labelled_csv, parse_dataset
from propensity.training.evaluate import SCALAR_METRICS, scalar_metrics
from propensity.training.feedback_holdout import frame_scores, holdout_report, split_feedback
from propensity.training.gate_evidence import gate_evidence
from propensity.training.train import (
    SCORECARD_FILE,
    TrainedModel,
    render_artifacts,
    split_frame,
    train_model,
)


def finite_metrics(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The scalar metrics that are numbers (a single-class split leaves some undefined)."""
    return {
        k: float(metrics[k])
        for k in SCALAR_METRICS
        if isinstance(metrics.get(k), float | int) and math.isfinite(float(metrics[k]))
    }


def feedback_frame(config: ModelConfig, feedback: FeedbackColumns) -> pd.DataFrame:
    """Feedback as training rows: the config's features (missing → NaN) and the 0/1 target,
    built column by column (no object per row)."""
    n = len(feedback)
    data: dict[str, Any] = {f: feedback.features.get(f, [None] * n) for f in config.features.all}
    data[config.target.column] = feedback.label
    frame = pd.DataFrame(data, columns=[*config.features.all, config.target.column])
    for column in config.features.numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    for column in config.features.categorical:
        frame[column] = frame[column].astype(object).where(frame[column].notna(), np.nan)
    frame[config.target.column] = frame[config.target.column].astype(int)
    return frame


def held_out_scores(scorer: Scorer, trained: TrainedModel) -> NDArray[Any]:
    """``scorer`` (e.g. the champion) on the candidate's held-out rows."""
    return frame_scores(scorer, trained.config, trained.test_frame)


def _evidence(
    trained: TrainedModel, comparators: Mapping[str, Scorer]
) -> tuple[dict[str, dict[str, float]], dict[str, Any]]:
    """Each comparator's metrics on the held-out rows, and the gate's evidence on them."""
    config = trained.config
    test = trained.test_frame
    y = test[config.target.column].to_numpy(dtype=int)
    scores = {name: held_out_scores(s, trained) for name, s in comparators.items()}
    comparisons = {
        name: finite_metrics(scalar_metrics(y, scores[name], comparators[name].threshold))
        for name in comparators
    }
    if not comparators or len(np.unique(y)) < 2:
        return comparisons, {}
    candidate = trained.pipeline.predict_proba(test[config.features.all])[:, 1]
    categories = {c: test[c].to_numpy(dtype=object) for c in config.features.categorical}
    evidence = gate_evidence(
        config.promotion, y, candidate, scores, categories, seed=config.split.seed
    )
    return comparisons, evidence


def candidate_from(
    trained: TrainedModel,
    *,
    comparators: Mapping[str, Scorer] | None = None,
    lineage: Mapping[str, Any] | None = None,
    feedback_holdout: Mapping[str, Any] | None = None,
) -> Candidate:
    """Render a trained model's artifacts and score the comparators on its held-out rows."""
    files = render_artifacts(trained, plots=False, profile=None)
    comparisons, evidence = _evidence(trained, comparators or {})
    evidence = {**evidence, "scorecard_bytes": len(files[SCORECARD_FILE])}
    return Candidate(
        model=trained.config.name,
        version=trained.version,
        files=files,
        artifacts=dict(trained.artifacts),
        metrics=finite_metrics(trained.metrics),
        comparisons=comparisons,
        threshold=float(trained.scorecard["threshold"]),
        rows_train=int(trained.training["rows_train"]),
        extra_rows=int(trained.training.get("rows_extra", 0)),
        data_sha256=str(trained.training["data_sha256"]),
        lineage=dict(lineage or {}),
        evidence=evidence,
        feedback_holdout=dict(feedback_holdout or {}),
    )


@dataclass(frozen=True)
class PreparedData:
    """What a backend trains and evaluates on: the base split, the extra training rows, and the
    held-out feedback (scored beside the base split), with their lineage."""

    base: pd.DataFrame
    train: pd.DataFrame
    test: pd.DataFrame
    extra: pd.DataFrame
    held: pd.DataFrame
    selected: int  # feedback rows the hash chose for the hold-out
    held_excluded: dict[str, int]
    lineage: dict[str, Any]


class SklearnTrainer:
    """Trains a candidate in this process with scikit-learn (the retrain function's backend)."""

    def __init__(self) -> None:
        # A warm container retrains the same base dataset again and again: parse it once per
        # content hash instead of on every retrain.
        self._bases: dict[tuple[str, str], pd.DataFrame] = {}

    def _base(self, config: ModelConfig, data: TrainingSet) -> pd.DataFrame:
        key = (config.name, hashlib.sha256(data.base).hexdigest())
        if key not in self._bases:
            self._bases.clear()
            self._bases[key] = parse_dataset(config, data.base, data.base_location)
        return self._bases[key]

    def extra_rows(
        self, config: ModelConfig, feedback: FeedbackColumns, data: TrainingSet
    ) -> pd.DataFrame:
        """``feedback`` (the part not held out) and the accepted uploads as training rows, added
        to the training split only. Uploads are batches an admin accepted, not feedback: none of
        their rows is held out."""
        columns = [*config.features.all, config.target.column]
        frames = [feedback_frame(config, feedback)]
        for upload in data.uploads:
            frame = load_labelled_csv(
                upload.payload, f"upload {upload.upload_id}", config, delimiter=upload.delimiter
            )
            frames.append(frame[columns])
        return pd.concat(frames, ignore_index=True)

    def prepare(self, config: ModelConfig, data: TrainingSet) -> PreparedData:
        """The held-out split the gate uses and the screened extra rows, as every backend
        trains on them (the base split is ``split_frame``'s: the same rows at every retrain)."""
        base = self._base(config, data)
        train, test = split_frame(base, config)
        kept, chosen = split_feedback(data.feedback, config.evaluation.feedback_holdout_share)
        held, held_excluded = held_out_feedback(config, train, test, chosen)
        extra = self.extra_rows(config, kept, data)
        extra, excluded = without_held_out_rows(config, test, extra)
        # A copy of a held-out feedback row (another id, the same features) is not trained on
        # either: the feedback hold-out would measure memory, as the base split would.
        extra, copies = without_held_out_rows(config, held, extra)
        extra, screened = admissible_rows(config, train, extra)
        lineage = {
            **data.lineage(),
            **screened,
            "held_out_matches_excluded": excluded + held_excluded["base_held_out_matches"],
            "out_of_range_excluded": screened["out_of_range_excluded"]
            + held_excluded["out_of_range"],
            "feedback_held_out_selected": len(chosen),
            "feedback_held_out_rows": len(held),
            "feedback_held_out_matches_excluded": copies,
        }
        return PreparedData(base, train, test, extra, held, len(chosen), held_excluded, lineage)

    def train(
        self,
        config: ModelConfig,
        data: TrainingSet,
        *,
        version: str,
        comparators: Mapping[str, Scorer],
    ) -> Candidate:
        prepared = self.prepare(config, data)
        base, extra, held, lineage = prepared.base, prepared.extra, prepared.held, prepared.lineage
        trained = train_model(
            config,
            base,
            version=version,
            extra_training=extra,
            data_sha256=data.fingerprint(),
            metadata_extra={"lineage": lineage},
        )
        # Reported beside the base split; the gate decides on the base held-out rows alone.
        report = holdout_report(
            config,
            held,
            lambda frame: trained.pipeline.predict_proba(frame[config.features.all])[:, 1],
            comparators,
            selected=prepared.selected,
            excluded=prepared.held_excluded,
        )
        return candidate_from(
            trained, comparators=comparators, lineage=lineage, feedback_holdout=report
        )


def held_out_feedback(
    config: ModelConfig, train: pd.DataFrame, test: pd.DataFrame, chosen: FeedbackColumns
) -> tuple[pd.DataFrame, dict[str, int]]:
    """The hash-chosen feedback as rows to score, and how many were left out, by reason.

    A copy of a base row (held-out or trained on: the features of a row every version has seen)
    is not fresh data, and a row training would refuse for its range is no evidence of how a
    version does on the rows it accepts: they are left out.
    """
    rows, matches = without_held_out_rows(config, test, feedback_frame(config, chosen))
    rows, seen = without_held_out_rows(config, train, rows)
    in_range = in_training_range(config, train, rows)
    return rows[in_range].reset_index(drop=True), {
        "base_held_out_matches": matches,
        "base_training_matches": seen,
        "out_of_range": int((~in_range).sum()),
    }


def without_held_out_rows(
    config: ModelConfig, test: pd.DataFrame, extra: pd.DataFrame
) -> tuple[pd.DataFrame, int]:
    """``extra`` without the rows whose features equal a held-out row's, and how many those were.

    Feedback can carry held-out rows back (sent once, they lifted the "held-out" ROC-AUC of bank
    from 0.7804 to 0.7829, three copies to 0.7854): trained on, they make the comparison that
    promotes a version measure memory instead of skill.
    """
    if extra.empty:
        return extra, 0
    features = config.features.all
    held_out = set(_row_hashes(test[features]))
    keep = ~np.isin(_row_hashes(extra[features]), list(held_out))
    return extra[keep].reset_index(drop=True), int((~keep).sum())


def admissible_rows(
    config: ModelConfig, train: pd.DataFrame, extra: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, int]]:
    """``extra`` as training may use it, and how many rows each rule touched.

    Rows with a number far outside the training range (``feedback.bounds``, else the range
    widened by ``range_margin`` times its width) are left out; categories never seen in training
    count as unknown (missing) until ``min_category_support`` rows carry them, and at most
    ``max_new_categories`` new values per feature are learnt: a flood of fresh strings cannot
    grow the scorecard.
    """
    rules = config.feedback
    if extra.empty:
        return extra, {"out_of_range_excluded": 0, "new_categories_as_unknown": 0}
    keep = in_training_range(config, train, extra)
    kept = extra[keep].reset_index(drop=True)
    unknown = 0
    for name in config.features.categorical:
        known = set(train[name].dropna())
        counts = kept[name][~kept[name].isin(known) & kept[name].notna()].value_counts()
        learnt = set(counts[counts >= rules.min_category_support].index[: rules.max_new_categories])
        demoted = kept[name].notna() & ~kept[name].isin(known | learnt)
        unknown += int(demoted.sum())
        kept.loc[demoted, name] = np.nan
    return kept, {
        "out_of_range_excluded": int((~keep).sum()),
        "new_categories_as_unknown": unknown,
    }


def in_training_range(
    config: ModelConfig, train: pd.DataFrame, extra: pd.DataFrame
) -> NDArray[np.bool_]:
    """Which rows of ``extra`` have every number within ``feedback.bounds``, else within the
    training range widened by ``range_margin`` times its width (missing numbers pass)."""
    rules = config.feedback
    keep = np.ones(len(extra), dtype=bool)
    for name in config.features.numeric:
        values = extra[name].to_numpy(dtype=float)
        if name in rules.bounds:
            low, high = rules.bounds[name]
        else:
            low, high = float(train[name].min()), float(train[name].max())
            width = (high - low) or max(abs(high), 1.0)
            low, high = low - rules.range_margin * width, high + rules.range_margin * width
        keep &= np.isnan(values) | ((values >= low) & (values <= high))
    return keep


def _row_hashes(frame: pd.DataFrame) -> NDArray[Any]:
    typed = frame.astype(object).where(frame.notna(), None)
    for column in frame.columns:
        if pd.api.types.is_numeric_dtype(frame[column]):
            typed[column] = frame[column].astype(float)
    return pd.util.hash_pandas_object(typed, index=False).to_numpy()
