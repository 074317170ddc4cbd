"""One validated settings model per function, read from the environment at the entry point.

Domain logic receives these objects; it never reads ``os.environ`` itself. AWS endpoints are
not settings: boto3 reads the standard ``AWS_ENDPOINT_URL_*`` variables, so the same code talks
to AWS or to a local emulator.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from propensity.config import MODEL_NAME_PATTERN


class _FunctionSettings(BaseSettings):
    model_config = SettingsConfigDict(frozen=True, extra="ignore", defer_build=True)

    stage: str = "dev"
    default_model: Annotated[str, Field(pattern=MODEL_NAME_PATTERN)] = "bank"
    registry_table: Annotated[str, Field(min_length=3)]
    # "/dev" behind an API Gateway stage; empty when served at the root (local run).
    api_base_path: str = ""
    # How long a warm function trusts the catalogue of models added at run time (the stack's
    # ModelRefreshSeconds): a model added or archived is served, or refused, within this.
    model_config_refresh_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0

    @field_validator("api_base_path")
    @classmethod
    def _normalise_base_path(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not value.startswith("/"):
            value = "/" + value
        return value


class PredictSettings(_FunctionSettings):
    artifacts_bucket: Annotated[str, Field(min_length=3)]
    predictions_table: Annotated[str, Field(min_length=3)]
    model_refresh_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0
    prediction_log_ttl_days: Annotated[int, Field(ge=1, le=3650)] = 90
    batch_limit: Annotated[int, Field(ge=1, le=10_000)] = 1000
    # Rows of one batch request written to the prediction log (a uniform sample beyond it).
    batch_log_rows: Annotated[int, Field(ge=0, le=1000)] = 25


class _CredentialSettings(_FunctionSettings):
    # The secret that is the admin credential and signs scoped tokens: locally the secret itself,
    # in AWS the ARN of a Secrets Manager secret holding it.
    admin_token: Annotated[str | None, Field(min_length=16)] = None
    admin_token_secret_arn: str | None = None
    # Signed tokens living longer than this (exp - iat) are refused, however they were minted.
    admin_token_max_lifetime_seconds: Annotated[int, Field(ge=60, le=30 * 86400)] = 86400
    # How long a container trusts the secret it read (a rotation is followed within this), and
    # how long after a rotation the previous value is still accepted.
    admin_secret_refresh_seconds: Annotated[float, Field(ge=0, le=3600)] = 300.0
    admin_secret_grace_seconds: Annotated[float, Field(ge=0, le=7 * 86400)] = 3600.0
    # How long a container trusts its list of revoked token ids.
    token_revocation_refresh_seconds: Annotated[float, Field(ge=0, le=3600)] = 60.0


class FeedbackSettings(_CredentialSettings):
    # Read for the configs of models added at run time (model-configs/ only).
    artifacts_bucket: Annotated[str, Field(min_length=3)]
    feedback_table: Annotated[str, Field(min_length=3)]
    predictions_table: Annotated[str, Field(min_length=3)]
    # Feedback changes the next model: it needs a feedback- or admin-scoped credential unless
    # this is "off" (demos), when it is stored as sent by "anonymous".
    feedback_auth: Literal["required", "off"] = "required"
    # Days a feedback item is kept (DynamoDB TTL on expires_at); 0: until it is erased.
    feedback_retention_days: Annotated[int, Field(ge=0, le=3650)] = 0


class AdminSettings(_CredentialSettings):
    artifacts_bucket: Annotated[str, Field(min_length=3)]
    feedback_table: Annotated[str, Field(min_length=3)]
    # A scope the caller's JWT (API Gateway's authorizer) must carry on the admin routes;
    # empty: none required.
    admin_jwt_scope: str = ""
    # Where the datasets of models added at run time are stored (the retrain reads them there).
    datasets_prefix: str = "datasets/"


class RetrainSettings(_FunctionSettings):
    artifacts_bucket: Annotated[str, Field(min_length=3)]
    feedback_table: Annotated[str, Field(min_length=3)]
    predictions_table: Annotated[str, Field(min_length=3)]
    # 0: each model's own promotion.min_feedback; a positive value overrides it for every model
    # (small batches for demos and tests).
    retrain_min_feedback: Annotated[int, Field(ge=0)] = 0
    datasets_prefix: str = "datasets/"
    # The function's timeout: a job still "running" after this long was cut off mid-retrain.
    retrain_timeout_seconds: Annotated[int, Field(ge=60, le=900)] = 900
    # The Spark backend (template parameter SparkBackend=Enabled); empty: not deployed, and a
    # model whose training.backend picks Spark fails its retrain naming the field.
    spark_application_id: str = ""
    spark_job_role_arn: str = ""
    # The job's entry point script (roots/spark_job.py in S3) and spark-submit parameters (the
    # packaged virtualenv archive the job runs in).
    spark_entry_point: str = ""
    spark_submit_parameters: str = ""

    @property
    def data_root(self) -> str:
        return f"s3://{self.artifacts_bucket}/{self.datasets_prefix.strip('/')}"


class RotateSettings(BaseSettings):
    """The rotation function's one setting: the secret it may rotate (Secrets Manager names it
    in every event; an event naming another is refused)."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", defer_build=True)

    admin_token_secret_arn: Annotated[str, Field(min_length=1)]
