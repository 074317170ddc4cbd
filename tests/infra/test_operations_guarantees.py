"""What infra/template.yaml promises about retention, protection, detection and cost limits.

Read from the raw SAM template, as test_template_guarantees does: a parameter or a condition that
is lost in an edit fails here, not in an account.
"""

from __future__ import annotations

from typing import Any

import pytest

from propensity.local.template import REPO_ROOT
from tests.infra.test_template_guarantees import RESOURCES, TEMPLATE, allowed, props, statements

PARAMETERS: dict[str, Any] = TEMPLATE["Parameters"]
FUNCTIONS = sorted(
    name for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"
)
NOTIFY = {"Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]}


def of_type(kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


def test_every_log_group_expires_after_the_retention_parameter() -> None:
    # Given the LogRetentionDays parameter (30 days unless set)
    assert PARAMETERS["LogRetentionDays"]["Default"] == 30
    # Then every function logs to a group of its own, which is in the template and expires
    groups = of_type("AWS::Logs::LogGroup")
    used = []
    for function in FUNCTIONS:
        ref = props(function)["LoggingConfig"]["LogGroup"]["Ref"]
        assert ref in groups, function
        used.append(ref)
    assert len(set(used)) == len(FUNCTIONS)
    # And so does every other group (the HTTP API's access logs)
    assert props("HttpApi")["AccessLogSettings"]["DestinationArn"] == {
        "Fn::GetAtt": ["HttpApiAccessLogs", "Arn"]
    }
    for name, group in groups.items():
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, name


def test_feedback_expires_only_when_a_retention_period_is_set() -> None:
    # Given FeedbackRetentionDays: 0 (keep until erased) unless set
    assert PARAMETERS["FeedbackRetentionDays"]["Default"] == 0
    # Then the feedback table expires items on expires_at, the attribute the adapter writes on
    # feedback items only (tests/functions/test_feedback_handler.py), and the function gets the
    # period
    assert props("FeedbackTable")["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }
    variables = props("FeedbackFunction")["Environment"]["Variables"]
    assert variables["FEEDBACK_RETENTION_DAYS"] == {"Ref": "FeedbackRetentionDays"}


@pytest.mark.parametrize("table", ["RegistryTable", "FeedbackTable"])
def test_the_tables_of_versions_and_feedback_cannot_be_deleted(table: str) -> None:
    assert props(table)["DeletionProtectionEnabled"] is True


def test_the_artifacts_bucket_logs_its_accesses_to_a_private_expiring_bucket() -> None:
    # Given the artifacts bucket's server access logging
    logging = props("ArtifactsBucket")["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogBucket"}
    # Then the log bucket is encrypted, private, without ACLs, and its logs expire
    bucket = props("AccessLogBucket")
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    (rule,) = bucket["LifecycleConfiguration"]["Rules"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] == {"Ref": "LogRetentionDays"}
    # And only S3's log delivery, for the artifacts bucket, may write there (TLS only)
    policy = props("AccessLogBucketPolicy")["PolicyDocument"]["Statement"]
    (grant,) = [s for s in policy if s["Effect"] == "Allow"]
    assert grant["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert grant["Action"] == "s3:PutObject"
    assert grant["Condition"]["ArnLike"] == {
        "aws:SourceArn": {"Fn::GetAtt": ["ArtifactsBucket", "Arn"]}
    }
    assert str(logging["LogFilePrefix"]) in str(grant["Resource"])
    assert any(s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in policy)


def watched(alarm: dict[str, Any]) -> set[tuple[str, str, str]]:
    """(namespace, metric, dimension value) triples an alarm reads, single metric or math."""
    props_ = alarm["Properties"]
    metrics = [props_] if "MetricName" in props_ else []
    metrics += [m["MetricStat"]["Metric"] for m in props_.get("Metrics", []) if "MetricStat" in m]
    found = set()
    for metric in metrics:
        for dimension in metric.get("Dimensions", []):
            value = dimension["Value"]
            if isinstance(value, dict):  # {"Ref": X} or {"Fn::GetAtt": [X, attribute]}
                value = value.get("Ref") or value["Fn::GetAtt"][0]
            found.add((metric["Namespace"], metric["MetricName"], str(value)))
    return found


def test_every_alarm_the_operators_need_is_there_and_notifies_the_optional_topic() -> None:
    # Given the optional SNS topic: empty (no actions) unless set
    assert PARAMETERS["AlarmTopicArn"]["Default"] == ""
    assert TEMPLATE["Conditions"]["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }
    alarms = of_type("AWS::CloudWatch::Alarm")
    everything = set().union(*(watched(a) for a in alarms.values()))
    # Then errors of every HTTP function and the API's 5xx are watched
    for function in ("PredictFunction", "FeedbackFunction", "AdminFunction"):
        assert ("AWS/Lambda", "Errors", function) in everything, function
        assert ("AWS/Lambda", "Invocations", function) in everything, function  # a rate
    assert ("AWS/ApiGateway", "5xx", "HttpApi") in everything
    # And throttles of every function
    for function in FUNCTIONS:
        assert ("AWS/Lambda", "Throttles", function) in everything, function
    # And the on-failure queue's depth, retrain failures (the function's and the scheduled
    # run's per-model count) and a champion predict could not re-check
    assert (
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        "RetrainDeadLetterQueue",
    ) in everything
    assert ("AWS/Lambda", "Errors", "RetrainFunction") in everything
    assert ("Propensity", "ScheduledRetrainFailures", "propensity") in everything
    assert ("Propensity", "ChampionRefreshFailures", "propensity") in everything
    # And a function that could not re-read the catalogue of models added at run time
    assert ("Propensity", "ModelConfigRefreshFailures", "propensity") in everything
    # And each alarm notifies the topic when there is one, on alarm and on recovery, and no
    # missing data (no traffic) raises one
    for name, alarm in alarms.items():
        assert alarm["Properties"]["AlarmActions"] == NOTIFY, name
        assert alarm["Properties"]["OKActions"] == NOTIFY, name
        assert alarm["Properties"]["TreatMissingData"] == "notBreaching", name


def test_the_metrics_the_alarms_read_are_the_ones_the_code_publishes() -> None:
    # Given the custom metrics the alarms read
    custom = {
        metric
        for alarm in of_type("AWS::CloudWatch::Alarm").values()
        for namespace, metric, _ in watched(alarm)
        if namespace == "Propensity"
    }
    # Then each is named where the code adds it (the retrain handler, the roots)
    sources = "".join(
        (REPO_ROOT / path).read_text()
        for path in (
            "functions/retrain/handler.py",
            "src/propensity/roots/predict.py",
            "src/propensity/roots/__init__.py",
        )
    )
    for metric in custom:
        assert f'"{metric}"' in sources, metric
    # And in the namespace and service dimension powertools publishes them under
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "Propensity"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "propensity"


@pytest.mark.parametrize(
    ("function", "parameter", "default"),
    [
        ("PredictFunction", "PredictReservedConcurrency", 50),
        ("FeedbackFunction", "FeedbackReservedConcurrency", 10),
        ("AdminFunction", "AdminReservedConcurrency", 5),
    ],
)
def test_the_open_and_admin_functions_have_a_concurrency_cap_as_a_parameter(
    function: str, parameter: str, default: int
) -> None:
    # Given the parameter (0: no reservation, for accounts with a small concurrency quota)
    assert PARAMETERS[parameter]["Default"] == default
    condition = props(function)["ReservedConcurrentExecutions"]["Fn::If"]
    # Then the function reserves that many unless it is 0 (0 would throttle every request)
    assert condition[1:] == [{"Ref": parameter}, {"Ref": "AWS::NoValue"}]
    assert TEMPLATE["Conditions"][condition[0]] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": parameter}, 0]}]
    }


def test_every_route_is_throttled_and_the_costly_ones_harder_by_parameters() -> None:
    api = props("HttpApi")
    assert api["DefaultRouteSettings"] == {
        "ThrottlingBurstLimit": {"Ref": "ApiBurstLimit"},
        "ThrottlingRateLimit": {"Ref": "ApiRateLimit"},
    }
    limits = {
        route: (s["ThrottlingRateLimit"]["Ref"], s["ThrottlingBurstLimit"]["Ref"])
        for route, s in api["RouteSettings"].items()
    }
    assert limits == {
        "POST /models/{model}/predict/batch": ("BatchRateLimit", "BatchBurstLimit"),
        "POST /models/{model}/feedback": ("FeedbackRateLimit", "FeedbackBurstLimit"),
        "POST /feedback": ("FeedbackRateLimit", "FeedbackBurstLimit"),
    }
    # And the defaults hold the batch route (up to 1,000 rows a request) to a tenth of the rest
    defaults = {name: PARAMETERS[name]["Default"] for pair in limits.values() for name in pair}
    assert defaults["BatchRateLimit"] * 10 <= PARAMETERS["ApiRateLimit"]["Default"]
    assert defaults["FeedbackRateLimit"] < PARAMETERS["ApiRateLimit"]["Default"]


def test_the_feedback_function_reads_nothing_of_the_registry_but_token_revocations() -> None:
    registry = [s for s in statements("FeedbackFunction") if "RegistryTable" in str(s["Resource"])]
    assert [s["Action"] for s in registry] == ["dynamodb:Query"]
    assert "dynamodb:LeadingKeys" in str(registry[0]["Condition"])


def test_listing_the_bucket_is_held_to_the_prefixes_the_retrain_function_reads() -> None:
    # Given every function's s3:ListBucket grant
    for function in FUNCTIONS:
        for statement in statements(function):
            if "s3:ListBucket" not in str(statement["Action"]):
                continue
            # Then it carries a prefix condition, and each prefix is one the role may read
            prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
            readable = {
                str(r)
                for a, r in allowed(function)
                if a == "s3:GetObject"  # object ARNs, e.g. ${ArtifactsBucket.Arn}/models/*
            }
            for prefix in prefixes:
                assert any(f"/{prefix}" in r for r in readable), (function, prefix)


def test_the_retrain_role_has_no_managed_crud_policy() -> None:
    # The SAM DynamoDBCrudPolicy grants Scan, DeleteItem and BatchWriteItem on both tables:
    # the role lists what it calls instead (recorded in test_retrain_policy.py)
    policies = props("RetrainFunction")["Policies"]
    assert all("Statement" in p for p in policies), policies


def test_the_prediction_log_index_projects_what_the_drift_window_and_kill_switch_read() -> None:
    # Given what the prediction-log adapter writes and reads back for a logged prediction scored
    # during a challenger trial (the most it ever writes)
    from propensity.adapters.predictions import _to_item
    from propensity.records import PredictionRecord

    record = PredictionRecord(
        "p1",
        "bank",
        "v1",
        "2026-12-02T00:00:00.000+00:00",
        {},
        0.5,
        1,
        9,
        scores={"v1": 0.5, "v2": 0.4},
        challenger_error="ValueError",
        challenger_micros=12.0,
    )
    written = set(_to_item(record))
    # Then the by_model index projects exactly those attributes beyond the keys it has anyway
    table = RESOURCES["PredictionsTable"]["Properties"]
    (index,) = table["GlobalSecondaryIndexes"]
    keys = {k["AttributeName"] for k in index["KeySchema"]} | {"prediction_id"}
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    assert set(index["Projection"]["NonKeyAttributes"]) == written - keys
