"""What the service tells about its models: champions, schemas and metrics history."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from propensity.config import ModelConfig
from propensity.errors import ArtifactError, NotFoundError, PropensityError
from propensity.service.artifacts import load_verified
from propensity.service.model_configs import as_source
from propensity.service.ports import ArtifactStore, ModelConfigSource, Registry
from propensity.service.predictions import PredictionService

EVALUATION_FILE = "metrics.json"
HEADLINE_METRICS = (
    "roc_auc",
    "pr_auc",
    "f1",
    "precision",
    "recall",
    "accuracy",
    "brier",
    "log_loss",
)


class ModelCatalog:
    def __init__(
        self,
        configs: ModelConfigSource | Mapping[str, ModelConfig],
        registry: Registry,
        predictions: PredictionService,
        artifacts: ArtifactStore,
    ) -> None:
        self._configs = as_source(configs)
        self._registry = registry
        self._predictions = predictions
        self._artifacts = artifacts

    def config(self, model: str) -> ModelConfig:
        return self._configs.get(model)

    def summaries(self) -> list[dict[str, Any]]:
        out = []
        for name, config in self._configs.configs().items():
            entry: dict[str, Any] = {
                "name": name,
                "title": config.title,
                "champion": None,
                "status": "serving",
            }
            try:
                alias, scorer = self._predictions.champion(name)
                entry.update(champion=alias.version, threshold=scorer.threshold)
                entry["metrics"] = self._registry.get_version(name, alias.version).metrics
            except PropensityError as exc:
                entry["status"] = str(exc)
            out.append(entry)
        return out

    def describe(self, model: str) -> dict[str, Any]:
        config = self.config(model)
        alias, scorer = self._predictions.champion(model)
        try:
            metrics = self._registry.get_version(model, alias.version).metrics
        except NotFoundError:
            metrics = {}
        card = scorer.card
        features = [
            {
                "name": f["name"],
                "type": f.get(
                    "type", "numeric" if f["encoding"] != "categorical" else "categorical"
                ),
                "encoding": f["encoding"],
                "range": f.get("range"),
                "categories": f.get("categories"),
                "impute": f.get("impute"),
            }
            for f in card["features"]
        ]
        return {
            "name": model,
            "title": config.title,
            "version": alias.version,
            "threshold": scorer.threshold,
            "target": dict(card.get("target", {})),
            "metrics": metrics,
            "trained_at": card.get("created_at"),
            "promoted_at": alias.updated_at,
            "features": features,
            "library_versions": dict(card.get("library_versions", {})),
            "chat_examples": list(config.chat.examples),
        }

    def history(self, model: str, limit: int) -> dict[str, Any]:
        self._configs.known(model)  # an archived model's versions stay listed
        champion = self._registry.get_champion(model)
        versions = self._registry.list_versions(model, limit=limit)
        return {
            "model": model,
            "champion": champion.version if champion else None,
            "versions": [
                {
                    "version": v.version,
                    "status": v.status,
                    "created_at": v.created_at,
                    "trigger": v.trigger,
                    "champion": champion is not None and v.version == champion.version,
                    "reason": v.reason,
                    "metrics": v.metrics,
                    "feedback_holdout": holdout_summary(v.extra.get("feedback_holdout")),
                    "gate": gate_summary(v.extra.get("gate")),
                }
                for v in versions
            ],
        }

    def evaluation(self, model: str, version: str | None = None) -> dict[str, Any]:
        """A version's metrics.json (the champion's by default): curves, confusion matrix, bins.

        Read only when its SHA-256 matches the registry row, like every artifact the service
        serves.
        """
        self.config(model)
        if version is None:
            champion = self._registry.get_champion(model)
            if champion is None:
                raise NotFoundError(f"model {model!r} has no champion yet")
            version = champion.version
        record = self._registry.get_version(model, version)
        sha256 = record.artifacts.get(EVALUATION_FILE, "")
        body = load_verified(self._artifacts, f"{record.artifact_prefix}{EVALUATION_FILE}", sha256)
        try:
            evaluation: dict[str, Any] = json.loads(body)
        except ValueError as exc:  # hash matched the registry, so the registry row is wrong
            raise ArtifactError(f"{model} {version}: {EVALUATION_FILE} is not JSON") from exc
        return {**evaluation, "model": model, "version": version, "status": record.status}


def holdout_summary(report: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The feedback hold-out's headline (rows, status, each model's ROC-AUC, log-loss, Brier and
    mean prediction) from a version's full report; None for versions trained without one."""
    if not report:
        return None
    keep = ("roc_auc", "log_loss", "brier", "mean_prediction")
    return {
        **{k: report.get(k) for k in ("status", "reason", "rows", "positives", "observed_rate")},
        "models": {
            name: {k: numbers.get(k) for k in keep}
            for name, numbers in report.get("models", {}).items()
        },
    }


# Guards a version's history shows besides the failed ones: a version row holds ~175 (one per
# slice), too many for a listing of up to 100 versions; the admin route has them all.
GATE_GUARDS_SHOWN = 12


def gate_summary(gate: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The gate's decision with its numbers: every failed guard, then the first passed ones
    (the overall metric and calibration guards come first), and how many there were."""
    if not gate:
        return None
    guards = [g for g in gate.get("guards", ()) if isinstance(g, Mapping)]
    failed = [g for g in guards if not g.get("passed")]
    passed = [g for g in guards if g.get("passed")]
    keep = ("name", "against", "value", "limit", "passed", "detail")
    return {
        "promote": bool(gate.get("promote")),
        "reason": str(gate.get("reason", "")),
        "total": len(guards),
        "passed": len(passed),
        "guards": [
            {k: g.get(k) for k in keep}
            for g in [*failed, *passed[: max(0, GATE_GUARDS_SHOWN - len(failed))]]
        ],
    }
