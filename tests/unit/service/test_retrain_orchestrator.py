"""The retrain orchestrator's triggers: typed events, an isolated schedule, stale jobs, lineage."""

from __future__ import annotations

import gzip
import io
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest

from propensity.adapters.datasets import DirectoryDatasets
from propensity.config import load_model_config
from propensity.errors import DatasetError
from propensity.records import FeedbackCounted, RetrainJob, RetrainJobQueued
from propensity.service.catalog import ModelCatalog
from propensity.service.retraining import RetrainOrchestrator
from propensity.service.scheduled_runs import summary
from propensity.service.uploads import UploadService
from propensity.training.candidate import SklearnTrainer
from propensity.training.feedback_holdout import is_held_out
from tests.support.fakes import FakeArtifacts, FakeFeedbackStore, FakeRegistry
from tests.unit.service.conftest import World

NOW = "2026-12-02T06:00:00.000+00:00"


def telecom_rows(data_root: Path, n: int, start: int = 0) -> list[dict[str, float]]:
    frame = pd.read_csv(
        # pandas 3's default parser gives the file's numbers exactly, as the service parses them
        io.BytesIO(gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()))
    )
    return frame.iloc[start : start + n].to_dict("records")  # type: ignore[return-value]


def send_feedback(world: World, data_root: Path, n: int, start: int = 0) -> None:
    for i, row in enumerate(telecom_rows(data_root, n, start)):
        label = int(row.pop("is_ultra"))
        world.feedback.submit("telecom", label=label, features=row, idempotency_key=f"k{start + i}")


def send_fresh_feedback(world: World, data_root: Path, n: int, start: int = 0) -> list[str]:
    """Real subscribers' usage nudged off the base rows (new to every model), with their true
    labels; returns the stored feedback ids."""
    ids = []
    for i, row in enumerate(telecom_rows(data_root, n, start)):
        label = int(row.pop("is_ultra"))
        nudged = {**row, "minutes": row["minutes"] + 0.37, "mb_used": row["mb_used"] + 1.5}
        record, _ = world.feedback.submit(
            "telecom", label=label, features=nudged, idempotency_key=f"fresh{start + i}"
        )
        ids.append(record.feedback_id)
    return ids


class DatasetsBrokenFor(DirectoryDatasets):
    """The data root, except that one model's dataset cannot be read (a deleted object)."""

    def __init__(self, root: Path, broken_source: str) -> None:
        super().__init__(root)
        self._broken = broken_source

    def read(self, source: str) -> tuple[bytes, str]:
        if source == self._broken:
            raise DatasetError(self.location(source), "file not found")
        return super().read(source)


def orchestrator(world: World, data_root: Path, **overrides: object) -> RetrainOrchestrator:
    """The world's stores behind a fresh orchestrator (uploads and jobs wired, fixed clock)."""
    arguments: dict[str, object] = {
        "datasets": DirectoryDatasets(data_root),
        "trainer": SklearnTrainer(),
        "uploads": world.feedback_store,
        "jobs": world.feedback_store,
        "clock": lambda: NOW,
        "min_feedback": 1,
        **overrides,
    }
    configs = {name: load_model_config(name) for name in ("bank", "telecom")}
    return RetrainOrchestrator(
        configs,
        world.registry,
        world.artifacts,
        world.feedback_store,
        **arguments,  # type: ignore[arg-type]
    )


def test_a_broken_model_does_not_stop_the_schedule_for_the_others(
    world: World, data_root: Path, bank_config: object
) -> None:
    # Given feedback pending for both models, and bank's dataset gone from the store
    send_feedback(world, data_root, 40)
    world.feedback_store.counters["bank"] = 5
    broken = DatasetsBrokenFor(data_root, load_model_config("bank").dataset.source)
    # When the schedule runs
    runs = orchestrator(world, data_root, datasets=broken).run_schedule()
    # Then telecom is retrained, and bank's failure is reported on its own, naming the source
    by_model = {run.model: run for run in runs}
    assert by_model["telecom"].action == "schedule"
    assert by_model["telecom"].outcome is not None and by_model["telecom"].outcome.version == "v2"
    assert by_model["bank"].action == "failed" and by_model["bank"].outcome is None
    assert "bank-full.csv.gz" in str(by_model["bank"].error)
    assert summary(runs)["failures"] == 1
    # and bank's pending feedback is still pending for the next run
    assert world.feedback_store.pending("bank") == 5


def test_a_retrained_version_fingerprint_covers_its_feedback(world: World, data_root: Path) -> None:
    # Given v2 trained on 30 feedback rows, and v3 on the same rows plus one more
    send_feedback(world, data_root, 30)
    retrain = orchestrator(world, data_root)
    retrain.retrain("telecom", trigger="stream")
    send_feedback(world, data_root, 1, start=30)
    retrain.retrain("telecom", trigger="stream")
    v1, v2, v3 = (world.registry.get_version("telecom", v) for v in ("v1", "v2", "v3"))
    # Then every version names different training data
    assert len({v1.data_sha256, v2.data_sha256, v3.data_sha256}) == 3
    # and the lineage says what each was trained on
    assert v2.extra["lineage"]["feedback"]["items"] == 30
    assert v3.extra["lineage"]["feedback"]["items"] == 31
    assert v2.extra["lineage"]["base"]["sha256"] == v3.extra["lineage"]["base"]["sha256"]
    # and retraining the same inputs again gives the same fingerprint (it is not random)
    again = retrain.training_set(load_model_config("telecom")).fingerprint()
    assert again == v3.data_sha256


def test_an_uploaded_file_is_in_the_lineage_and_a_missing_one_fails_naming_it(
    world: World, data_root: Path
) -> None:
    # Given an accepted upload of 20 labelled rows
    rows = pd.DataFrame(telecom_rows(data_root, 20, start=100))
    rows["is_ultra"] = rows["is_ultra"].astype(int)
    uploads = UploadService(
        {"telecom": load_model_config("telecom")}, world.artifacts, world.feedback_store
    )
    upload, _ = uploads.accept("telecom", rows.to_csv(index=False).encode(), "rows.csv")
    retrain = orchestrator(world, data_root)
    # When retrained, the version's lineage names the upload by hash
    outcome = retrain.retrain("telecom", trigger="upload")
    lineage = world.registry.get_version("telecom", outcome.version).extra["lineage"]
    assert lineage["uploads"] == [{"upload_id": upload.upload_id, "sha256": upload.sha256}]
    # Given the stored file then disappears
    del world.artifacts.objects[UploadService.key("telecom", upload.upload_id)]
    # Then the next retrain fails naming it, rather than training without it
    with pytest.raises(DatasetError, match=upload.upload_id):
        retrain.retrain("telecom", trigger="stream")


def test_the_version_record_reports_the_feedback_hold_out_beside_the_base_split(
    world: World, data_root: Path
) -> None:
    # Given 300 fresh labelled rows as feedback
    ids = send_fresh_feedback(world, data_root, 300)
    share = load_model_config("telecom").evaluation.feedback_holdout_share
    held = sum(is_held_out(i, share) for i in ids)
    retrain = orchestrator(world, data_root)
    # When retrained
    v2 = world.registry.get_version("telecom", retrain.retrain("telecom", trigger="stream").version)
    # Then the version record carries the report: the held-out rows, and candidate, champion
    # and reference scored on them; the gate's evidence stays the base split's
    report = v2.extra["feedback_holdout"]
    assert report["status"] == "reported" and report["rows"] == held
    assert set(report["models"]) == {"candidate", "champion", "reference"}
    assert set(report["against"]) == {"champion", "reference"}
    assert report["used_by_gate"] is False and "feedback_holdout" not in v2.extra["gate"]
    assert v2.extra["gate"]["evidence"]["rows"] == 643  # the base held-out rows
    assert v2.extra["lineage"]["feedback_held_out_rows"] == held
    assert v2.extra["feedback_rows"] == 300 - held
    # And the public metrics history shows its headline next to the version's metrics
    configs = {m: retrain.config(m) for m in retrain.models}
    catalog = ModelCatalog(configs, world.registry, world.predictions, world.artifacts)
    shown = catalog.history("telecom", limit=5)["versions"][0]["feedback_holdout"]
    assert (shown["status"], shown["rows"]) == ("reported", held)
    assert shown["models"]["champion"]["roc_auc"] == report["models"]["champion"]["roc_auc"]
    # Given 150 more rows, when retrained again
    more = send_fresh_feedback(world, data_root, 150, start=300)
    v3 = world.registry.get_version("telecom", retrain.retrain("telecom", trigger="stream").version)
    # Then the rows held out before are held out still: only the new rows not held out were added
    held_more = sum(is_held_out(i, share) for i in more)
    assert v3.extra["feedback_holdout"]["rows"] == held + held_more
    assert v3.rows_train - v2.rows_train == 150 - held_more


def test_typed_events_drive_the_retrain(world: World, data_root: Path) -> None:
    retrain = orchestrator(world, data_root)
    # Given the counter below min_feedback, a FeedbackCounted event does nothing
    assert retrain.handle(FeedbackCounted("telecom")) is None
    # Given feedback pending, it retrains once
    send_feedback(world, data_root, 10)
    outcome = retrain.handle(FeedbackCounted("telecom"))
    assert outcome is not None and outcome.version == "v2"
    # And a queued job is carried out once: a redelivery is ignored
    world.feedback_store.put_job(RetrainJob("j1", "telecom", "queued", NOW, "alice"))
    done = retrain.handle(RetrainJobQueued("telecom", "j1"))
    assert isinstance(done, RetrainJob) and (done.status, done.version) == ("succeeded", "v3")
    assert retrain.handle(RetrainJobQueued("telecom", "j1")) is None


def test_the_schedule_fails_jobs_left_running_past_the_timeout(
    world: World, data_root: Path
) -> None:
    # Given a job "running" since 20 minutes ago (its function was cut off) and one since 2
    stale = RetrainJob("old", "telecom", "running", "2026-12-02T05:40:00.000+00:00", "alice")
    fresh = RetrainJob("new", "telecom", "running", "2026-12-02T05:58:00.000+00:00", "bob")
    for job in (stale, replace(stale, updated_at=stale.requested_at), fresh):
        world.feedback_store.jobs[(job.model, job.job_id)] = job
    # When the schedule runs with a 900 s retrain timeout
    runs = orchestrator(world, data_root, job_timeout_seconds=900).run_schedule()
    # Then only the stale job is failed, with the reason, and the run says so
    assert world.feedback_store.get_job("telecom", "old").status == "failed"
    assert "900 s" in world.feedback_store.get_job("telecom", "old").reason
    assert world.feedback_store.get_job("telecom", "new").status == "running"
    assert {run.model: run.expired_jobs for run in runs}["telecom"] == ["old"]


def test_a_model_is_configured_or_unknown(world: World, data_root: Path) -> None:
    retrain = RetrainOrchestrator(
        {},
        FakeRegistry(),
        FakeArtifacts(),
        FakeFeedbackStore(),
        datasets=DirectoryDatasets(data_root),
        trainer=SklearnTrainer(),
    )
    with pytest.raises(Exception, match="unknown model 'telecom'"):
        retrain.retrain("telecom", trigger="stream")
