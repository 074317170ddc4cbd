"""A rotation of a secret in moto, started as Secrets Manager starts one for the schedule.

moto's ``rotate_secret`` does what Secrets Manager does before it invokes the rotation function:
it enables rotation and stages an empty ``AWSPENDING`` version named by a new token. It then
invokes the function through moto's Lambda backend, which runs code only in Docker: with Docker
off (here) those invocations return without running anything, so the caller runs each step
itself, with the token returned. Call inside an active ``mock_aws``.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import boto3
from moto import mock_aws

from propensity.local.template import REPO_ROOT

# moto's Lambda backend without Docker: an invocation returns without running the code.
NO_DOCKER: Any = {"lambda": {"use_docker": False}}


def start_rotation(arn: str, *, days: int) -> str:
    """Configure the secret to rotate every ``days`` through a (moto) rotation function, start
    a rotation, and return the new version's token."""
    # Nested in the caller's mock: the same backends, and the Docker setting is undone when
    # the outer mock stops.
    with mock_aws(config=NO_DOCKER):
        code = io.BytesIO()
        with zipfile.ZipFile(code, "w") as archive:
            archive.write(REPO_ROOT / "functions" / "rotate" / "handler.py", "handler.py")
        name = f"rotate-{uuid.uuid4().hex[:8]}"
        role = boto3.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        function = boto3.client("lambda").create_function(
            FunctionName=name,
            Runtime="python3.13",
            Role=role["Role"]["Arn"],
            Handler="handler.lambda_handler",
            Code={"ZipFile": code.getvalue()},
        )
        started = boto3.client("secretsmanager").rotate_secret(
            SecretId=arn,
            RotationLambdaARN=function["FunctionArn"],
            RotationRules={"AutomaticallyAfterDays": days},
        )
    token: str = started["VersionId"]
    return token
