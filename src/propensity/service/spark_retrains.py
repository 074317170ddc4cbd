"""Retrains trained as Spark jobs: submitted by the retrain function, published on completion.

Submission (under the model's retrain lock, from ``RetrainOrchestrator``): the training set the
orchestrator read is stored for the job (``spark_requests``), the job is started through the
``SparkJobs`` port, and a run record (model, version, trigger, feedback to consume) is written
under ``spark-jobs/runs/<job run id>.json``: the version is pending.

Completion (EventBridge's job run state change, parsed at the edge into ``SparkJobFinished``):
a successful run's candidate is read back and published through the same gate and registry as
a candidate trained in the function; a failed or cancelled run is recorded with its state and
reason. A run record that is no longer "pending" makes a repeated event a no-op.

One run per model at a time: while the latest submitted run is pending, a retrain of the model
trains nothing and leaves its feedback pending (``pending_run``). Its version number is taken
only when the run's candidate is published, so a second run would be given the same number
and the same request prefix. A run pending past ``RUN_TIMEOUT`` (EMR Serverless cancels it by
then) lost its completion event and no longer holds the model.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any, Protocol

from propensity.clock import parse_iso
from propensity.config import ModelConfig
from propensity.errors import NotFoundError
from propensity.inputs import TrainingSet
from propensity.records import Candidate, ChampionAlias, RetrainOutcome, SparkJobFinished
from propensity.service.ports import ArtifactStore, JobStore, Registry, SparkJobs
from propensity.service.spark_requests import (
    latest_run_key,
    read_candidate,
    run_key,
    write_request,
)

log = logging.getLogger(__name__)

# ``adapters.emr_serverless`` submits every run with this execution timeout (EMR's own default).
RUN_TIMEOUT = timedelta(minutes=720)


class Publishes(Protocol):
    """The orchestrator's publishing step (``RetrainOrchestrator.publish``)."""

    def __call__(
        self,
        candidate: Candidate,
        *,
        trigger: str,
        actor: str = ...,
        champion: ChampionAlias | None = ...,
        consumed: int = ...,
        job_id: str | None = ...,
    ) -> RetrainOutcome: ...


def training_rows(data: TrainingSet) -> int:
    """Rows a version of ``data`` trains on, as the backend switch counts them: the base
    dataset's lines (header excluded) plus the feedback and upload rows."""
    raw = gzip.decompress(data.base) if data.base.startswith(b"\x1f\x8b") else data.base
    base = max(raw.count(b"\n") - 1, 0)
    uploads = sum(max(u.payload.count(b"\n") - 1, 0) for u in data.uploads)
    return base + len(data.feedback) + uploads


class SparkRetrains:
    def __init__(
        self,
        jobs: SparkJobs,
        artifacts: ArtifactStore,
        registry: Registry,
        *,
        clock: Callable[[], str],
        retrain_jobs: JobStore | None = None,
    ) -> None:
        self._jobs = jobs
        self._artifacts = artifacts
        self._registry = registry
        self._clock = clock
        self._retrain_jobs = retrain_jobs

    def submit(
        self,
        config: ModelConfig,
        data: TrainingSet,
        *,
        version: str,
        comparators: Mapping[str, tuple[str, str]],
        trigger: str,
        actor: str,
        consumed: int,
        job_id: str | None,
    ) -> RetrainOutcome:
        prefix = write_request(
            self._artifacts, config, data, version=version, comparators=comparators
        )
        run_id = self._jobs.submit(config.name, version, prefix)
        record = {
            "job_run_id": run_id,
            "model": config.name,
            "version": version,
            "prefix": prefix,
            "trigger": trigger,
            "actor": actor,
            "consumed": consumed,
            "job_id": job_id,
            "status": "pending",
            "submitted_at": self._clock(),
        }
        self._put_run(record)
        latest = json.dumps({"job_run_id": run_id}).encode()
        self._artifacts.put_bytes(latest_run_key(config.name), latest, "application/json")
        log.info("%s %s: spark job run %s submitted", config.name, version, run_id)
        reason = f"spark job run {run_id} submitted; {version} is published when it completes"
        return RetrainOutcome(config.name, version, False, reason, {}, None, 0, pending=True)

    def pending_run(self, model: str) -> dict[str, Any] | None:
        """The record of the model's latest run while it is pending and within RUN_TIMEOUT."""
        try:
            latest = json.loads(self._artifacts.get_bytes(latest_run_key(model)))
            record: dict[str, Any] = json.loads(
                self._artifacts.get_bytes(run_key(str(latest["job_run_id"])))
            )
        except NotFoundError:
            return None
        if record["status"] != "pending":
            return None
        submitted, now = parse_iso(str(record["submitted_at"])), parse_iso(self._clock())
        if submitted is not None and now is not None and now - submitted > RUN_TIMEOUT:
            log.warning(
                "%s: spark job run %s pending since %s, past the run timeout; no longer waited for",
                model,
                record["job_run_id"],
                record["submitted_at"],
            )
            return None
        return record

    def waiting(self, record: Mapping[str, Any]) -> RetrainOutcome:
        """The outcome of a retrain that waits for the model's pending run."""
        reason = (
            f"spark job run {record['job_run_id']} for {record['version']} (submitted "
            f"{record['submitted_at']}) is still running; the feedback stays pending for the "
            "retrain after it"
        )
        model, version = str(record["model"]), str(record["version"])
        return RetrainOutcome(model, version, False, reason, {}, None, 0, pending=True)

    def complete(self, event: SparkJobFinished, publish: Publishes) -> RetrainOutcome | None:
        """Publish a finished run's candidate (or record its failure); None when there is
        nothing (more) to do: an unknown run, or a run already completed."""
        try:
            record = json.loads(self._artifacts.get_bytes(run_key(event.job_run_id)))
        except NotFoundError:
            log.warning("spark job run %s is not one of ours; ignored", event.job_run_id)
            return None
        if record["status"] != "pending":
            log.info("spark job run %s is %s already; ignored", event.job_run_id, record["status"])
            return None
        model, version = str(record["model"]), str(record["version"])
        if not event.succeeded:
            detail = event.reason or "no reason given"
            reason = f"spark job run {event.job_run_id} {event.state}: {detail}"
            self._put_run({**record, "status": "failed", "state": event.state, "reason": reason})
            self._fail_retrain_job(model, record.get("job_id"), reason)
            log.warning("%s %s: %s", model, version, reason)
            return None
        candidate = read_candidate(self._artifacts, str(record["prefix"]))
        outcome = publish(
            candidate,
            trigger=str(record["trigger"]),
            actor=str(record["actor"]),
            champion=self._registry.get_champion(model),
            consumed=int(record["consumed"]),
            job_id=record.get("job_id") or f"spark:{event.job_run_id}",
        )
        self._put_run(
            {
                **record,
                "status": "promoted" if outcome.promoted else "rejected",
                "state": event.state,
                "reason": outcome.reason,
                "completed_at": self._clock(),
            }
        )
        return outcome

    def _put_run(self, record: dict[str, Any]) -> None:
        body = json.dumps(record, sort_keys=True).encode()
        self._artifacts.put_bytes(run_key(str(record["job_run_id"])), body, "application/json")

    def _fail_retrain_job(self, model: str, job_id: Any, reason: str) -> None:
        if self._retrain_jobs is None or not job_id:
            return
        job = self._retrain_jobs.get_job(model, str(job_id))
        failed = dataclasses.replace(job, status="failed", updated_at=self._clock(), reason=reason)
        self._retrain_jobs.update_job(failed)
