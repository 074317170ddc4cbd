"""Feedback curation on fakes: provenance listings, exclusions (and their effect on training),
erasure with its audit entry."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pandas as pd
import pytest

from propensity.config import load_model_config
from propensity.errors import InvalidInputError, NotFoundError
from propensity.records import FeedbackCriteria, FeedbackExclusion, FeedbackRecord
from propensity.service import feedback_admin, quarantine
from propensity.service.feedback_admin import FeedbackCuration
from propensity.service.uploads import UploadService
from tests.support.fakes import FakeFeedbackStore
from tests.unit.service.conftest import World
from tests.unit.service.test_retrain_orchestrator import orchestrator, telecom_rows

NOW = "2026-12-02T06:00:00.000+00:00"


def curation(store: FakeFeedbackStore) -> FeedbackCuration:
    ids = (f"{n:032x}" for n in itertools.count(1))
    configs = {name: load_model_config(name) for name in ("bank", "telecom")}
    return FeedbackCuration(configs, store, clock=lambda: NOW, new_id=lambda: next(ids))


def add(
    store: FakeFeedbackStore,
    feedback_id: str,
    *,
    subject: str = "alice",
    source: str = "api",
    at: str = "2026-11-01T10:00:00.000+00:00",
    label: int = 1,
    model: str = "telecom",
) -> None:
    store.add(
        FeedbackRecord(
            feedback_id,
            model,
            label,
            {"calls": 40.0, "minutes": 311.9, "messages": 83.0, "mb_used": 19915.42},
            at,
            source=source,
            subject=subject,
        )
    )


@pytest.fixture
def store() -> FakeFeedbackStore:
    """Alice's API feedback over three days, Bob's from the dashboard, one chat item of Eve's."""
    store = FakeFeedbackStore()
    add(store, "a1", at="2026-11-01T10:00:00.000+00:00")
    add(store, "a2", at="2026-11-02T10:00:00.000+00:00", label=0)
    add(store, "a3", at="2026-11-03T10:00:00.000+00:00")
    add(store, "b1", subject="bob", source="dashboard", at="2026-11-02T12:00:00.000+00:00")
    add(store, "e1", subject="eve", source="chat", at="2026-11-02T23:30:00.000-02:00")
    add(store, "x1", model="bank", subject="alice")
    return store


def test_sources_count_items_per_subject_and_route_with_first_and_last_times(
    store: FakeFeedbackStore,
) -> None:
    # When an admin asks where telecom's feedback came from
    answer = curation(store).sources("telecom")
    # Then each (subject, source) is counted with its positives, first and last time
    assert answer["total"] == 5
    assert answer["sources"][0] == {
        "subject": "alice",
        "source": "api",
        "items": 3,
        "positives": 2,
        "first_at": "2026-11-01T10:00:00.000+00:00",
        "last_at": "2026-11-03T10:00:00.000+00:00",
    }
    assert {(r["subject"], r["source"], r["items"]) for r in answer["sources"][1:]} == {
        ("bob", "dashboard", 1),
        ("eve", "chat", 1),
    }


def test_listing_is_newest_first_by_moment_filtered_and_bounded(store: FakeFeedbackStore) -> None:
    service = curation(store)
    # When everything is listed: newest first by the moment, not by the text (eve's -02:00
    # item is 2026-11-03T01:30Z, after bob's and before alice's last)
    listed = service.items("telecom")
    assert [i["feedback_id"] for i in listed["items"]] == ["a3", "e1", "b1", "a2", "a1"]
    assert listed["items"][0]["features"]["calls"] == 40.0 and listed["items"][0]["y"] == 1
    # When filtered by subject and a window, and limited
    window = service.items(
        "telecom", subject="alice", since="2026-11-02", until="2026-11-03T10:00:00Z", limit=1
    )
    # Then only alice's item of that window shows (until is exclusive), and the total matching
    assert [i["feedback_id"] for i in window["items"]] == ["a2"]
    assert window["matching"] == 1 and window["count"] == 1
    assert window["criteria"]["since"] == "2026-11-02T00:00:00.000+00:00"
    # And by source
    assert [i["feedback_id"] for i in service.items("telecom", source="chat")["items"]] == ["e1"]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-01"}, "until"),
        ({"since": "2026-11-02", "until": "2026-11-02"}, "until"),
        ({"source": "fax"}, "source"),
        ({"subject": ""}, "subject"),
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
    ],
)
def test_bad_listing_criteria_are_refused_naming_the_field(
    store: FakeFeedbackStore, arguments: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        curation(store).items("telecom", **arguments)  # type: ignore[arg-type]
    assert refused.value.field == field


def test_an_exclusion_is_recorded_with_who_why_and_what_it_matches(
    store: FakeFeedbackStore,
) -> None:
    service = curation(store)
    # When ops excludes alice's feedback from 2 November on
    recorded = service.exclude(
        "telecom", subject="alice", since="2026-11-02T00:00:00Z", reason="bulk poison", actor="ops"
    )
    # Then the exclusion is stored as given, and says how many stored items it matches now
    assert recorded["criteria"] == {
        "subject": "alice",
        "source": None,
        "since": "2026-11-02T00:00:00.000+00:00",
        "until": None,
    }
    assert (recorded["created_by"], recorded["reason"], recorded["active"]) == (
        "ops",
        "bulk poison",
        True,
    )
    assert recorded["matches_now"] == 2
    assert list(store.exclusions) == [("telecom", recorded["exclusion_id"])]
    # And the listing shows it
    listed = service.exclusions("telecom")
    assert listed["active"] == 1 and listed["exclusions"] == [recorded]


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"reason": "nothing selected"}, "subject"),
        ({"subject": "alice", "reason": "   "}, "reason"),
        ({"subject": "alice", "reason": "x" * 501}, "reason"),
        ({"since": "2026-11-03", "until": "2026-11-01", "reason": "backwards"}, "until"),
    ],
)
def test_an_exclusion_without_criteria_or_reason_is_refused_and_not_stored(
    store: FakeFeedbackStore, arguments: dict[str, str], field: str
) -> None:
    with pytest.raises(InvalidInputError) as refused:
        curation(store).exclude("telecom", actor="ops", **arguments)
    assert refused.value.field == field
    assert store.exclusions == {}


def test_lifting_keeps_the_record_marked_and_is_idempotent(store: FakeFeedbackStore) -> None:
    # Given an active exclusion
    service = curation(store)
    recorded = service.exclude("telecom", source="chat", reason="chat mislabels", actor="ops")
    # When it is lifted, twice
    lifted = service.lift("telecom", recorded["exclusion_id"], actor="lead")
    again = service.lift("telecom", recorded["exclusion_id"], actor="someone-else")
    # Then the record stays, marked with who lifted it and when, the repeat changing nothing
    assert (lifted["active"], lifted["lifted_by"], lifted["lifted_at"]) == (False, "lead", NOW)
    assert again == lifted
    assert service.exclusions("telecom")["active"] == 0
    # And an unknown id, or another model's, is not found
    with pytest.raises(NotFoundError):
        service.lift("bank", recorded["exclusion_id"], actor="lead")


def test_screening_leaves_out_what_active_exclusions_match_and_counts_each() -> None:
    # Given alice's and bob's items, an exclusion of alice, an overlapping one of the api
    # route, and a lifted one of bob
    items = [
        FeedbackRecord("a1", "telecom", 1, {}, "2026-11-01T00:00:00+00:00", subject="alice"),
        FeedbackRecord("a2", "telecom", 0, {}, "2026-11-02T00:00:00+00:00", subject="alice"),
        FeedbackRecord("b1", "telecom", 1, {}, "2026-11-02T00:00:00+00:00", subject="bob"),
        FeedbackRecord(
            "b2", "telecom", 1, {}, "2026-11-02T00:00:00+00:00", subject="bob", source="chat"
        ),
    ]

    def exclusion(
        exclusion_id: str, criteria: FeedbackCriteria, **lifted: str
    ) -> FeedbackExclusion:
        return FeedbackExclusion(exclusion_id, "telecom", criteria, "r", "ops", NOW, **lifted)

    exclusions = [
        exclusion("e1", FeedbackCriteria(subject="alice")),
        exclusion("e2", FeedbackCriteria(source="api", until="2026-11-02T00:00:00.000+00:00")),
        exclusion("e3", FeedbackCriteria(subject="bob"), lifted_by="lead", lifted_at=NOW),
    ]
    # When screened
    kept, applied, excluded = quarantine.screen(items, exclusions)
    # Then only the active ones apply: alice's two items go (a1 matched by both), bob's stay
    assert [r.feedback_id for r in kept] == ["b1", "b2"]
    assert [(a.exclusion_id, a.removed) for a in applied] == [("e1", 2), ("e2", 1)]
    assert excluded == 2


def test_the_next_retrain_leaves_out_excluded_feedback_and_its_lineage_says_so(
    world: World, data_root: Path
) -> None:
    # Given 30 telecom feedback rows, 10 of them from a subject an admin then excludes
    rows = telecom_rows(data_root, 30)
    for i, row in enumerate(rows):
        label = int(row.pop("is_ultra"))
        world.feedback.submit(
            "telecom",
            label=label,
            features=row,
            idempotency_key=f"k{i}",
            subject="mallory" if i < 10 else "alice",
        )
    service = curation(world.feedback_store)
    recorded = service.exclude("telecom", subject="mallory", reason="poisoning", actor="ops")
    retrain = orchestrator(world, data_root)
    # When telecom is retrained
    outcome = retrain.retrain("telecom", trigger="admin")
    version = world.registry.get_version("telecom", outcome.version)
    # Then the version was trained on the 20 others, and its lineage names the exclusion
    lineage = version.extra["lineage"]
    assert lineage["feedback"]["items"] == 20 and lineage["feedback"]["excluded"] == 10
    assert lineage["exclusions"] == [{"exclusion_id": recorded["exclusion_id"], "removed": 10}]
    # And its data fingerprint is that of the screened set: the same as if mallory's items
    # had never been stored, and not that of all 30
    config = load_model_config("telecom")
    screened = retrain.training_set(config)
    assert version.data_sha256 == screened.fingerprint()
    assert set(screened.feedback.subject) == {"alice"}
    service.lift("telecom", recorded["exclusion_id"], actor="ops")
    everything = retrain.training_set(config)
    assert len(everything.feedback) == 30 and everything.exclusions == ()
    assert everything.fingerprint() != version.data_sha256


def test_an_exclusion_also_holds_back_the_uploads_of_its_subject(
    world: World, data_root: Path
) -> None:
    # Given two accepted uploads of labelled rows, one from a vendor an admin then excludes
    config = load_model_config("telecom")
    uploads = UploadService({"telecom": config}, world.artifacts, world.feedback_store)
    accepted = {}
    for subject, start in (("vendor-9", 100), ("ops", 200)):
        rows = pd.DataFrame(telecom_rows(data_root, 20, start=start))
        rows["is_ultra"] = rows["is_ultra"].astype(int)
        upload, _ = uploads.accept(
            "telecom", rows.to_csv(index=False).encode(), "rows.csv", subject=subject
        )
        accepted[subject] = upload
    service = curation(world.feedback_store)
    recorded = service.exclude("telecom", subject="vendor-9", reason="bad labels", actor="ops")
    # When telecom is retrained
    outcome = orchestrator(world, data_root).retrain("telecom", trigger="admin")
    lineage = world.registry.get_version("telecom", outcome.version).extra["lineage"]
    # Then only the other upload was trained on, and the lineage counts the one held back
    kept = accepted["ops"]
    assert lineage["uploads"] == [{"upload_id": kept.upload_id, "sha256": kept.sha256}]
    assert lineage["uploads_excluded"] == 1
    assert lineage["exclusions"] == [{"exclusion_id": recorded["exclusion_id"], "removed": 1}]


def test_erasure_deletes_the_subjects_items_and_audits_it_by_hash(
    store: FakeFeedbackStore,
) -> None:
    service = curation(store)
    # When alice's telecom feedback is erased
    erased = service.erase("telecom", "alice", reason="GDPR request 17", actor="dpo")
    # Then her three telecom items are gone, nobody else's, and not her bank item
    assert erased["deleted"] == 3 and erased["remaining"] == 0
    assert sorted(i for m, i in store.items if m == "telecom") == ["b1", "e1"]
    assert ("bank", "x1") in store.items
    # And the audit entry says who, when, why and how many, naming alice only by her hash
    (audit,) = store.list_erasures("telecom")
    assert audit.subject_sha256 == hashlib.sha256(b"alice").hexdigest()
    assert (audit.requested_by, audit.created_at, audit.reason) == ("dpo", NOW, "GDPR request 17")
    assert "alice" not in repr(audit)
    # When the request is repeated, it deletes nothing and is no error
    assert service.erase("telecom", "alice", reason="GDPR request 17", actor="dpo")["deleted"] == 0
    assert [e["deleted"] for e in service.erasures("telecom")["erasures"]] == [0, 3]


def test_a_large_erasure_goes_in_batches_saying_what_remains(
    store: FakeFeedbackStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a batch limit of 2 and alice's 3 items
    monkeypatch.setattr(feedback_admin, "ERASURE_BATCH", 2)
    service = curation(store)
    # When erased, then repeated
    first = service.erase("telecom", "alice", reason="r", actor="dpo")
    second = service.erase("telecom", "alice", reason="r", actor="dpo")
    # Then the first request says one remains, and the repeat deletes it
    assert (first["deleted"], first["remaining"]) == (2, 1)
    assert (second["deleted"], second["remaining"]) == (1, 0)
    assert not [i for m, i in store.items if m == "telecom" and i.startswith("a")]
