"""Scoring requests with the champion and logging every prediction."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from propensity.clock import utc_now
from propensity.errors import BatchTooLargeError, InvalidInputError, UnknownModelError
from propensity.records import ChampionAlias, PredictionRecord
from propensity.scoring import Score, Scorer
from propensity.service.champions import ChampionCache
from propensity.service.ports import ModelConfigSource, PredictionLog

TOP_REASONS = 3
# A row holds a model's features (a few dozen) plus, in lenient mode, other fields that are
# ignored and named back in ``ignored``: bounded, so a hostile row cannot make a huge answer.
MAX_ROW_FIELDS = 1000


@dataclass(frozen=True)
class Prediction:
    prediction_id: str
    model: str
    version: str
    probability: float
    prediction: int
    label: str
    threshold: float
    timestamp: str
    reasons: list[dict[str, Any]]
    imputed: list[str]
    unknown: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    # Whether the prediction log holds it, so that feedback may name it by prediction_id (every
    # single prediction is logged; a batch logs a bounded sample of its rows).
    logged: bool = True
    # The model's target column (e.g. is_ultra): names the seed-compatible probability field.
    target_column: str = ""

    def answer(self) -> dict[str, Any]:
        """The API's answer: every field, plus ``probability_<target>`` as seed 002's API had.

        Shallow (not ``asdict``, which deep-copies every reason on the warm path): the answer is
        serialised at once and shares the prediction's own lists.
        """
        body = {name: getattr(self, name) for name in _ANSWER_FIELDS}
        if self.target_column:
            body[f"probability_{self.target_column}"] = self.probability
        return body


_ANSWER_FIELDS = tuple(f.name for f in fields(Prediction) if f.name != "target_column")


class PredictionService:
    def __init__(
        self,
        champions: ChampionCache,
        log: PredictionLog,
        *,
        models: Sequence[str] | ModelConfigSource,
        log_ttl_days: int,
        batch_limit: int,
        batch_log_rows: int = 25,
        clock: Callable[[], datetime] = utc_now,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.champion_cache = champions
        self._log = log
        # The function's ModelConfigSource (models added at run time are served, archived ones
        # refused with their reason), or fixed names (tests, the benchmark).
        self._models: ModelConfigSource | None = None if isinstance(models, Sequence) else models
        self._names = tuple(models) if isinstance(models, Sequence) else ()
        self._ttl = timedelta(days=log_ttl_days)
        self.batch_limit = batch_limit
        self.batch_log_rows = batch_log_rows
        self._clock = clock
        self._new_id = new_id

    def champion(self, model: str) -> tuple[ChampionAlias, Scorer]:
        if self._models is not None:
            self._models.get(model)
        elif model not in self._names:
            raise UnknownModelError(model)
        return self.champion_cache.get(model)

    def predict(
        self,
        model: str,
        features: Mapping[str, Any],
        *,
        strict: bool = True,
        source: str = "api",
    ) -> Prediction:
        return self.predict_many(
            model, [features], strict=strict, field_prefix="features", source=source
        )[0]

    def predict_batch(
        self, model: str, rows: Sequence[Mapping[str, Any]], *, strict: bool = True
    ) -> list[Prediction]:
        if len(rows) > self.batch_limit:
            raise BatchTooLargeError(len(rows), self.batch_limit)
        return self.predict_many(model, rows, strict=strict, field_prefix="rows", source="batch")

    def _logged_ids(self, ids: Sequence[str]) -> set[str]:
        """The batch rows the log keeps: all of a small batch; of a larger one the
        ``batch_log_rows`` whose ids hash lowest (a uniform sample, so the drift window still
        sees batch traffic as it is), bounding a request's writes whatever its size."""
        if len(ids) <= self.batch_log_rows:
            return set(ids)
        ranked = sorted(ids, key=lambda i: hashlib.sha256(i.encode()).digest())
        return set(ranked[: self.batch_log_rows])

    def predict_many(
        self,
        model: str,
        rows: Sequence[Mapping[str, Any]],
        *,
        strict: bool,
        field_prefix: str,
        source: str = "api",
    ) -> list[Prediction]:
        alias, scorer = self.champion(model)
        target = scorer.target
        labels = (target.negative_label, target.positive_label)
        target_column = target.column
        now = self._clock()
        timestamp = now.isoformat(timespec="milliseconds")
        expires_at = int((now + self._ttl).timestamp())
        scored: list[tuple[Mapping[str, Any], Score]] = []
        for index, row in enumerate(rows):
            where = field_prefix if field_prefix == "features" else f"{field_prefix}[{index}]"
            if not isinstance(row, Mapping):
                raise InvalidInputError(where, "must be an object of feature name → value")
            if len(row) > MAX_ROW_FIELDS:
                raise InvalidInputError(where, f"has {len(row)} fields; at most {MAX_ROW_FIELDS}")
            try:
                scored.append((row, scorer.score(row, strict=strict)))
            except InvalidInputError as exc:
                raise InvalidInputError(f"{where}.{exc.field}", exc.reason) from exc
        ids = [self._new_id() for _ in scored]
        sampled = self._logged_ids(ids) if source == "batch" else set(ids)
        predictions: list[Prediction] = []
        records: list[PredictionRecord] = []
        for prediction_id, (row, score) in zip(ids, scored, strict=True):
            if prediction_id in sampled:
                records.append(
                    PredictionRecord(
                        prediction_id,
                        model,
                        alias.version,
                        timestamp,
                        {name: row.get(name) for name in scorer.feature_names},
                        score.probability,
                        score.prediction,
                        expires_at,
                        source,
                    )
                )
            predictions.append(
                Prediction(
                    prediction_id=prediction_id,
                    model=model,
                    version=alias.version,
                    probability=score.probability,
                    prediction=score.prediction,
                    label=labels[score.prediction],
                    threshold=scorer.threshold,
                    timestamp=timestamp,
                    reasons=[
                        {
                            "feature": c.feature,
                            "value": c.value,
                            "contribution": c.contribution,
                            "text": c.describe(),
                        }
                        for c in score.reasons(TOP_REASONS)
                    ],
                    imputed=list(score.imputed),
                    unknown=list(score.unknown),
                    ignored=list(score.ignored),
                    logged=prediction_id in sampled,
                    target_column=target_column,
                )
            )
        # Logged before answering: a prediction_id the caller sees can always take feedback.
        self._log.put_many(records)
        return predictions
