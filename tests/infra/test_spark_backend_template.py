"""The Spark backend in infra/template.yaml: all of it behind SparkBackend (default Disabled),
the retrain role's EMR and PassRole grants only under that condition, the completion rule."""

from __future__ import annotations

from typing import Any

from propensity.local.template import Stack
from tests.infra.test_template_guarantees import RESOURCES, TEMPLATE, allowed, props, statements

SPARK_RESOURCES = (
    "SparkApplication",
    "SparkJobRole",
    "SparkJobStateRule",
    "SparkJobStatePermission",
)
ENABLED = frozenset({"SparkEnabled"})


def test_the_spark_backend_is_off_by_default() -> None:
    parameter = TEMPLATE["Parameters"]["SparkBackend"]
    assert parameter["Default"] == "Disabled"
    assert set(parameter["AllowedValues"]) == {"Enabled", "Disabled"}
    assert TEMPLATE["Conditions"]["SparkEnabled"] == {
        "Fn::Equals": [{"Ref": "SparkBackend"}, "Enabled"]
    }
    assert not Stack().condition("SparkEnabled")
    assert Stack(parameters={"SparkBackend": "Enabled"}).condition("SparkEnabled")


def test_every_spark_resource_exists_only_under_the_condition() -> None:
    for logical in SPARK_RESOURCES:
        assert RESOURCES[logical]["Condition"] == "SparkEnabled", logical
    # and nothing else of type EMR Serverless slips in unconditionally
    emr = [k for k, r in RESOURCES.items() if r["Type"].startswith("AWS::EMRServerless::")]
    assert emr == ["SparkApplication"]


def test_the_application_is_spark_auto_starts_auto_stops_and_is_capped() -> None:
    app = props("SparkApplication")
    assert app["Type"] == "Spark"
    assert app["AutoStartConfiguration"] == {"Enabled": True}
    assert app["AutoStopConfiguration"]["Enabled"] is True
    assert 1 <= app["AutoStopConfiguration"]["IdleTimeoutMinutes"] <= 60
    assert set(app["MaximumCapacity"]) == {"Cpu", "Memory", "Disk"}


def test_the_job_role_is_assumed_by_emr_serverless_and_writes_only_job_objects() -> None:
    role = props("SparkJobRole")
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "emr-serverless.amazonaws.com"}
    writes = [
        s
        for p in role["Policies"]
        for s in p["PolicyDocument"]["Statement"]
        if "s3:PutObject" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert [str(s["Resource"]) for s in writes] == [
        str({"Fn::Sub": "${ArtifactsBucket.Arn}/spark-jobs/*"})
    ]


def _actions(pairs: set[tuple[str, str]]) -> set[str]:
    return {action for action, _ in pairs}


def test_the_retrain_role_may_start_jobs_and_pass_the_role_only_when_enabled() -> None:
    default = _actions(allowed("RetrainFunction"))
    enabled = _actions(allowed("RetrainFunction", enabled=ENABLED))
    assert "emr-serverless:StartJobRun" not in default and "iam:PassRole" not in default
    assert {"emr-serverless:StartJobRun", "iam:PassRole"} <= enabled


def test_pass_role_is_scoped_to_the_job_role_and_emr_serverless() -> None:
    (passing,) = [
        s for s in statements("RetrainFunction", enabled=ENABLED) if s["Action"] == "iam:PassRole"
    ]
    assert passing["Resource"] == {"Fn::GetAtt": ["SparkJobRole", "Arn"]}
    assert passing["Condition"] == {
        "StringEquals": {"iam:PassedToService": "emr-serverless.amazonaws.com"}
    }


def test_start_job_run_is_scoped_to_the_application() -> None:
    (starting,) = [
        s
        for s in statements("RetrainFunction", enabled=ENABLED)
        if s["Action"] == "emr-serverless:StartJobRun"
    ]
    assert all("SparkApplication" in str(r) for r in starting["Resource"])


def test_the_rule_forwards_final_job_run_states_of_our_application_to_retrain() -> None:
    rule = props("SparkJobStateRule")
    pattern: dict[str, Any] = rule["EventPattern"]
    assert pattern["source"] == ["aws.emr-serverless"]
    assert pattern["detail-type"] == ["EMR Serverless Job Run State Change"]
    assert set(pattern["detail"]["state"]) == {"SUCCESS", "FAILED", "CANCELLED"}
    assert pattern["detail"]["applicationId"] == [
        {"Fn::GetAtt": ["SparkApplication", "ApplicationId"]}
    ]
    (target,) = rule["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": ["RetrainFunction", "Arn"]}
    permission = props("SparkJobStatePermission")
    assert permission["Principal"] == "events.amazonaws.com"
    assert permission["SourceArn"] == {"Fn::GetAtt": ["SparkJobStateRule", "Arn"]}


def test_the_sample_event_matches_the_rule() -> None:
    import json
    from pathlib import Path

    event = json.loads(
        (Path(__file__).resolve().parents[2] / "events" / "spark-job-run-success.json").read_text()
    )
    pattern = props("SparkJobStateRule")["EventPattern"]
    assert event["source"] in pattern["source"]
    assert event["detail-type"] in pattern["detail-type"]
    assert event["detail"]["state"] in pattern["detail"]["state"]


def test_the_function_gets_no_spark_settings_when_disabled_and_all_when_enabled() -> None:
    keys = ("SPARK_APPLICATION_ID", "SPARK_JOB_ROLE_ARN", "SPARK_ENTRY_POINT")
    default = Stack().functions()["RetrainFunction"].environment
    assert all(default[k] == "" for k in keys)
    enabled = Stack(parameters={"SparkBackend": "Enabled"}).functions()["RetrainFunction"]
    assert all(enabled.environment[k] for k in keys)
