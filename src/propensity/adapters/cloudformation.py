"""Reading a deployed stack's outputs (bucket and table names) for operator commands."""

from __future__ import annotations

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import translate


def stack_outputs(stack_name: str) -> dict[str, str]:
    client = boto3.client("cloudformation")
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except (ClientError, BotoCoreError) as exc:
        raise translate(exc, f"stack {stack_name}") from exc
    outputs = stacks[0].get("Outputs", []) if stacks else []
    return {
        o["OutputKey"]: o["OutputValue"] for o in outputs if "OutputKey" in o and "OutputValue" in o
    }
