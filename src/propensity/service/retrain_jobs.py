"""Admin retrain requests as jobs: carried out once, resumed when their outcome was lost, and
marked failed (with the reason) when their function stopped before recording one."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from datetime import timedelta

from propensity.clock import parse_iso, utc_now
from propensity.errors import PropensityError, RetrainBusyError
from propensity.records import RetrainJob, RetrainOutcome
from propensity.service.ports import JobStore

log = logging.getLogger(__name__)

# (model, actor, job id) → the version trained for it: ``RetrainOrchestrator.retrain``.
Retrain = Callable[[str, str, str], RetrainOutcome]


class RetrainJobs:
    def __init__(
        self,
        jobs: JobStore,
        retrain: Retrain,
        *,
        timeout: timedelta,
        clock: Callable[[], str],
    ) -> None:
        self._jobs = jobs
        self._retrain = retrain
        self._timeout = timeout
        self._clock = clock

    def run(self, model: str, job_id: str) -> RetrainJob | None:
        """Carry out an admin retrain request once; a repeated delivery of a finished job is
        ignored.

        A failed retrain marks the job failed with the reason (and is not retried); a busy model
        leaves it queued and raises, so the stream delivers it again later. A job still
        "running" when it is delivered again lost its outcome (a storage fault, a timeout): it
        is resumed, and the retrain (given the job id) returns the version it recorded instead
        of training a second one.
        """
        job = self._jobs.get_job(model, job_id)
        if job.status not in ("queued", "running"):
            log.info("job %s of %s is %s already; duplicate ignored", job_id, model, job.status)
            return None
        self._jobs.update_job(dataclasses.replace(job, status="running", updated_at=self._clock()))
        try:
            outcome = self._retrain(model, job.requested_by, job_id)
        except RetrainBusyError:
            self._jobs.update_job(dataclasses.replace(job, updated_at=self._clock()))
            raise
        except PropensityError as exc:
            return self._fail(job, str(exc))
        except Exception as exc:
            # Not a domain error (a bug, a library failure): the job must not stay "running".
            self._fail(job, f"internal error ({type(exc).__name__})")
            raise
        done = dataclasses.replace(
            job,
            status="succeeded",
            updated_at=self._clock(),
            version=outcome.version,
            promoted=outcome.promoted,
            reason=outcome.reason,
        )
        self._jobs.update_job(done)
        return done

    def expire_stale(self, model: str) -> list[str]:
        """Mark failed, with the reason, every job still "running" past the retrain timeout: its
        function was stopped (timeout, crash) before it could record an outcome."""
        now = parse_iso(self._clock()) or utc_now()
        expired = []
        for job in self._jobs.list_jobs(model):
            if job.status != "running":
                continue
            started = parse_iso(job.updated_at or job.requested_at)
            if started is not None and now - started <= self._timeout:
                continue
            seconds = int(self._timeout.total_seconds())
            self._fail(job, f"no outcome recorded within the retrain timeout ({seconds} s)")
            expired.append(job.job_id)
        return expired

    def _fail(self, job: RetrainJob, reason: str) -> RetrainJob:
        failed = dataclasses.replace(job, status="failed", updated_at=self._clock(), reason=reason)
        self._jobs.update_job(failed)
        return failed
