"""Reading infra/template.yaml: the one description of the stack, locally and in AWS.

Tests and the local run create their tables and bucket from it, call the handlers it names with
the environment it declares, and route HTTP requests, stream records and schedules the way its
events say, so the local stack cannot drift from what gets deployed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from propensity.local.cfn import TEMPLATE_PATH, holds, load_template

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import VersioningConfigurationTypeDef

REPO_ROOT = Path(__file__).resolve().parents[3]
__all__ = ["REPO_ROOT", "TEMPLATE_PATH", "Stack", "load_template"]


@dataclass(frozen=True)
class HttpRoute:
    method: str
    path: str  # as in the template: /models/{model}/predict
    function: str

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if method.upper() != self.method:
            return None
        pattern = "^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.path)) + "$"
        found = re.match(pattern, path)
        return found.groupdict() if found else None


@dataclass(frozen=True)
class StreamSource:
    function: str
    table: str  # logical id of the table whose stream feeds the function
    batch_size: int
    filters: tuple[dict[str, Any], ...]
    max_retries: int
    bisect: bool
    report_item_failures: bool


@dataclass(frozen=True)
class ScheduleSource:
    function: str
    expression: str
    payload: dict[str, Any]


@dataclass
class FunctionSpec:
    logical_id: str
    code_dir: Path
    handler: str
    environment: dict[str, str] = field(default_factory=dict)

    @property
    def handler_file(self) -> Path:
        return self.code_dir / (self.handler.rsplit(".", 1)[0].replace(".", "/") + ".py")

    @property
    def handler_function(self) -> str:
        return self.handler.rsplit(".", 1)[1]


def checked_parameter(specs: Mapping[str, Any], name: str, value: str) -> str:
    """``value`` for template parameter ``name``, checked as CloudFormation would check it
    (ValueError naming the parameter and the rule otherwise)."""
    if name not in specs:
        raise ValueError(f"no parameter {name!r} in the template (known: {', '.join(specs)})")
    spec = specs[name]
    allowed = [str(v) for v in spec.get("AllowedValues", ())]
    if allowed and value not in allowed:
        raise ValueError(f"{name}={value!r}: must be one of {', '.join(allowed)}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"{name}={value!r}: must be a number") from None
        low, high = spec.get("MinValue"), spec.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            raise ValueError(f"{name}={value!r}: must be within [{low}, {high}]")
    pattern = spec.get("AllowedPattern")
    if pattern and not re.fullmatch(pattern, value):
        raise ValueError(f"{name}={value!r}: must match {pattern}")
    return value


def parse_parameter_overrides(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` pairs, as ``sam deploy --parameter-overrides`` takes them (also SAM's
    ``ParameterKey=K,ParameterValue=V`` form)."""
    overrides: dict[str, str] = {}
    for pair in pairs:
        match = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", pair)
        key, sep, value = (match.group(1), "=", match.group(2)) if match else pair.partition("=")
        if not sep or not key:
            raise ValueError(f"parameter override {pair!r} is not KEY=VALUE")
        overrides[key] = value
    return overrides


class Stack:
    """The template with parameters and physical names resolved for one local stack."""

    def __init__(
        self,
        template: Mapping[str, Any] | None = None,
        *,
        names: Mapping[str, str] | None = None,
        parameters: Mapping[str, str] | None = None,
        template_dir: Path = TEMPLATE_PATH.parent,
    ) -> None:
        self.template = dict(template or load_template())
        self.template_dir = template_dir
        self.resources: dict[str, Any] = self.template["Resources"]
        specs = self.template.get("Parameters", {})
        self.parameters = {name: str(spec.get("Default", "")) for name, spec in specs.items()}
        for name, value in (parameters or {}).items():
            self.parameters[name] = checked_parameter(specs, name, str(value))
        # Physical names: given, or derived from the logical id (lower-case, like a stack would).
        self.names = {
            logical: (names or {}).get(logical, f"propensity-local-{logical.lower()}")
            for logical, res in self.resources.items()
            if res["Type"] in ("AWS::DynamoDB::Table", "AWS::S3::Bucket")
        }

    # --- intrinsic functions ---------------------------------------------------------------
    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                if arg in self.parameters:
                    return self.parameters[arg]
                if arg in self.names:
                    return self.names[arg]
                if arg == "AWS::Region":
                    return "us-east-1"
                return f"local-{arg}"
            if key == "Fn::Sub":
                text = arg if isinstance(arg, str) else arg[0]
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self._sub(m.group(1))), text)
            if key == "Fn::GetAtt":
                return f"arn:local:{arg[0]}:{arg[1]}"
            if key == "Fn::If":
                name, when_true, when_false = arg
                return self.resolve(when_true if self.condition(name) else when_false)
        if isinstance(value, dict):
            return {k: self.resolve(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        return value

    def condition(self, name: str) -> bool:
        """A template condition under this stack's parameters (Equals, Not, And, Or)."""
        return holds(self.template.get("Conditions", {}), name, self.resolve)

    def _sub(self, name: str) -> str:
        if "." in name:
            return f"arn:local:{name}"
        return str(self.resolve({"Ref": name}))

    # --- functions and their events --------------------------------------------------------
    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = self.template.get("Globals", {}).get("Function", {})
        base_env = self.resolve(globals_.get("Environment", {}).get("Variables", {}))
        out = {}
        for logical, res in self.resources.items():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            props = res["Properties"]
            env = {**base_env, **self.resolve(props.get("Environment", {}).get("Variables", {}))}
            out[logical] = FunctionSpec(
                logical_id=logical,
                code_dir=(self.template_dir / props["CodeUri"]).resolve(),
                handler=props.get("Handler", globals_.get("Handler", "")),
                environment={k: str(v) for k, v in env.items()},
            )
        return out

    def _events(self, kind: str) -> list[tuple[str, dict[str, Any]]]:
        found = []
        for logical, res in self.resources.items():
            if res["Type"] != "AWS::Serverless::Function":
                continue
            for event in res["Properties"].get("Events", {}).values():
                if event["Type"] == kind:
                    found.append((logical, event.get("Properties", {})))
        return found

    def http_routes(self) -> list[HttpRoute]:
        return [HttpRoute(p["Method"].upper(), p["Path"], fn) for fn, p in self._events("HttpApi")]

    def stream_sources(self) -> list[StreamSource]:
        sources = []
        for fn, props in self._events("DynamoDB"):
            stream = props["Stream"]
            table = stream["Fn::GetAtt"][0] if isinstance(stream, dict) else str(stream)
            patterns = tuple(
                json.loads(str(self.resolve(f["Pattern"])))
                for f in props.get("FilterCriteria", {}).get("Filters", [])
            )
            sources.append(
                StreamSource(
                    function=fn,
                    table=table,
                    batch_size=int(props.get("BatchSize", 100)),
                    filters=patterns,
                    max_retries=int(props.get("MaximumRetryAttempts", -1)),
                    bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                    report_item_failures="ReportBatchItemFailures"
                    in props.get("FunctionResponseTypes", []),
                )
            )
        return sources

    def schedules(self) -> list[ScheduleSource]:
        return [
            ScheduleSource(
                fn, str(self.resolve(p["Schedule"])), json.loads(str(p.get("Input", "{}")))
            )
            for fn, p in self._events("Schedule")
        ]

    def stage(self) -> str:
        for res in self.resources.values():
            if res["Type"] == "AWS::Serverless::HttpApi":
                return str(self.resolve(res["Properties"].get("StageName", "$default")))
        return "$default"

    # --- resources -------------------------------------------------------------------------
    def create_resources(self, dynamodb: DynamoDBClient, s3: S3Client) -> CreatedResources:
        """Create every table and bucket the template declares, as it declares them.

        One that exists already (a persistent stack's second start) is kept as it is, and a
        bucket setting the local S3 does not implement is reported, not fatal."""
        created = CreatedResources()
        for logical, res in self.resources.items():
            props = self.resolve(res.get("Properties", {}))
            name = self.names.get(logical, "")
            if res["Type"] == "AWS::DynamoDB::Table":
                try:
                    created.not_emulated += self._create_table(dynamodb, name, props)
                except ClientError as exc:
                    if _error_code(exc) != "ResourceInUseException":
                        raise
                    created.kept.append(name)
                    continue
            elif res["Type"] == "AWS::S3::Bucket":
                try:
                    s3.create_bucket(Bucket=name)
                except ClientError as exc:
                    if _error_code(exc) not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                        raise
                    created.kept.append(name)
                    continue
                created.not_emulated += self._configure_bucket(s3, name, props)
            else:
                continue
            created.made.append(name)
        return created

    @staticmethod
    def _create_table(dynamodb: DynamoDBClient, name: str, props: dict[str, Any]) -> list[str]:
        """Create the table; the settings the local DynamoDB does not implement, by name."""
        kwargs: dict[str, Any] = {
            "TableName": name,
            "AttributeDefinitions": props["AttributeDefinitions"],
            "KeySchema": props["KeySchema"],
            "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
        }
        if props.get("GlobalSecondaryIndexes"):
            kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
        if props.get("StreamSpecification"):
            kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
        if props.get("SSESpecification"):
            kwargs["SSESpecification"] = {
                "Enabled": bool(props["SSESpecification"].get("SSEEnabled"))
            }
        dynamodb.create_table(**kwargs)
        settings: dict[str, Callable[[], Any]] = {}
        ttl = props.get("TimeToLiveSpecification")
        if ttl:
            settings["TimeToLiveSpecification"] = lambda: dynamodb.update_time_to_live(
                TableName=name, TimeToLiveSpecification=ttl
            )
        pitr = props.get("PointInTimeRecoverySpecification", {})
        if pitr.get("PointInTimeRecoveryEnabled"):
            settings["PointInTimeRecoverySpecification"] = lambda: (
                dynamodb.update_continuous_backups(
                    TableName=name,
                    PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True},
                )
            )
        return _apply_settings(name, settings)

    @staticmethod
    def _configure_bucket(s3: S3Client, name: str, props: dict[str, Any]) -> list[str]:
        """Apply the bucket's settings; those the local S3 does not implement, by name."""
        settings: dict[str, Callable[[], Any]] = {}
        if props.get("VersioningConfiguration"):
            settings["VersioningConfiguration"] = lambda: _put_versioning(
                s3, name, props["VersioningConfiguration"]
            )
        if props.get("BucketEncryption"):
            # CloudFormation's rule shape differs from the S3 API's: translate it.
            rules = props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            settings["BucketEncryption"] = lambda: s3.put_bucket_encryption(
                Bucket=name,
                ServerSideEncryptionConfiguration={
                    "Rules": [
                        {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                        for r in rules
                    ]
                },
            )
        if props.get("PublicAccessBlockConfiguration"):
            settings["PublicAccessBlockConfiguration"] = lambda: s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]
            )
        return _apply_settings(name, settings)


# What the local servers answer for a setting they lack (s3rver; DynamoDB Local).
NOT_IMPLEMENTED = ("NotImplemented", "UnknownOperationException")


def _apply_settings(name: str, settings: Mapping[str, Callable[[], Any]]) -> list[str]:
    missing = []
    for setting, apply in settings.items():
        try:
            apply()
        except ClientError as exc:
            if _error_code(exc) not in NOT_IMPLEMENTED:
                raise
            missing.append(f"{name} {setting}")
    return missing


def _put_versioning(s3: S3Client, name: str, configuration: VersioningConfigurationTypeDef) -> None:
    """Versioning as asked, checked by reading it back: s3rver 3.7 takes ``PUT ?versioning``
    for a second CreateBucket (``BucketAlreadyExists``) and reports no status after it."""
    try:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration=configuration)
    except ClientError as exc:
        if _error_code(exc) != "BucketAlreadyExists":
            raise
    if s3.get_bucket_versioning(Bucket=name).get("Status") != configuration.get("Status"):
        raise ClientError(
            {"Error": {"Code": "NotImplemented", "Message": "versioning not kept"}},
            "PutBucketVersioning",
        )


@dataclass
class CreatedResources:
    """What ``create_resources`` did: physical names made, kept, and settings not emulated."""

    made: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    not_emulated: list[str] = field(default_factory=list)


def _error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
