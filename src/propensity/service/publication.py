"""Publishing a candidate: artifacts, then the version row, then the gate's decision.

Plain Python over the registry and artifact ports; the orchestrator calls it once per retrain,
and tests and the bootstrap call it for versions trained elsewhere.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from propensity.config import ModelConfig
from propensity.config_challenger import TRIAL_MODES
from propensity.records import (
    Candidate,
    ChampionAlias,
    PromotionEvent,
    RetrainOutcome,
    VersionRecord,
)
from propensity.service import promotion
from propensity.service.challenger_trials import ChallengerTrials
from propensity.service.ports import ArtifactStore, Registry
from propensity.versions import version_number

log = logging.getLogger(__name__)

CONTENT_TYPES = {
    ".json": "application/json",
    ".md": "text/markdown; charset=utf-8",
    ".png": "image/png",
}


def artifact_prefix(model: str, version: str) -> str:
    return f"models/{model}/{version}/"


class Publisher:
    def __init__(
        self,
        registry: Registry,
        artifacts: ArtifactStore,
        *,
        clock: Callable[[], str],
        trials: ChallengerTrials | None = None,
    ) -> None:
        self._registry = registry
        self._artifacts = artifacts
        self._clock = clock
        # Without it every model promotes directly, whatever its [challenger] mode says.
        self._trials = trials

    def publish(
        self,
        config: ModelConfig,
        candidate: Candidate,
        *,
        trigger: str,
        actor: str = "system",
        champion: ChampionAlias | None = None,
        job_id: str | None = None,
    ) -> RetrainOutcome:
        """Store a candidate, record it, and promote it if it passes the gate."""
        model, version = candidate.model, candidate.version
        prefix = artifact_prefix(model, version)
        # Artifacts first, registry row last: a version row always points at complete artifacts.
        for name, body in candidate.files.items():
            suffix = name[name.rfind(".") :]
            self._artifacts.put_bytes(
                prefix + name, body, CONTENT_TYPES.get(suffix, "application/octet-stream")
            )
        champion_metrics = dict(candidate.comparisons.get("champion", {})) if champion else None
        decision = promotion.decide(
            config.promotion, dict(candidate.metrics), champion_metrics, candidate.evidence
        )
        record = VersionRecord(
            model=model,
            version=version,
            number=version_number(version),
            status="candidate",
            created_at=self._clock(),
            trigger=trigger,
            artifact_prefix=prefix,
            artifacts=dict(candidate.artifacts),
            metrics=dict(candidate.metrics),
            data_sha256=candidate.data_sha256,
            parent_version=champion.version if champion else None,
            reason=decision.reason,
            threshold=candidate.threshold,
            rows_train=candidate.rows_train,
            extra={
                "feedback_rows": candidate.extra_rows,
                "champion_metrics": champion_metrics or {},
                "lineage": dict(candidate.lineage),
                "gate": {**decision.record(), "evidence": dict(candidate.evidence)},
                # Fresh labels kept out of training, scored beside the base split: reported,
                # never part of the decision above.
                **(
                    {"feedback_holdout": dict(candidate.feedback_holdout)}
                    if candidate.feedback_holdout
                    else {}
                ),
                **({"job_id": job_id} if job_id else {}),
            },
        )
        self._registry.put_version(record)
        mode = config.challenger.mode
        if decision.promote and champion is not None and self._trials and mode in TRIAL_MODES:
            # Passed offline: live traffic decides (service.trial_review), not this gate alone.
            trial = self._trials.start(
                config, record, champion, mode="shadow" if mode == "shadow" else "canary"
            )
            return RetrainOutcome(
                model,
                version,
                False,
                f"{decision.reason}; {trial.reason}",
                dict(candidate.metrics),
                champion_metrics,
                candidate.extra_rows,
                trial=mode,
            )
        if decision.promote:
            self._registry.promote(
                record,
                expected_revision=champion.revision if champion else None,
                event=PromotionEvent(
                    model,
                    version,
                    champion.version if champion else None,
                    self._clock(),
                    actor,
                    decision.reason,
                    "bootstrap" if champion is None else "promote",
                ),
            )
        else:
            self._registry.set_status(model, version, "rejected", decision.reason)
        log.info(
            "%s %s: %s (%s)",
            model,
            version,
            "promoted" if decision.promote else "rejected",
            decision.reason,
        )
        return RetrainOutcome(
            model,
            version,
            decision.promote,
            decision.reason,
            dict(candidate.metrics),
            champion_metrics,
            candidate.extra_rows,
        )
