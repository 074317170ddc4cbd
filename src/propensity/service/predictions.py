"""Scoring requests with the champion (and a challenger on trial) and logging every prediction."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from propensity.clock import utc_now
from propensity.config_challenger import ChallengerConfig
from propensity.errors import BatchTooLargeError, InvalidInputError, UnknownModelError
from propensity.records import ChampionAlias, PredictionRecord
from propensity.scoring import Score, Scorer
from propensity.service.challenger_routing import Breaker, caller_key, share
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
    # Which model answered: the champion, or (a canary's share of callers) the challenger.
    answered_by: str = "champion"
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


@dataclass(frozen=True)
class _TrialScore:
    version: str  # the challenger's
    scorer: Scorer
    answer: Score | None  # the challenger's score when it answers this row
    scores: dict[str, float]  # version → probability, champion and (unless it raised) challenger
    error: str
    micros: float


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
        on_challenger: Callable[[bool], None] | None = None,
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
        self._breakers: dict[tuple[str, str], Breaker] = {}
        # Told of every challenger scoring (True: it raised): the kill switch's alarm counts them.
        self._on_challenger = on_challenger

    def _trial_config(self, model: str) -> ChallengerConfig:
        if self._models is not None:
            return self._models.get(model).challenger
        if model not in self._names:
            raise UnknownModelError(model)
        return ChallengerConfig()

    def champion(self, model: str) -> tuple[ChampionAlias, Scorer]:
        self._trial_config(model)
        return self.champion_cache.get(model)

    def _breaker(self, model: str, version: str, config: ChallengerConfig) -> Breaker:
        breaker = self._breakers.get((model, version))
        if breaker is None:
            breaker = self._breakers[(model, version)] = Breaker(config.kill_switch)
        return breaker

    def predict(
        self,
        model: str,
        features: Mapping[str, Any],
        *,
        strict: bool = True,
        source: str = "api",
        headers: Mapping[str, str] | None = None,
    ) -> Prediction:
        """``headers``: the request's, where a canary reads the caller key its config names."""
        return self.predict_many(
            model,
            [features],
            strict=strict,
            field_prefix="features",
            source=source,
            headers=headers,
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
        headers: Mapping[str, str] | None = None,
    ) -> list[Prediction]:
        trial_config = self._trial_config(model)
        alias, scorer, challenger = self.champion_cache.serving(model)
        pointer = alias.challenger if challenger is not None else None
        target_column = scorer.target.column
        # Read only during a trial: without a challenger the caller key changes nothing.
        caller = headers.get(trial_config.caller_header.lower()) if headers and pointer else None
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
        for prediction_id, (row, champion_score) in zip(ids, scored, strict=True):
            trial = (
                self._trial(model, row, caller, alias, challenger, trial_config, champion_score)
                if pointer is not None and challenger is not None
                else None
            )
            version, answering, score = alias.version, scorer, champion_score
            if trial is not None and trial.answer is not None:
                version, answering, score = trial.version, trial.scorer, trial.answer
            if prediction_id in sampled:
                records.append(
                    PredictionRecord(
                        prediction_id,
                        model,
                        version,
                        timestamp,
                        {name: row.get(name) for name in scorer.feature_names},
                        score.probability,
                        score.prediction,
                        expires_at,
                        source,
                        scores=trial.scores if trial else {},
                        challenger_error=trial.error if trial else "",
                        challenger_micros=trial.micros if trial else None,
                    )
                )
            labels = (answering.target.negative_label, answering.target.positive_label)
            predictions.append(
                Prediction(
                    prediction_id=prediction_id,
                    model=model,
                    version=version,
                    probability=score.probability,
                    prediction=score.prediction,
                    label=labels[score.prediction],
                    threshold=answering.threshold,
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
                    answered_by="champion" if answering is scorer else "challenger",
                    target_column=target_column,
                )
            )
        # Logged before answering: a prediction_id the caller sees can always take feedback.
        self._log.put_many(records)
        return predictions

    def _trial(
        self,
        model: str,
        row: Mapping[str, Any],
        caller: str | None,
        alias: ChampionAlias,
        challenger: Scorer,
        config: ChallengerConfig,
        champion: Score,
    ) -> _TrialScore:
        """The challenger's score of a row the champion scored, and whether it answers.

        What scoring with the challenger raises is recorded, never raised: the champion's
        answer stands, and the kill switch counts it.
        """
        pointer = alias.challenger
        assert pointer is not None  # only called with a challenger on the alias
        breaker = self._breaker(model, pointer.version, config)
        started = time.perf_counter()
        try:
            score: Score | None = challenger.score(row, strict=False)
            error = ""
        except Exception as exc:  # noqa: BLE001 (any failure of the challenger is its own)
            score, error = None, type(exc).__name__
        micros = (time.perf_counter() - started) * 1e6
        breaker.record(score is None)
        if self._on_challenger is not None:
            self._on_challenger(score is None)
        scores = {pointer.version: score.probability} if score is not None else {}
        scores[alias.version] = champion.probability
        answers = (
            score is not None
            and pointer.mode == "canary"
            and not breaker.tripped
            and share(model, pointer.version, caller_key(row, caller)) < pointer.fraction
        )
        answer = score if answers else None
        return _TrialScore(pointer.version, challenger, answer, scores, error, micros)
