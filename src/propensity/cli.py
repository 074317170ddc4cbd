"""``propensity`` command line: train, eval, predict and drift for any configured model.

The commands on a stack's resources (``bootstrap``, ``mlflow-export``) are in ``cli_stack``;
``models add`` / ``models archive`` (over the admin API) in ``cli_models``.

Exit codes: 0 success, 1 drift found with ``--fail-on-drift``, 2 bad input (the one-line error
names the file, row and column).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from propensity.cli_models import add_models_command
from propensity.cli_stack import add_stack_commands
from propensity.cli_tokens import add_token_command
from propensity.config import load_model_config
from propensity.errors import PropensityError
from propensity.local.state import DEFAULT_STATE_DIR

EXIT_OK, EXIT_DRIFT, EXIT_BAD_INPUT = 0, 1, 2


class CliSettings(BaseSettings):
    """Defaults the flags fall back on (environment: PROPENSITY_DATA_ROOT, …)."""

    model_config = SettingsConfigDict(env_prefix="PROPENSITY_")

    data_root: str = Field(default="data", description="where relative dataset sources live")
    artifacts_dir: Path = Field(default=Path("artifacts"), description="local model versions")
    config_dir: Path | None = Field(default=None, description="extra model configs")


def _progress(message: str) -> None:
    print(f"  … {message}", file=sys.stderr, flush=True)


def _summary(metrics: dict[str, Any]) -> str:
    """The metrics table: model with its interval, out of time when measured, baseline."""
    keys = ("roc_auc", "pr_auc", "f1", "precision", "recall", "accuracy", "brier", "log_loss")
    late = metrics.get("out_of_time")
    late = late if isinstance(late, dict) and "skipped" not in late else None
    header = f"{'metric':<10} {'random split [95% CI]':>26}"
    if late is not None:
        header += f" {'out of time [95% CI]':>26}"
    lines = [header + f" {'baseline':>9}"]
    for key in keys:
        line = f"{key:<10} {_with_interval(metrics, key):>26}"
        if late is not None:
            line += f" {_with_interval(late, key):>26}"
        lines.append(line + f" {_fmt(metrics.get('baseline', {}).get(key)):>9}")
    cm = metrics["confusion_matrix"]
    threshold = metrics["threshold"]
    lines.append(
        f"threshold {threshold['value']:.4f} ({threshold['strategy']}); "
        f"confusion tn={cm['tn']} fp={cm['fp']} fn={cm['fn']} tp={cm['tp']}"
    )
    if late is not None:
        lines.append(f"out of time: {late['evaluated_on']['description']}")
    lift = metrics.get("lift") or []
    if lift:
        gains = " ".join(f"{row['gain']:.2f}" for row in lift)
        lines.append(f"top-decile lift {lift[0]['lift']:.2f}; cumulative gain by decile {gains}")
    tuning = metrics.get("tuning")
    if tuning:
        scores = ", ".join(f"{s['C']:g}: {s['mean']:.4f}" for s in tuning["scores"])
        lines.append(f"C = {tuning['chosen_C']:g} by {tuning['folds']}-fold CV (ROC-AUC {scores})")
    return "\n".join(lines)


def _with_interval(metrics: dict[str, Any], key: str) -> str:
    bounds = (metrics.get("intervals") or {}).get(key)
    if not isinstance(bounds, dict):
        return _fmt(metrics.get(key))
    return f"{_fmt(metrics.get(key))} [{_fmt(bounds['low'])}, {_fmt(bounds['high'])}]"


def _fmt(value: object) -> str:
    return f"{value:.4f}" if isinstance(value, float) else "-"


def cmd_train(args: argparse.Namespace, settings: CliSettings) -> int:
    from propensity.adapters.datasets import read_location
    from propensity.training.cards import profile_dataset
    from propensity.training.dataset import load_dataset
    from propensity.training.train import render_artifacts, train_model, write_directory_atomically

    config = load_model_config(args.model, settings.config_dir)
    out_dir = Path(args.out) if args.out else settings.artifacts_dir / config.name
    started = time.perf_counter()
    _progress(f"load: {config.dataset.source}")
    frame, location = load_dataset(
        config, args.data_root or settings.data_root, source=args.source, read=read_location
    )
    trained = train_model(config, frame, version=args.version, progress=_progress)
    _progress("write: artifacts, plots, model and data cards")
    files = render_artifacts(
        trained, plots=not args.no_plots, profile=profile_dataset(frame, config)
    )
    write_directory_atomically(files, out_dir)
    print(
        f"{config.name} {args.version}: trained on {trained.training['rows_train']:,} rows from "
        f"{location}, evaluated on {trained.training['rows_test']:,} held-out rows "
        f"in {time.perf_counter() - started:.1f} s"
    )
    print(_summary(trained.metrics))
    print(f"artifacts: {out_dir} ({', '.join(sorted(files))})")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, settings: CliSettings) -> int:
    from propensity.training.offline import evaluate_version

    config = load_model_config(args.model, settings.config_dir)
    version_dir = Path(args.dir) if args.dir else settings.artifacts_dir / config.name
    metrics = evaluate_version(
        config,
        version_dir,
        data=Path(args.data) if args.data else None,
        data_root=args.data_root or settings.data_root,
        delimiter=args.delimiter,
        plots=not args.no_plots,
    )
    print(f"{config.name}: evaluated {version_dir} on {metrics['evaluated_on']['description']}")
    print(_summary(metrics))
    return EXIT_OK


def cmd_predict(args: argparse.Namespace, settings: CliSettings) -> int:
    from propensity.scoring import Scorer
    from propensity.training.batch import score_csv

    config = load_model_config(args.model, settings.config_dir)
    version_dir = Path(args.dir) if args.dir else settings.artifacts_dir / config.name
    scorecard = version_dir / "scorecard.json"
    if not scorecard.is_file():
        raise PropensityError(
            f"{scorecard}: not found; run `propensity train --model {config.name}`"
        )
    scorer = Scorer.from_json(scorecard.read_bytes())
    started = time.perf_counter()
    rows = score_csv(
        scorer,
        Path(args.input),
        Path(args.output),
        target_column=config.target.column,
        delimiter=args.delimiter or config.dataset.delimiter,
        numeric_features=frozenset(config.features.numeric),
        labels=(config.target.negative_label, config.target.positive_label),
        top_reasons=args.reasons,
        progress=_progress,
    )
    elapsed = time.perf_counter() - started
    print(
        f"{config.name}: scored {rows:,} rows into {args.output} in {elapsed:.2f} s "
        f"({rows / max(elapsed, 1e-9):,.0f} rows/s)"
    )
    return EXIT_OK


def cmd_drift(args: argparse.Namespace, settings: CliSettings) -> int:
    from propensity.training.dataset import load_labelled_csv
    from propensity.training.drift import drift_report
    from propensity.training.train import write_file_atomically

    config = load_model_config(args.model, settings.config_dir)
    frames = []
    for path in (Path(args.ref), Path(args.cur)):
        if not path.is_file():
            raise PropensityError(f"{path}: file not found")
        frames.append(
            load_labelled_csv(
                path.read_bytes(), str(path), config, delimiter=args.delimiter, require_target=False
            )
        )
    report = drift_report(frames[0], frames[1], config)
    report["reference"], report["current"] = args.ref, args.cur
    write_file_atomically(Path(args.out), json.dumps(report, indent=2).encode() + b"\n")
    flagged = report["drifted_features"]
    print(
        f"{config.name}: {len(flagged)} of {len(report['features'])} features drifted"
        f"{': ' + ', '.join(flagged) if flagged else ''}; report in {args.out}"
    )
    return EXIT_DRIFT if flagged and args.fail_on_drift else EXIT_OK


def cmd_serve(args: argparse.Namespace, _settings: CliSettings) -> int:
    from propensity.local import commands

    return commands.serve(
        port=args.port,
        schedule_seconds=args.schedule_seconds,
        emulator_port=args.emulator_port,
        bootstrap=not args.no_bootstrap,
        retrain_min_feedback=args.retrain_min_feedback,
        feedback_auth=args.feedback_auth,
        parameter_overrides=overrides(args.parameter_overrides),
        state_dir=None if args.ephemeral else Path(args.state_dir),
        fresh=args.fresh,
    )


def overrides(pairs: Sequence[str] | None) -> dict[str, str]:
    from propensity.local.template import parse_parameter_overrides

    try:
        return parse_parameter_overrides(pairs or ())
    except ValueError as exc:
        raise PropensityError(str(exc)) from exc


def cmd_invoke(args: argparse.Namespace, _settings: CliSettings) -> int:
    from propensity.local import commands

    return commands.invoke(
        args.function,
        Path(args.event),
        emulator_url=args.url,
        running_state=None if args.running is None else Path(args.running),
        bootstrap=False if args.no_bootstrap else None,
        feedback_auth=args.feedback_auth,
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="propensity", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    def model_command(name: str, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument(
            "--model", required=True, help="model name (a config in model_configs/)"
        )
        return command

    train = model_command("train", "train, evaluate and write a model version's artifacts")
    train.add_argument("--out", help="output directory (default: artifacts/<model>)")
    train.add_argument(
        "--version", default="local", help="version label written into the artifacts"
    )
    train.add_argument(
        "--source", help="dataset location overriding the config (path, s3://, https://)"
    )
    train.add_argument("--data-root", help="where relative dataset sources live (default: data)")
    train.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    train.set_defaults(handler=cmd_train)

    evaluate = model_command("eval", "re-evaluate a trained version; refresh metrics and plots")
    evaluate.add_argument("--dir", help="version directory (default: artifacts/<model>)")
    evaluate.add_argument("--data", help="labelled CSV (default: the config's held-out split)")
    evaluate.add_argument("--delimiter", help="CSV delimiter (default: the config's)")
    evaluate.add_argument("--data-root", help="where relative dataset sources live")
    evaluate.add_argument("--no-plots", action="store_true")
    evaluate.set_defaults(handler=cmd_eval)

    predict = model_command("predict", "score a CSV file (streamed) with a version's scorecard")
    predict.add_argument("--input", required=True)
    predict.add_argument("--output", required=True)
    predict.add_argument("--dir", help="version directory (default: artifacts/<model>)")
    predict.add_argument("--delimiter", help="CSV delimiter (default: the config's)")
    predict.add_argument("--reasons", type=int, default=3, help="top reasons per row")
    predict.set_defaults(handler=cmd_predict)

    drift = model_command("drift", "per-feature PSI, KS and chi-square drift report")
    drift.add_argument("--ref", required=True, help="reference CSV (e.g. the training data)")
    drift.add_argument("--cur", required=True, help="current CSV")
    drift.add_argument("--out", required=True, help="JSON report path")
    drift.add_argument("--delimiter", help="CSV delimiter (default: the config's)")
    drift.add_argument("--fail-on-drift", action="store_true", help="exit 1 when a feature drifted")
    drift.set_defaults(handler=cmd_drift)

    serve = commands.add_parser(
        "serve", help="run the SAM template locally: emulated AWS, real handlers, HTTP API"
    )
    serve.add_argument(
        "--port", type=int, help="HTTP API port (default: $PORT or 8000; 0 picks a free one)"
    )
    serve.add_argument(
        "--schedule-seconds",
        type=float,
        help="fire the schedules every S seconds (default: $LOCAL_SCHEDULE_SECONDS or the rate)",
    )
    serve.add_argument(
        "--state-dir",
        default=str(DEFAULT_STATE_DIR),
        help="where the stack keeps its tables and objects across restarts "
        "(default: .local/state in the checkout; git-ignored)",
    )
    serve.add_argument(
        "--fresh",
        action="store_true",
        help="delete the state folder's tables, objects and tokens first, then start as new",
    )
    serve.add_argument(
        "--ephemeral",
        action="store_true",
        help="keep everything in moto's memory instead (gone on exit; what the tests use)",
    )
    serve.add_argument(
        "--emulator-port",
        type=int,
        default=0,
        help="with --ephemeral: moto's port (default: a free one)",
    )
    serve.add_argument(
        "--no-bootstrap", action="store_true", help="do not train the first model versions"
    )
    serve.add_argument(
        "--retrain-min-feedback",
        type=int,
        default=20,
        help="the template's RetrainMinFeedback: feedback rows that retrain a model (default 20, "
        "a demo-sized batch; 0 uses each model's own promotion.min_feedback)",
    )
    serve.add_argument(
        "--feedback-auth",
        choices=("required", "off"),
        default="required",
        help="the template's FeedbackAuth: feedback needs a credential (default) or is open",
    )
    serve.add_argument(
        "--parameter-overrides",
        nargs="+",
        metavar="KEY=VALUE",
        help="template parameters, as sam deploy takes them (checked against the template); "
        "they win over the flags above",
    )
    serve.set_defaults(handler=cmd_serve)

    invoke = commands.add_parser(
        "invoke", help="invoke one function of the template with an event file (sam local invoke)"
    )
    invoke.add_argument("function", help="logical id, e.g. PredictFunction")
    invoke.add_argument(
        "--event", required=True, help="event JSON file, e.g. events/bootstrap.json"
    )
    invoke.add_argument(
        "--running",
        nargs="?",
        const=str(DEFAULT_STATE_DIR),
        metavar="STATE_DIR",
        help="against the data of the `make run` stack running on STATE_DIR (default "
        ".local/state) instead of a fresh in-process stack",
    )
    invoke.add_argument(
        "--url", help="the same for a running `propensity serve --ephemeral`: its emulator's URL"
    )
    invoke.add_argument(
        "--no-bootstrap", action="store_true", help="fresh stack without the first model versions"
    )
    invoke.add_argument(
        "--feedback-auth",
        choices=("required", "off"),
        default="required",
        help="the template's FeedbackAuth (the sample feedback event carries no credential)",
    )
    invoke.set_defaults(handler=cmd_invoke)

    add_stack_commands(commands)  # bootstrap, mlflow-export

    add_token_command(commands)

    add_models_command(commands)  # models, models add, models archive
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = CliSettings()
    try:
        code: int = args.handler(args, settings)
    except PropensityError as exc:
        print(f"propensity {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
