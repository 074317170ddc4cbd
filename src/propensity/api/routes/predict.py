"""Routes of the predict function: health, models, scoring, metrics history.

The routes are coroutines although they call blocking code (the prediction log, a champion
refresh): FastAPI would run plain functions in a worker thread so as not to block other requests
on the event loop, but under Mangum a Lambda environment serves one request at a time, and the
thread hop (with the response validation it drags along) was most of our warm overhead.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from propensity import __version__
from propensity.api import dependencies as deps
from propensity.api.schemas import (
    BatchIn,
    BatchOut,
    Health,
    MetricsHistory,
    ModelDetail,
    ModelSummary,
    PredictionOut,
    error_responses,
)
from propensity.config import MODEL_NAME_PATTERN
from propensity.errors import InvalidInputError
from propensity.service.catalog import ModelCatalog
from propensity.service.drift_reports import DriftReports
from propensity.service.predictions import PredictionService

router = APIRouter()

ModelName = Annotated[
    str, Path(pattern=MODEL_NAME_PATTERN, max_length=40, description="model name, e.g. bank")
]
Predictions = Annotated[PredictionService, Depends(deps.predictions)]
Catalog = Annotated[ModelCatalog, Depends(deps.catalog)]
DefaultModel = Annotated[str, Depends(deps.default_model)]
Strict = Annotated[bool, Query(description="reject fields that are not features of the model")]
DriftReader = Annotated[DriftReports, Depends(deps.drift_reports)]
HistoryLimit = Annotated[int, Query(ge=1, le=100, description="how many versions, newest first")]
# The dashboard's form says it is the dashboard: its rows are a person trying the model, and the
# drift window reads only the sources the model's [drift] config names.
ClientSource = Annotated[
    Literal["api", "dashboard"],
    Header(alias="X-Propensity-Source", description="'dashboard' from the dashboard's form"),
]

PREDICT_EXAMPLES = {
    "wrapped": {
        "summary": "features object (bank)",
        "value": {
            "features": {
                "age": 45,
                "job": "technician",
                "marital": "married",
                "balance": 1200,
                "housing": "yes",
                "loan": "no",
                "education": "secondary",
            }
        },
    },
    "flat": {
        "summary": "flat object (telecom reference system)",
        "value": {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96},
    },
}
PredictBody = Annotated[
    dict[str, Any],
    Body(
        description='{"features": {...}} or the flat feature object',
        openapi_examples=PREDICT_EXAMPLES,
    ),
]


def _features(payload: dict[str, Any]) -> dict[str, Any]:
    if "features" in payload:
        extra = sorted(k for k in payload if k != "features")
        if extra:
            raise InvalidInputError(extra[0], "unexpected next to 'features'")
        features = payload["features"]
        if not isinstance(features, dict):
            raise InvalidInputError("features", "must be an object of feature name → value")
        return features
    return payload


@router.get("/health", response_model=Health, tags=["service"])
async def health() -> Health:
    return Health(status="ok", version=__version__)


@router.get("/models", response_model=list[ModelSummary], tags=["models"])
async def list_models(catalog: Catalog) -> list[dict[str, Any]]:
    return catalog.summaries()


@router.get(
    "/models/{model}",
    response_model=ModelDetail,
    tags=["models"],
    responses=error_responses(404, 422, 503),
)
async def describe_model(model: ModelName, catalog: Catalog) -> dict[str, Any]:
    return catalog.describe(model)


@router.get(
    "/model/latest",
    response_model=ModelDetail,
    tags=["bank reference aliases"],
    responses=error_responses(503),
)
async def describe_default_model(catalog: Catalog, default: DefaultModel) -> dict[str, Any]:
    return catalog.describe(default)


@router.post(
    "/models/{model}/predict",
    response_model=PredictionOut,
    tags=["predict"],
    responses=error_responses(400, 404, 422, 503),
)
async def predict(
    model: ModelName,
    payload: PredictBody,
    service: Predictions,
    request: Request,
    strict: Strict = True,
    source: ClientSource = "api",
) -> JSONResponse:
    # Returned as a response: FastAPI then skips re-validating our own answer against
    # PredictionOut (~25 µs of a ~0.3 ms request). Its shape is the typed Prediction's, and the
    # fuzz suite checks every answer against the OpenAPI schema.
    # The headers go along: a canary keeps a caller on one model by the header its config names.
    answer = service.predict(
        model, _features(payload), strict=strict, source=source, headers=request.headers
    ).answer()
    return JSONResponse(answer)


@router.post(
    "/predict",
    response_model=PredictionOut,
    tags=["bank reference aliases"],
    responses=error_responses(400, 422, 503),
)
async def predict_default(
    payload: PredictBody,
    service: Predictions,
    default: DefaultModel,
    request: Request,
    strict: Strict = True,
) -> JSONResponse:
    answer = service.predict(default, _features(payload), strict=strict, headers=request.headers)
    return JSONResponse(answer.answer())


@router.post(
    "/models/{model}/predict/batch",
    response_model=BatchOut,
    tags=["predict"],
    responses=error_responses(400, 404, 413, 422, 503),
)
async def predict_batch(
    model: ModelName, batch: BatchIn, service: Predictions, strict: Strict = True
) -> dict[str, Any]:
    predictions = service.predict_batch(model, batch.rows, strict=strict)
    version = predictions[0].version if predictions else service.champion(model)[0].version
    return {
        "model": model,
        "version": version,
        "count": len(predictions),
        "predictions": [p.answer() for p in predictions],
    }


@router.get(
    "/models/{model}/metrics",
    response_model=MetricsHistory,
    tags=["models"],
    responses=error_responses(404, 422, 503),
)
async def metrics_history(
    model: ModelName, catalog: Catalog, limit: HistoryLimit = 5
) -> dict[str, Any]:
    return catalog.history(model, limit)


@router.get(
    "/metrics",
    response_model=MetricsHistory,
    tags=["bank reference aliases"],
    responses=error_responses(422, 503),
)
async def metrics_history_default(
    catalog: Catalog, default: DefaultModel, limit: HistoryLimit = 5
) -> dict[str, Any]:
    return catalog.history(default, limit)


VersionQuery = Annotated[
    str | None,
    Query(pattern=r"^v[1-9][0-9]{0,5}$", description="e.g. v3; the champion when omitted"),
]


@router.get(
    "/models/{model}/evaluation",
    tags=["models"],
    responses=error_responses(404, 422, 503),
)
async def evaluation(
    model: ModelName, catalog: Catalog, version: VersionQuery = None
) -> dict[str, Any]:
    """A version's evaluation on its held-out rows (the champion's by default).

    Scalar metrics, confusion matrix, ROC and precision-recall curves, calibration bins and the
    class balance of the evaluation set: what the dashboard's Metrics tab draws.
    """
    return catalog.evaluation(model, version)


@router.get(
    "/models/{model}/drift",
    tags=["models"],
    responses=error_responses(404, 422, 503),
)
async def latest_drift(model: ModelName, reports: DriftReader) -> dict[str, Any]:
    """The latest drift report: logged predictions against the training data (PSI, KS, chi²).

    Computed by the scheduled retrain run over the latest logged predictions; ``status`` is
    ``insufficient_data`` while there are too few of them to compare.
    """
    return reports.for_model(model)


# The longest chat message accepted (422 naming ``message`` beyond it). Reading is linear in the
# length (bench/chat_parse.py); the cap bounds the work and the size of the logged reply.
MAX_CHAT_MESSAGE = 2000


class ChatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(
        min_length=1,
        max_length=MAX_CHAT_MESSAGE,
        description=f"the client described in Spanish or English, at most {MAX_CHAT_MESSAGE} "
        "characters",
        examples=["Tengo 45 años, saldo 1200, hipoteca sí, soy técnico, casado"],
    )


class ChatDoubt(BaseModel):
    value: float | int | str = Field(description="the value as it was read")
    reason: str


class ChatOut(BaseModel):
    reply: str = Field(description="a short answer in the language of the message")
    language: str = Field(description="es or en")
    understood: dict[str, float | int | str] = Field(description="features read from the message")
    defaults: list[str] = Field(description="features filled with training defaults")
    ask: list[str] = Field(
        default_factory=list, description="the 1-2 missing features that could move the score most"
    )
    implausible: dict[str, ChatDoubt] = Field(
        default_factory=dict,
        description="values outside what the model knows: asked about, and nothing is scored",
    )
    excluded: dict[str, list[str]] = Field(
        default_factory=dict, description='categories the message rules out ("not a student")'
    )
    unrecognised: list[str] = Field(
        default_factory=list, description="fragments of the message that were not understood"
    )
    prediction: PredictionOut | None = Field(
        description="the logged prediction; null when a value needs checking first"
    )


@router.post(
    "/models/{model}/chat",
    response_model=ChatOut,
    tags=["predict"],
    responses=error_responses(400, 404, 422, 503),
)
async def chat(
    model: ModelName, body: ChatIn, service: Predictions, catalog: Catalog
) -> dict[str, Any]:
    """Score a client described in natural language (es/en), read with the model's ``[chat]``
    lexicon and checked against its scorecard.

    An implausible value (outside the training range, or a category the model does not know) is
    asked about and nothing is scored. Otherwise the prediction is logged with ``source=chat``,
    so its ``prediction_id`` takes feedback.
    """
    config = catalog.config(model)
    _, scorer = service.champion(model)
    # Imported on the first chat request, not at the predict function's cold start.
    from propensity import chat as chat_reader

    lexicon = chat_reader.lexicon_for(config, scorer)
    extraction = chat_reader.extract(lexicon, body.message)
    if not extraction.features and not extraction.implausible:
        names = ", ".join(config.features.all)
        raise InvalidInputError(
            "message",
            f"no feature of model {model!r} was understood; describe the client, in Spanish or "
            f"English, with values for some of: {names}",
        )
    answer: dict[str, Any] = {
        "language": extraction.language,
        "understood": extraction.features,
        "implausible": {
            name: {"value": doubt.value, "reason": doubt.reason}
            for name, doubt in extraction.implausible.items()
        },
        "excluded": extraction.excluded,
        "unrecognised": extraction.unrecognised,
    }
    if extraction.implausible:  # nothing is scored, so nothing is defaulted yet
        reply = chat_reader.question_reply(extraction, extraction.language)
        return {**answer, "reply": reply, "defaults": [], "ask": [], "prediction": None}
    prediction = service.predict(model, extraction.features, source="chat")
    ask = chat_reader.most_influential(lexicon, prediction.imputed)
    reply = chat_reader.prediction_reply(prediction, extraction, ask, extraction.language)
    return {
        **answer,
        "reply": reply,
        "defaults": list(prediction.imputed),
        "ask": ask,
        "prediction": prediction.answer(),
    }
