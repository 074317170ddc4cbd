"""Models added and archived at run time through the admin function, on moto from the template.

The model is `churn` (tests/support/chat_model: a TOML and a 400-row CSV), defined only through
PUT /models/{model}: no config of that name is packaged.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from propensity.local.template import Stack
from tests.functions.conftest import (
    ADMIN_TOKEN,
    SIGNED_IN,
    body_of,
    get_route,
    invoke,
    load_handler,
    route_event,
)
from tests.functions.test_admin_handler import job_stream_event
from tests.support.presigned import post_form, sha256_of

CHAT_MODEL = Path(__file__).resolve().parents[1] / "support" / "chat_model"
CONFIG = (CHAT_MODEL / "churn.toml").read_text()
DATASET = (CHAT_MODEL / "churn.csv").read_text()
ADMIN = {"X-Admin-Token": ADMIN_TOKEN}
CHURN_ROW = {
    "tenure": 14,
    "MonthlyCharges": 67.8,
    "Contract": "Month-to-month",
    "InternetService": "Fiber optic",
    "Partner": "Yes",
}


def put_model(
    model: str = "churn", config: str = CONFIG, dataset: dict[str, Any] | None = None
) -> dict[str, Any]:
    body = {"config": config, "dataset": {"csv": DATASET} if dataset is None else dataset}
    response = invoke(
        load_handler("admin"), route_event("PUT", f"/models/{model}", body=body, headers=ADMIN)
    )
    return {"status": response["statusCode"], "body": body_of(response)}


def stored_keys(stack: Stack, prefix: str) -> list[str]:
    listing = boto3.client("s3").list_objects_v2(
        Bucket=stack.names["ArtifactsBucket"], Prefix=prefix
    )
    return sorted(o["Key"] for o in listing.get("Contents", []))


def jobs(stack: Stack, model: str) -> list[dict[str, Any]]:
    items = boto3.client("dynamodb").query(
        TableName=stack.names["FeedbackTable"],
        KeyConditionExpression="#m = :m AND begins_with(#i, :j)",
        ExpressionAttributeNames={"#m": "model", "#i": "item"},
        ExpressionAttributeValues={":m": {"S": model}, ":j": {"S": "JOB#"}},
    )["Items"]
    return items


def test_a_config_that_fails_validation_is_a_422_naming_the_field(stack: Stack) -> None:
    # Given churn's config with a regularisation strength pydantic refuses (C must be > 0)
    bad = CONFIG.replace("[estimator]\n", "[estimator]\nC = -1\n")
    # When it is added
    answer = put_model(config=bad)
    # Then the answer is a 422 naming the TOML's field path and the reason
    assert answer["status"] == 422
    assert answer["body"]["field"] == "config.estimator.C"
    assert "greater than 0" in answer["body"]["reason"]
    # And nothing was stored
    assert stored_keys(stack, "model-configs/") == [] and stored_keys(stack, "datasets/") == []


def test_a_dataset_missing_a_configured_column_is_a_422_naming_it(stack: Stack) -> None:
    # Given churn's CSV without its Partner column
    rows = [line.split(",") for line in DATASET.strip().splitlines()]
    index = rows[0].index("Partner")
    without = "\n".join(",".join(r[:index] + r[index + 1 :]) for r in rows) + "\n"
    # When it is added with churn's config
    answer = put_model(dataset={"csv": without})
    # Then the 422 names the column, and nothing is stored or queued
    assert answer["status"] == 422
    assert answer["body"]["column"] == "Partner"
    assert "missing" in answer["body"]["reason"]
    assert stored_keys(stack, "model-configs/") == [] and jobs(stack, "churn") == []


def test_too_few_rows_and_a_name_that_differs_from_the_path_are_422s(stack: Stack) -> None:
    # Given a dataset of 30 rows, and a config whose name is not the path's model
    head = "\n".join(DATASET.splitlines()[:31]) + "\n"
    few = put_model(dataset={"csv": head})
    renamed = put_model(model="churn2")
    # Then each is refused naming what is wrong
    assert few["status"] == 422 and "at least 100" in few["body"]["reason"]
    assert renamed["status"] == 422 and renamed["body"]["field"] == "config.name"


def test_a_packaged_name_is_a_409_and_changes_nothing(stack: Stack) -> None:
    # Given churn's config renamed to telecom, a model that ships with the code
    answer = put_model(model="telecom", config=CONFIG.replace('name = "churn"', 'name = "telecom"'))
    # Then it is refused as a conflict with the packaged default, before anything is read
    assert answer["status"] == 409
    assert "packaged" in answer["body"]["detail"]
    assert stored_keys(stack, "model-configs/") == []


def test_an_inline_dataset_above_the_limit_is_a_413_pointing_at_the_upload_route(
    stack: Stack,
) -> None:
    # Given a CSV above the inline limit (4 MiB)
    header, *rows = DATASET.splitlines()
    big = "\n".join([header, *(rows * 260)]) + "\n"
    assert len(big) > 4 * 1024 * 1024
    answer = put_model(dataset={"csv": big})
    # Then it is a 413 naming the field and the route for large files
    assert answer["status"] == 413
    assert answer["body"]["field"] == "dataset.csv"
    assert "/models/churn/dataset/uploads" in answer["body"]["detail"]


def test_adding_the_same_config_again_is_idempotent_and_another_config_is_a_409(
    stack: Stack,
) -> None:
    # When churn is added, then added again with the same config and dataset
    first = put_model()
    again = put_model()
    # Then the first is created with its first training queued, the repeat changes nothing
    assert first["status"] == 201 and first["body"]["duplicate"] is False
    assert again["status"] == 200 and again["body"]["duplicate"] is True
    assert again["body"]["job_id"] == first["body"]["job_id"]
    assert again["body"]["config_sha256"] == first["body"]["config_sha256"]
    assert first["body"]["added_by"] == "admin" and first["body"]["dataset"]["rows"] == 400
    assert len(jobs(stack, "churn")) == 1
    catalogue = json.loads(
        boto3.client("s3")
        .get_object(Bucket=stack.names["ArtifactsBucket"], Key="model-configs/catalogue.json")[
            "Body"
        ]
        .read()
    )
    assert list(catalogue["stored"]) == ["churn"]
    # And a different config under the same name is a conflict
    changed = put_model(config=CONFIG.replace("n_bins = 4", "n_bins = 5"))
    assert changed["status"] == 409 and "another config" in changed["body"]["detail"]


def test_a_large_dataset_goes_through_a_presigned_upload(stack: Stack) -> None:
    payload = DATASET.encode()
    admin = load_handler("admin")
    # Given a presigned form for churn's dataset, and the file posted with it
    started = invoke(
        admin,
        route_event(
            "POST",
            "/models/churn/dataset/uploads",
            body={"sha256": sha256_of(payload)},
            headers=ADMIN,
        ),
    )
    assert started["statusCode"] == 201, body_of(started)
    ticket = body_of(started)
    assert post_form(ticket, payload).status_code in (200, 201, 204)
    # When churn is added referring to that upload
    answer = put_model(dataset={"upload_id": ticket["upload_id"]})
    # Then it is added as with an inline dataset
    assert answer["status"] == 201, answer
    assert answer["body"]["dataset"]["sha256"] == sha256_of(payload)
    # And an id nothing was posted for is a 422 naming the field
    missing = put_model(model="churn", dataset={"upload_id": "0" * 32})
    assert missing["status"] == 422 and missing["body"]["field"] == "dataset.upload_id"


def test_a_model_added_at_run_time_trains_serves_takes_feedback_and_is_archived(
    stack: Stack,
) -> None:
    # Given churn added through the admin route, and its queued job delivered to retrain
    added = put_model()["body"]
    retrain = load_handler("retrain")
    assert invoke(retrain, job_stream_event("churn", added["job_id"])) == {"batchItemFailures": []}
    # When the predict function (a fresh container) is asked about it
    predict = load_handler("predict")
    listed = body_of(invoke(predict, get_route("/models")))
    assert "churn" in [m["name"] for m in listed]
    scored = invoke(
        predict,
        route_event("POST", "/models/churn/predict", body={"features": CHURN_ROW}),
    )
    # Then its first version serves
    assert scored["statusCode"] == 200, body_of(scored)
    prediction = body_of(scored)
    assert prediction["model"] == "churn" and prediction["version"] == "v1"
    # And the feedback function takes a label for it
    feedback = load_handler("feedback")
    stored = invoke(
        feedback,
        route_event(
            "POST",
            "/models/churn/feedback",
            body={"prediction_id": prediction["prediction_id"], "y": "Yes"},
            headers=SIGNED_IN,
        ),
    )
    assert stored["statusCode"] == 201, body_of(stored)
    # When it is archived
    admin = load_handler("admin")
    archived = invoke(
        admin,
        route_event(
            "POST", "/models/churn/archive", body={"reason": "campaign over"}, headers=ADMIN
        ),
    )
    assert archived["statusCode"] == 200
    record = body_of(archived)
    assert record["archived_by"] == "admin" and record["reason"] == "campaign over"
    # Then a container that read the catalogue less than ModelRefreshSeconds (60 s here) ago
    # serves on, until its next read; a fresh one refuses predictions with the reason (410)
    ask = route_event("POST", "/models/churn/predict", body={"features": CHURN_ROW})
    warm = invoke(predict, ask)
    assert warm["statusCode"] == 200, body_of(warm)
    predict = load_handler("predict")
    refused = invoke(predict, ask)
    assert refused["statusCode"] == 410
    assert "archived by admin" in body_of(refused)["detail"]
    assert body_of(refused)["reason"] == "campaign over"
    refused = invoke(
        load_handler("feedback"),
        route_event(
            "POST",
            "/models/churn/feedback",
            body={"features": CHURN_ROW, "y": "No"},
            headers=SIGNED_IN,
        ),
    )
    assert refused["statusCode"] == 410
    # And it is no longer listed, but its versions are kept and listed
    assert "churn" not in [m["name"] for m in body_of(invoke(predict, get_route("/models")))]
    versions = invoke(admin, route_event("GET", "/models/churn/versions", headers=ADMIN))
    assert versions["statusCode"] == 200
    assert [v["version"] for v in body_of(versions)["versions"]] == ["v1"]
    # And archiving again answers the first record; the schedule skips it
    again = body_of(invoke(admin, route_event("POST", "/models/churn/archive", headers=ADMIN)))
    assert again["duplicate"] is True and again["archived_at"] == record["archived_at"]
    # (a fresh retrain container: the warm one re-reads within ModelRefreshSeconds)
    assert "churn" not in load_handler("retrain").orchestrator.models  # what the schedule runs


@pytest.mark.usefixtures("published")
def test_a_packaged_model_can_be_archived_and_its_versions_stay(stack: Stack) -> None:
    # When telecom, a packaged model, is archived
    admin = load_handler("admin")
    archived = invoke(admin, route_event("POST", "/models/telecom/archive", headers=ADMIN))
    assert archived["statusCode"] == 200
    # Then it is refused with 410, promoting it too, while bank still serves
    predict = load_handler("predict")
    row = {"calls": 85, "minutes": 516.7, "messages": 56, "mb_used": 22696.96}
    refused = invoke(predict, route_event("POST", "/models/telecom/predict", body=row))
    assert refused["statusCode"] == 410
    promote = invoke(
        admin, route_event("POST", "/models/telecom/versions/v1/promote", headers=ADMIN)
    )
    assert promote["statusCode"] == 410
    assert (
        invoke(predict, route_event("POST", "/predict", body={"features": {"age": 40}}))[
            "statusCode"
        ]
        == 200
    )
    # And its versions are still listed
    versions = invoke(admin, route_event("GET", "/models/telecom/versions", headers=ADMIN))
    assert [v["version"] for v in body_of(versions)["versions"]] == ["v1"]


def test_lone_surrogates_in_the_config_or_the_dataset_are_422s(stack: Stack) -> None:
    # Given valid JSON whose strings hold a lone surrogate (\ud800), in the TOML or the CSV
    config = put_model(config=CONFIG.replace("Telco churn", "Telco \ud800 churn"))
    dataset = put_model(dataset={"csv": DATASET.replace("Fiber optic", "Fiber \ud800", 1)})
    # Then each is refused naming the part, and nothing is stored
    assert config["status"] == 422 and config["body"]["field"] == "config"
    assert dataset["status"] == 422 and "UTF-8" in dataset["body"]["reason"]
    assert stored_keys(stack, "model-configs/") == []
    # And so is an archive reason holding one
    archive = route_event(
        "POST", "/models/telecom/archive", body={"reason": "x \ud800"}, headers=ADMIN
    )
    refused = invoke(load_handler("admin"), archive)
    assert refused["statusCode"] == 422, body_of(refused)
    assert body_of(refused)["detail"][0]["loc"] == ["body", "reason"]
    assert stored_keys(stack, "model-configs/") == []
