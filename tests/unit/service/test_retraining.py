"""Retraining on base data plus feedback, gated against the champion on the same rows."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pandas as pd

from tests.unit.service.conftest import World


def telecom_rows(data_root: Path, n: int) -> list[dict[str, float]]:
    # The numbers the file holds: pandas 3's default parser rounds exactly (pandas 2's fast one
    # was off by an ulp on some, which made them differ from the base rows the service parsed;
    # pandas 3.1 deprecates float_precision)
    frame = pd.read_csv(
        io.BytesIO(gzip.decompress((data_root / "users_behavior.csv.gz").read_bytes()))
    )
    return frame.head(n).to_dict("records")  # type: ignore[return-value]


def test_feedback_retrain_writes_a_version_and_promotes_it(world: World, data_root: Path) -> None:
    # Given honest feedback on 50 subscribers (10 of them held-out rows, which are left out)
    for i, row in enumerate(telecom_rows(data_root, 50)):
        label = int(row.pop("is_ultra"))
        world.feedback.submit("telecom", label=label, features=row, idempotency_key=f"k{i}")
    # When the model is retrained
    outcome = world.retrain.retrain("telecom", trigger="stream")
    # Then v2 exists with its artifacts, is champion, and the counter is consumed; of the other
    # 40 rows, those whose id hashes into the feedback hold-out are not trained on (and, copies
    # of base training rows, not scored either: no row is left to report on)
    assert (outcome.version, outcome.promoted) == ("v2", True)
    report = world.registry.get_version("telecom", "v2").extra["feedback_holdout"]
    copies = report["excluded"]["base_training_matches"]
    assert 0 < copies < 40 and outcome.feedback_rows + copies == 40
    assert (report["status"], report["rows"]) == ("too_few_rows", 0)
    assert world.registry.get_champion("telecom").version == "v2"  # type: ignore[union-attr]
    record = world.registry.get_version("telecom", "v2")
    assert record.parent_version == "v1" and record.trigger == "stream"
    assert {"scorecard.json", "metrics.json", "model.joblib", "model_card.md"} <= set(
        record.artifacts
    )
    assert "models/telecom/v2/scorecard.json" in world.artifacts.objects
    assert world.feedback_store.pending("telecom") == 0
    assert outcome.champion_metrics is not None and "roc_auc" in outcome.champion_metrics
    assert record.extra["lineage"]["held_out_matches_excluded"] == 10


def test_label_flipped_feedback_is_rejected_and_the_champion_stays(
    world: World, data_root: Path
) -> None:
    # Given feedback that contradicts the data (every label flipped) on 2,500 subscribers
    for i, row in enumerate(telecom_rows(data_root, 2500)):
        label = 1 - int(row.pop("is_ultra"))
        world.feedback.submit("telecom", label=label, features=row, idempotency_key=f"f{i}")
    # When retrained
    outcome = world.retrain.retrain("telecom", trigger="stream")
    # Then the candidate is kept but rejected, with the reason, and v1 keeps serving
    assert not outcome.promoted
    assert "below the champion" in outcome.reason or "collapsed" in outcome.reason
    record = world.registry.get_version("telecom", "v2")
    assert record.status == "rejected" and record.reason == outcome.reason
    assert world.registry.get_champion("telecom").version == "v1"  # type: ignore[union-attr]
    assert world.predictions.predict("telecom", {"calls": 85}).version == "v1"
    # The feedback was used: the counter is consumed even though v2 was rejected
    assert world.feedback_store.pending("telecom") == 0
