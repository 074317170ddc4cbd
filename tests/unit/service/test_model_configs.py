"""The ModelConfigSource (packaged + stored configs, re-read on an interval) and ModelAdmin's
add and archive, over in-memory ports with an injected clock."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from propensity.config import load_model_config
from propensity.errors import (
    ConflictError,
    InvalidInputError,
    ModelArchivedError,
    UnknownModelError,
)
from propensity.records import ModelCatalogue
from propensity.service.model_admin import DatasetInput, ModelAdmin, parse_config
from propensity.service.model_configs import ModelConfigs
from tests.support.fakes import FakeFeedbackStore, FakeModelConfigStore
from tests.unit.service.conftest import FakeClock

CHAT_MODEL = Path(__file__).resolve().parents[2] / "support" / "chat_model"
CONFIG = (CHAT_MODEL / "churn.toml").read_text()
DATASET = (CHAT_MODEL / "churn.csv").read_bytes()


def world() -> tuple[ModelConfigs, ModelAdmin, FakeModelConfigStore, FakeClock, list[str]]:
    store, clock = FakeModelConfigStore(), FakeClock()
    stale: list[str] = []
    configs = ModelConfigs(
        {"telecom": load_model_config("telecom")},
        store,
        refresh_seconds=60,
        clock=clock,
        on_stale=stale.append,
    )
    return configs, ModelAdmin(configs, store, FakeFeedbackStore()), store, clock, stale


def test_a_model_added_elsewhere_is_served_after_the_refresh_interval_and_not_before() -> None:
    # Given a warm container that has read the catalogue, and another admin container that adds
    # churn (its own source re-reads after its write)
    served, _, store, clock, _ = world()
    assert served.names() == ["telecom"]
    other = ModelAdmin(
        ModelConfigs({"telecom": load_model_config("telecom")}, store), store, FakeFeedbackStore()
    )
    other.add("churn", CONFIG, DatasetInput(csv=DATASET), actor="ops")
    # Then the warm container lists it only once its interval has passed
    assert served.names() == ["telecom"]
    clock.now += 60
    assert served.names() == ["churn", "telecom"]
    assert served.get("churn").dataset.source.startswith("added/churn/")


def test_an_unknown_name_reads_the_catalogue_at_once_but_at_most_once_a_second() -> None:
    # Given a container that read the catalogue before churn was added
    served, _, store, clock, _ = world()
    served.names()
    ModelAdmin(ModelConfigs({}, store), store, FakeFeedbackStore()).add(
        "churn", CONFIG, DatasetInput(csv=DATASET), actor="ops"
    )
    reads = store.reads
    # When a job for churn arrives within the same second as that read: not yet looked for
    with pytest.raises(UnknownModelError):
        served.get("churn")
    clock.now += 1
    # Then a second later the miss reads the catalogue again and finds it
    assert served.get("churn").name == "churn"
    # And names that cannot be models, or repeated misses, read nothing more
    after = store.reads
    for name in ("NOT A NAME", "nosuch", "nosuch"):
        with pytest.raises(UnknownModelError):
            served.get(name)
    assert store.reads - reads <= 2 and store.reads - after <= 1


def test_a_stored_config_never_replaces_a_packaged_one() -> None:
    # Given a catalogue edited by hand to hold a "telecom" entry
    served, admin, store, clock, _ = world()
    admin.add("churn", CONFIG, DatasetInput(csv=DATASET), actor="ops")
    entry = store.catalogue.stored["churn"]
    forged = {**store.catalogue.stored, "telecom": entry}
    store.catalogue = ModelCatalogue(forged, {}, store.catalogue.revision)
    clock.now += 60
    # Then telecom is still the packaged config
    assert served.get("telecom") == load_model_config("telecom")
    # And the admin route refuses the name before reading anything
    with pytest.raises(ConflictError, match="packaged"):
        admin.add(
            "telecom",
            CONFIG.replace('"churn"', '"telecom"'),
            DatasetInput(csv=DATASET),
            actor="ops",
        )


def test_a_tampered_config_or_an_unreachable_store_keeps_the_configs_read_before() -> None:
    # Given churn served
    served, admin, store, clock, stale = world()
    admin.add("churn", CONFIG, DatasetInput(csv=DATASET), actor="ops")
    before = served.get("churn")
    # When its stored bytes no longer match the catalogue's SHA-256 (a fresh reader refuses it)
    key = next(k for k in store.objects if k.startswith("configs/churn/"))
    store.objects[key] = store.objects[key].replace(b'"n_bins": 4', b'"n_bins": 9')
    fresh_stale: list[str] = []
    fresh = ModelConfigs({}, store, on_stale=fresh_stale.append)
    with pytest.raises(UnknownModelError):
        fresh.get("churn")
    assert "churn" in fresh_stale
    # Then a container that had it serves on (its configs are cached by hash), and when the
    # store is unreachable it serves what it read, reporting the failed re-read
    store.fail = True
    clock.now += 60
    assert served.get("churn") == before
    assert stale == ["catalogue"]


def test_an_archived_model_is_refused_with_who_and_why_but_stays_known() -> None:
    served, admin, _, _, _ = world()
    admin.add("churn", CONFIG, DatasetInput(csv=DATASET), actor="ops")
    # When it is archived, twice
    first, created = admin.archive("churn", actor="ana", reason="campaign over")
    again, created_again = admin.archive("churn", actor="bob")
    # Then the first archival is the record, and the model is refused but known
    assert created and not created_again and again == first
    with pytest.raises(ModelArchivedError, match="archived by ana") as refused:
        served.get("churn")
    assert refused.value.reason == "campaign over"
    assert served.known("churn").name == "churn"
    assert "churn" not in served and served.names() == ["telecom"]
    # And its name cannot be added again
    with pytest.raises(ConflictError, match="archived"):
        admin.add("churn", CONFIG, DatasetInput(csv=DATASET), actor="ops")


def test_a_lost_race_on_the_catalogue_is_retried_and_neither_add_is_lost() -> None:
    # Given a catalogue another admin changes between this admin's read and its write
    _, admin, store, _, _ = world()
    writes = store.write_catalogue
    raced = {"done": False}

    def write_after_a_rival(catalogue: ModelCatalogue) -> None:
        if not raced["done"]:
            raced["done"] = True
            rival = ModelConfigs({}, store)
            ModelAdmin(rival, store, FakeFeedbackStore()).add(
                "churn2",
                CONFIG.replace('name = "churn"', 'name = "churn2"'),
                DatasetInput(csv=DATASET),
                actor="rival",
            )
        writes(catalogue)

    store.write_catalogue = write_after_a_rival  # type: ignore[method-assign]
    # When this admin adds churn
    added = admin.add("churn", CONFIG, DatasetInput(csv=DATASET), actor="ops")
    # Then both models are in the catalogue
    assert added.created
    assert sorted(store.catalogue.stored) == ["churn", "churn2"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("[estimator]\n", "[estimator]\ncv_folds = 1\n"), "config.estimator.cv_folds"),
        (("[target]\ncolumn", "[target]\ncolum"), "config.target.column"),
        (('numeric = ["tenure"', 'numeric = [3, "tenure"'), "config.features.numeric.0"),
        (('title = "', 'titl = "'), "config.title"),
        (("[dataset]", "[dataset"), "config"),
    ],
)
def test_a_config_error_names_the_toml_field_path(change: tuple[str, str], field: str) -> None:
    with pytest.raises(InvalidInputError) as refused:
        parse_config(CONFIG.replace(*change))
    assert refused.value.field == field


def test_a_presigned_dataset_must_be_the_file_announced() -> None:
    _, admin, store, _, _ = world()
    digest = hashlib.sha256(DATASET).hexdigest()
    ticket = admin.start_dataset_upload("churn", digest)
    # Given the posted file differs from the one announced (cut short)
    store.objects[f"incoming/churn/{ticket['upload_id']}"] = DATASET[:-200]
    with pytest.raises(InvalidInputError) as refused:
        admin.add("churn", CONFIG, DatasetInput(upload_id=str(ticket["upload_id"])), actor="ops")
    assert refused.value.field == "dataset.upload_id"
    # When the announced file is posted, the add takes it
    store.objects[f"incoming/churn/{ticket['upload_id']}"] = DATASET
    added = admin.add("churn", CONFIG, DatasetInput(upload_id=digest[:32]), actor="ops")
    assert added.dataset_sha256 == digest and added.rows == 400
