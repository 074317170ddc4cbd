"""What infra/template.yaml promises about data safety and least privilege, checked directly.

cfn-lint and `sam validate` accept templates that are valid but unsafe; these tests pin the
properties the service relies on.
"""

from __future__ import annotations

from typing import Any

import pytest

from propensity.local.template import load_template

TEMPLATE = load_template()
RESOURCES: dict[str, Any] = TEMPLATE["Resources"]


def props(logical_id: str) -> dict[str, Any]:
    return dict(RESOURCES[logical_id]["Properties"])


NO_VALUE = {"Ref": "AWS::NoValue"}


def statements(function: str, *, enabled: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """A function's inline statements as deployed with the conditions in ``enabled`` true (by
    default none: the stack with its default parameters)."""
    found = []
    for policy in props(function).get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            for entry in policy["Statement"]:
                statement = entry
                if "Fn::If" in entry:
                    condition, when_true, when_false = entry["Fn::If"]
                    statement = when_true if condition in enabled else when_false
                if statement != NO_VALUE:
                    found.append(statement)
    return found


def allowed(function: str, *, enabled: frozenset[str] = frozenset()) -> set[tuple[str, str]]:
    """(action, resource text) pairs a function's inline statements allow."""
    pairs = set()
    for statement in statements(function, enabled=enabled):
        actions = (
            statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        )
        resources = (
            statement["Resource"]
            if isinstance(statement["Resource"], list)
            else [statement["Resource"]]
        )
        for action in actions:
            for resource in resources:
                pairs.add((action, str(resource)))
    return pairs


def test_bucket_is_versioned_private_encrypted_and_tls_only() -> None:
    bucket = props("ArtifactsBucket")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    policy = props("ArtifactsBucketPolicy")["PolicyDocument"]["Statement"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        for s in policy
    )


@pytest.mark.parametrize("table", ["RegistryTable", "FeedbackTable"])
def test_tables_that_must_not_lose_data_have_pitr_and_are_retained(table: str) -> None:
    assert props(table)["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert RESOURCES[table]["DeletionPolicy"] == "Retain"


def test_every_table_is_on_demand_and_the_prediction_log_expires() -> None:
    for logical, resource in RESOURCES.items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert resource["Properties"]["BillingMode"] == "PAY_PER_REQUEST", logical
    assert props("PredictionsTable")["TimeToLiveSpecification"] == {
        "AttributeName": "expires_at",
        "Enabled": True,
    }


def test_predict_cannot_write_models_or_feedback() -> None:
    pairs = allowed("PredictFunction")
    assert not any(a.startswith("s3:Put") or a.startswith("s3:Delete") for a, _ in pairs)
    assert not any("FeedbackTable" in r for _, r in pairs)
    writes = {
        (a, r)
        for a, r in pairs
        if a in ("dynamodb:PutItem", "dynamodb:BatchWriteItem", "dynamodb:UpdateItem")
    }
    assert writes and all("PredictionsTable" in r for _, r in writes)
    assert "SklearnLayer" not in str(props("PredictFunction")["Layers"])


def test_feedback_cannot_read_models() -> None:
    pairs = allowed("FeedbackFunction")
    # Of the bucket it reads the configs of models added at run time, and nothing else.
    assert {(a, r) for a, r in pairs if a.startswith("s3:")} == {("s3:GetObject", MODEL_CONFIGS)}
    assert not any(
        a in ("dynamodb:PutItem", "dynamodb:UpdateItem") and "RegistryTable" in r for a, r in pairs
    )


MODEL_CONFIGS = str({"Fn::Sub": "${ArtifactsBucket.Arn}/model-configs/*"})


@pytest.mark.parametrize(
    "function", ["PredictFunction", "FeedbackFunction", "RetrainFunction", "AdminFunction"]
)
def test_every_function_reads_the_models_added_at_run_time_and_only_admin_writes_them(
    function: str,
) -> None:
    # Given the prefix where models added at run time are kept (their catalogue and configs)
    pairs = allowed(function)
    # Then every function can read it: each serves, teaches or retrains those models
    assert ("s3:GetObject", MODEL_CONFIGS) in pairs
    # And only the admin function (PUT /models/{model}, POST …/archive) can write there, and
    # the datasets of added models only under datasets/added/, never the packaged ones'
    writes = {r for a, r in pairs if a == "s3:PutObject"}
    if function == "AdminFunction":
        assert MODEL_CONFIGS in writes
        assert not any("/datasets/*" in r for r in writes)
        assert str({"Fn::Sub": "${ArtifactsBucket.Arn}/datasets/added/*"}) in writes
    else:
        assert MODEL_CONFIGS not in writes
    # And the catalogue's refresh follows the stack's ModelRefreshSeconds everywhere
    variables = TEMPLATE["Globals"]["Function"]["Environment"]["Variables"]
    assert variables["MODEL_CONFIG_REFRESH_SECONDS"] == {"Ref": "ModelRefreshSeconds"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/models/{model}"),
        ("POST", "/models/{model}/dataset/uploads"),
        ("POST", "/models/{model}/archive"),
    ],
)
def test_the_routes_that_add_and_archive_models_are_admin_routes_behind_the_authorizer(
    method: str, path: str
) -> None:
    # Given the routes that add a model at run time, upload its dataset and archive a model
    events = props("AdminFunction")["Events"]
    matching = [
        e["Properties"]
        for e in events.values()
        if (e["Properties"]["Method"], e["Properties"]["Path"]) == (method, path)
    ]
    # Then each is served by the admin function, once, behind the JWT authorizer
    assert len(matching) == 1
    assert matching[0]["Auth"] == {"Authorizer": "AdminJwt"}
    # And no other function serves that method on that path (GET /models/{model} is predict's)
    for logical, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::Function" and logical != "AdminFunction":
            for event in resource["Properties"].get("Events", {}).values():
                route = (event["Properties"].get("Method"), event["Properties"].get("Path"))
                assert route != (method, path), logical


def test_retrain_stream_is_bounded_with_a_failure_destination() -> None:
    stream = props("RetrainFunction")["Events"]["FeedbackStream"]["Properties"]
    assert stream["MaximumRetryAttempts"] == 2
    assert stream["BisectBatchOnFunctionError"] is True
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["RetrainDeadLetterQueue", "Arn"]
    }
    assert stream["StartingPosition"] in ("LATEST", "TRIM_HORIZON")
    assert props("RetrainFunction")["ReservedConcurrentExecutions"] == 1


def test_every_admin_route_has_the_authorizer() -> None:
    events = props("AdminFunction")["Events"]
    assert events
    for name, event in events.items():
        assert event["Properties"]["Auth"] == {"Authorizer": "AdminJwt"}, name
    # and no admin route is served by another function (routes are method and path: the
    # feedback function's POST /models/{model}/feedback shares its path with the admin GET)
    admin_routes = {(e["Properties"]["Method"], e["Properties"]["Path"]) for e in events.values()}
    for logical, resource in RESOURCES.items():
        if resource["Type"] == "AWS::Serverless::Function" and logical != "AdminFunction":
            for event in resource["Properties"].get("Events", {}).values():
                route = (event["Properties"].get("Method"), event["Properties"].get("Path"))
                assert route not in admin_routes, logical
                assert event["Properties"].get("Method") not in ("ANY", "*"), logical


def test_cors_is_not_a_wildcard_with_credentials() -> None:
    cors = props("HttpApi")["CorsConfiguration"]
    origins = TEMPLATE["Parameters"]["CorsAllowedOrigins"]["Default"]
    assert not (cors["AllowCredentials"] and "*" in origins)
    assert "*" not in origins


HTTP_FUNCTIONS = ("PredictFunction", "FeedbackFunction", "AdminFunction")


@pytest.mark.parametrize("function", HTTP_FUNCTIONS)
def test_the_http_functions_are_published_with_snapstart(function: str) -> None:
    # SnapStart applies to published versions only: the function publishes an alias, which its
    # HttpApi events then invoke (checked on the translated template by scripts/sam-check.sh)
    props = load_template()["Resources"][function]["Properties"]
    assert props["AutoPublishAlias"] == "live"
    assert props["SnapStart"] == {"ApplyOn": "PublishedVersions"}


def test_every_function_runs_on_python_3_13_and_the_layers_are_built_for_it() -> None:
    template = load_template()
    assert template["Globals"]["Function"]["Runtime"] == "python3.13"
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            assert resource["Properties"].get("Runtime", "python3.13") == "python3.13"
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            assert resource["Properties"]["CompatibleRuntimes"] == ["python3.13"]


def test_the_architecture_parameter_reaches_every_function_and_layer() -> None:
    # Given the template's Architecture parameter (x86_64 or arm64)
    template = load_template()
    parameter = template["Parameters"]["Architecture"]
    assert parameter["AllowedValues"] == ["x86_64", "arm64"]
    chosen = [{"Ref": "Architecture"}]
    # Then every function runs on it (from Globals, none overriding it) and every layer says it
    # is built for it (scripts/sam-check.sh builds both and checks the arm64 ELF files)
    assert template["Globals"]["Function"]["Architectures"] == chosen
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            assert "Architectures" not in props, name
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            assert props["CompatibleArchitectures"] == chosen, name


def test_of_the_bucket_the_retrain_function_deletes_only_snapshot_parts() -> None:
    # Given the retrain function's grants on the artifacts bucket
    deletes = {r for a, r in allowed("RetrainFunction") if a.startswith("s3:Delete")}
    # Then it may delete snapshot parts (orphans, once old enough) and nothing else: no
    # manifest, model, dataset or upload
    assert deletes == {str({"Fn::Sub": "${ArtifactsBucket.Arn}/snapshots/*/parts/*"})}
    for function in ("PredictFunction", "FeedbackFunction"):
        assert not any(a.startswith("s3:Delete") for a, _ in allowed(function))
