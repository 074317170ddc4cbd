"""`propensity bootstrap`: a fresh stack gets its datasets and first champions in one command."""

from __future__ import annotations

import boto3
import pytest

from propensity.cli import main
from propensity.local.template import Stack


def test_bootstrap_uploads_datasets_and_promotes_v1_once(
    stack: Stack, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an empty deployed stack (tables and bucket from the template) with its outputs
    cloudformation = boto3.client("cloudformation")
    outputs = {
        "ArtifactsBucketName": stack.names["ArtifactsBucket"],
        "RegistryTableName": stack.names["RegistryTable"],
        "FeedbackTableName": stack.names["FeedbackTable"],
    }
    cloudformation.create_stack(
        StackName="propensity-dev",
        TemplateBody=str(
            {
                "Resources": {"Nothing": {"Type": "AWS::SQS::Queue"}},
                "Outputs": {k: {"Value": v} for k, v in outputs.items()},
            }
        ).replace("'", '"'),
    )
    # When the operator runs the documented command
    assert main(["bootstrap", "--stack-name", "propensity-dev"]) == 0
    # Then the datasets are in S3 and both models have a champion v1
    keys = {
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=outputs["ArtifactsBucketName"])[
            "Contents"
        ]
    }
    assert {"datasets/bank-full.csv.gz", "datasets/users_behavior.csv.gz"} <= keys
    assert "models/bank/v1/scorecard.json" in keys
    out = capsys.readouterr().out
    assert "bank v1: promoted" in out and "telecom v1: promoted" in out
    # And running it again changes nothing
    assert (
        main(
            [
                "bootstrap",
                "--bucket",
                outputs["ArtifactsBucketName"],
                "--registry-table",
                outputs["RegistryTableName"],
                "--feedback-table",
                outputs["FeedbackTableName"],
            ]
        )
        == 0
    )
    assert "nothing trained" in capsys.readouterr().out


def test_bootstrap_without_a_target_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bootstrap"]) == 2
    assert "--stack-name" in capsys.readouterr().err
