"""Recording labelled feedback, once per request however often it is retried.

A retry is recognised by the prediction it labels (one label per prediction, whoever sends it)
or by its Idempotency-Key, which is scoped to the model and to the sender (the credential's
subject).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from propensity.clock import now_iso
from propensity.config import ModelConfig, parse_label
from propensity.errors import ConflictError, InvalidInputError, NotFoundError
from propensity.records import FeedbackRecord
from propensity.service.features import validate_features
from propensity.service.model_configs import as_source
from propensity.service.ports import FeedbackStore, ModelConfigSource, PredictionLog

MAX_IDEMPOTENCY_KEY = 128


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


class FeedbackService:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        store: FeedbackStore,
        predictions: PredictionLog,
        *,
        clock: Callable[[], str] = now_iso,
    ) -> None:
        self._configs = as_source(configs)
        self._store = store
        self._predictions = predictions
        self._clock = clock

    def submit(
        self,
        model: str,
        *,
        label: Any,
        prediction_id: str | None = None,
        features: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
        source: str | None = None,
        subject: str = "anonymous",
    ) -> tuple[FeedbackRecord, bool]:
        """Store one labelled example; returns (the stored record, whether it is new).

        ``source`` (the route it came by: a chat or batch prediction's own source, else the
        client's word, else "api") and ``subject`` (whose credential sent it) are its
        provenance: admins list, exclude and erase feedback by them.
        """
        config = self._configs.get(model)  # an archived model takes no feedback (410)
        try:
            y = parse_label(label, config.target)
        except ValueError as exc:
            raise InvalidInputError("y", str(exc)) from exc
        if idempotency_key is not None and not 0 < len(idempotency_key) <= MAX_IDEMPOTENCY_KEY:
            raise InvalidInputError(
                "Idempotency-Key", f"must be 1 to {MAX_IDEMPOTENCY_KEY} characters"
            )
        if (prediction_id is None) == (features is None):
            raise InvalidInputError(
                "prediction_id", "give either prediction_id or features, not both or neither"
            )

        if prediction_id is not None:
            try:
                logged = self._predictions.get(prediction_id)
            except NotFoundError:
                logged = None
            # Another model's prediction is reported as missing: ids never reveal other models.
            if logged is None or logged.model != model:
                raise NotFoundError(
                    f"prediction_id {prediction_id!r} is not a prediction of model {model!r}"
                )
            values = dict(logged.features)
            if logged.source in ("chat", "batch"):
                source = logged.source
            # One label per prediction: a retry with the same label is the same feedback.
            feedback_id = _digest(model, "prediction", prediction_id)
        else:
            values = validate_features(config, features or {})
            # Without a key nothing tells a retry from a second, identical observation. A key is
            # the sender's own: another caller's same key is another feedback, so a key seen or
            # guessed cannot be claimed first.
            feedback_id = (
                _digest(model, "key", subject, idempotency_key)
                if idempotency_key
                else uuid.uuid4().hex
            )

        record = FeedbackRecord(
            feedback_id=feedback_id,
            model=model,
            label=y,
            features=values,
            created_at=self._clock(),
            prediction_id=prediction_id,
            source=source or "api",
            subject=subject,
        )
        stored, created = self._store.add(record)
        if not created and (stored.label, stored.prediction_id, stored.features) != (
            record.label,
            record.prediction_id,
            record.features,
        ):
            raise ConflictError(
                "this prediction already has feedback with another label"
                if idempotency_key is None
                else "Idempotency-Key was already used for a different feedback"
            )
        return stored, created
