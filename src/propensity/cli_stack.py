"""The ``propensity`` commands that work on a stack's resources: ``bootstrap``, ``mlflow-export``.

A stack is named by its CloudFormation outputs (``--stack-name``), by its resources
(``--bucket``, ``--registry-table``…), or, for a local stack, by the state folder of the
running ``make run`` (``--running``) or the emulator URL of a ``propensity serve --ephemeral``
(``--emulator-url``, printed in its banner): its resources have the template's local names.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from propensity.errors import PropensityError
from propensity.local.state import DEFAULT_STATE_DIR

if TYPE_CHECKING:
    from propensity.bootstrap import StackResources

EXIT_OK = 0


def add_stack_options(command: argparse.ArgumentParser, *, local: bool) -> None:
    command.add_argument("--stack-name", help="CloudFormation stack (reads its outputs)")
    command.add_argument("--bucket", help="artifacts bucket (instead of --stack-name)")
    command.add_argument("--registry-table")
    command.add_argument("--feedback-table")
    if local:
        command.add_argument(
            "--running",
            nargs="?",
            const=str(DEFAULT_STATE_DIR),
            metavar="STATE_DIR",
            help="the `make run` stack running on STATE_DIR (default .local/state): its resources",
        )
        command.add_argument(
            "--emulator-url",
            help="the emulator of a running `propensity serve` / `make run` (its banner prints "
            "it): that local stack's resources",
        )


@contextmanager
def stack_resources(args: argparse.Namespace, *, feedback: bool) -> Iterator[StackResources]:
    """The resources the options name (the emulator's environment set while in use)."""
    from propensity.bootstrap import StackResources

    if getattr(args, "emulator_url", None) or getattr(args, "running", None):
        from propensity.local.backends import on_disk_environment
        from propensity.local.emulator import emulator_environment
        from propensity.local.runtime import EnvironmentPatch
        from propensity.local.state import running_endpoints
        from propensity.local.template import Stack

        names = Stack().names
        patch = EnvironmentPatch()
        patch.set(
            on_disk_environment(running_endpoints(Path(args.running)))
            if args.running
            else emulator_environment(args.emulator_url)
        )
        try:
            yield StackResources(
                names["ArtifactsBucket"], names["RegistryTable"], names["FeedbackTable"]
            )
        finally:
            patch.restore()
    elif args.stack_name:
        from propensity.adapters.cloudformation import stack_outputs

        yield StackResources.from_outputs(stack_outputs(args.stack_name))
    elif args.bucket and args.registry_table and (args.feedback_table or not feedback):
        yield StackResources(args.bucket, args.registry_table, args.feedback_table or "")
    else:
        needed = "--bucket, --registry-table" + (" and --feedback-table" if feedback else "")
        local = ", or --running / --emulator-url" if hasattr(args, "emulator_url") else ""
        raise PropensityError(f"give --stack-name, or {needed}{local}")


def cmd_bootstrap(args: argparse.Namespace, settings: Any) -> int:
    from propensity.bootstrap import bootstrap_stack

    with stack_resources(args, feedback=True) as resources:
        uploaded, outcomes = bootstrap_stack(resources, Path(args.data_root or settings.data_root))
    print(f"uploaded {', '.join(uploaded) or 'nothing'} to s3://{resources.bucket}/")
    for outcome in outcomes:
        state = "promoted" if outcome.promoted else "rejected"
        print(f"{outcome.model} {outcome.version}: {state} ({outcome.reason})")
    if not outcomes:
        print("every model already has a champion: nothing trained")
    return EXIT_OK


def cmd_mlflow_export(args: argparse.Namespace, _settings: Any) -> int:
    from propensity.adapters.object_store import ObjectStore
    from propensity.adapters.registry import DynamoRegistry
    from propensity.mlflow_export import MlflowExporter

    with stack_resources(args, feedback=False) as resources:
        exporter = MlflowExporter(
            DynamoRegistry(resources.registry_table),
            ObjectStore(resources.bucket),
            tracking_uri=args.tracking_uri,
            registry_uri=args.registry_uri,
            experiment=args.experiment,
            registered_model=args.registered_model,
            artifact_location=args.artifact_location,
            plots=not args.no_plots,
        )
        report = exporter.export(args.model)
    print(
        f"{report.model}: MLflow registered model {report.registered_model!r}, "
        f"experiment {report.experiment_id}"
    )
    for v in report.versions:
        state = "added" if v.added else "already exported"
        print(f"  {v.version} -> version {v.mlflow_version} (run {v.run_id}): {state}")
    if report.champion is None:
        print("no champion: no 'champion' alias")
    else:
        alias_on = report.champion_mlflow_version
        print(f"champion {report.champion} -> alias 'champion' on version {alias_on}")
    print(f"added {len(report.added)} of {len(report.versions)} versions")
    return EXIT_OK


def add_stack_commands(commands: Any) -> None:
    """``bootstrap`` and ``mlflow-export`` on the CLI's sub-command parsers."""
    boot = commands.add_parser(
        "bootstrap", help="upload datasets and train first champions in a deployed stack"
    )
    add_stack_options(boot, local=False)
    boot.add_argument("--data-root", help="directory of the shipped datasets (default: data)")
    boot.set_defaults(handler=cmd_bootstrap)

    export = commands.add_parser(
        "mlflow-export",
        help="log a model's versions as MLflow runs and registered-model versions (champion alias)",
    )
    export.add_argument("--model", required=True, help="model name in the registry")
    export.add_argument(
        "--tracking-uri",
        help="MLflow tracking URI: http(s)://server, sqlite:///mlflow.db, … "
        "(default: $MLFLOW_TRACKING_URI, else MLflow's own default)",
    )
    export.add_argument(
        "--registry-uri", help="MLflow model registry URI (default: the tracking URI)"
    )
    export.add_argument("--experiment", help="experiment name (default: propensity/<model>)")
    export.add_argument("--registered-model", help="registered model name (default: the model's)")
    export.add_argument(
        "--artifact-location", help="where a new experiment stores artifacts (default: MLflow's)"
    )
    export.add_argument(
        "--no-plots", action="store_true", help="do not draw the plots a version did not store"
    )
    add_stack_options(export, local=True)
    export.set_defaults(handler=cmd_mlflow_export)
