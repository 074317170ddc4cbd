"""EMR Serverless: starting the Spark training job, and reading its state-change events.

``EmrServerlessJobs`` is the ``SparkJobs`` port over boto3's ``emr-serverless`` client
(``start_job_run``); the endpoint comes from AWS_ENDPOINT_URL_EMR_SERVERLESS like every other.
``parse_job_run_event`` turns EventBridge's "EMR Serverless Job Run State Change" into a typed
``SparkJobFinished`` at the edge (None for a state that is not final, or another event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from propensity.adapters.errors import translate
from propensity.records import SPARK_FINAL_STATES, SparkJobFinished

if TYPE_CHECKING:
    from mypy_boto3_emr_serverless import EMRServerlessClient
    from mypy_boto3_emr_serverless.type_defs import SparkSubmitTypeDef

EVENT_SOURCE = "aws.emr-serverless"
DETAIL_TYPE = "EMR Serverless Job Run State Change"
# The job module the EMR job runs (``roots.spark_job``), as spark-submit's entry point script.
ENTRY_MODULE = "propensity.roots.spark_job"


class EmrServerlessJobs:
    """Starts ``roots.spark_job`` on an EMR Serverless application, one run per version."""

    def __init__(
        self,
        application_id: str,
        execution_role_arn: str,
        *,
        entry_point: str,
        bucket: str,
        datasets_prefix: str,
        submit_parameters: str = "",
        client: EMRServerlessClient | None = None,
    ) -> None:
        self._application_id = application_id
        self._role = execution_role_arn
        self._entry_point = entry_point
        self._bucket = bucket
        self._datasets_prefix = datasets_prefix
        self._submit_parameters = submit_parameters
        self._client: EMRServerlessClient = client or boto3.client("emr-serverless")

    def submit(self, model: str, version: str, request_prefix: str) -> str:
        driver: SparkSubmitTypeDef = {
            "entryPoint": self._entry_point,
            "entryPointArguments": [
                "--bucket",
                self._bucket,
                "--datasets-prefix",
                self._datasets_prefix,
                "--request",
                request_prefix,
            ],
        }
        if self._submit_parameters:
            driver["sparkSubmitParameters"] = self._submit_parameters
        try:
            started = self._client.start_job_run(
                applicationId=self._application_id,
                executionRoleArn=self._role,
                # One run per version: a retried submission gets the same run back.
                clientToken=f"{model}-{version}",
                name=f"propensity-train-{model}-{version}",
                jobDriver={"sparkSubmit": driver},
                # EMR's default, stated: service.spark_retrains waits this long for a run.
                executionTimeoutMinutes=720,
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc, f"EMR Serverless application {self._application_id}") from exc
        return str(started["jobRunId"])


def is_job_run_event(event: Mapping[str, Any]) -> bool:
    return event.get("source") == EVENT_SOURCE and event.get("detail-type") == DETAIL_TYPE


def parse_job_run_event(event: Mapping[str, Any]) -> SparkJobFinished | None:
    """The finished run an EventBridge event reports; None for a non-final state.

    ValueError naming the field when the event lacks what a job run event always carries.
    """
    if not is_job_run_event(event):
        return None
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise ValueError("detail: missing from the job run state change event")
    for field in ("applicationId", "jobRunId", "state"):
        if not isinstance(detail.get(field), str) or not detail[field]:
            raise ValueError(f"detail.{field}: missing or not a string")
    if detail["state"] not in SPARK_FINAL_STATES:
        return None
    return SparkJobFinished(
        application_id=detail["applicationId"],
        job_run_id=detail["jobRunId"],
        state=detail["state"],
        reason=str(detail.get("stateDetails") or ""),
    )
