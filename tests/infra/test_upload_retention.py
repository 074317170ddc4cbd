"""Accepted uploads outlive the bucket's lifecycle rules; unfinished presigned uploads do not.

Every retrain reads every accepted upload. When the lifecycle rule expired ``uploads/`` after 7
days, every retrain of that model failed from then on. The keys checked here are the ones the
upload service really writes, against the rules as the template declares them.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from propensity.config import load_model_config
from propensity.local.template import load_template
from propensity.service.uploads import UploadService
from tests.support.fakes import FakeArtifacts, FakeFeedbackStore

RULES: list[dict[str, Any]] = load_template()["Resources"]["ArtifactsBucket"]["Properties"][
    "LifecycleConfiguration"
]["Rules"]


def expiring_rules(key: str) -> list[str]:
    """Ids of the enabled rules that would delete the current version of ``key``."""
    matching = []
    for rule in RULES:
        prefix = rule.get("Prefix", rule.get("Filter", {}).get("Prefix", ""))
        if (
            rule.get("Status") == "Enabled"
            and "ExpirationInDays" in rule
            and key.startswith(prefix)
        ):
            matching.append(rule["Id"])
    return matching


def test_accepted_uploads_never_expire_and_unfinished_ones_do(data_root: object) -> None:
    # Given the upload service writing a labelled CSV and handing out a presigned POST target
    config = load_model_config("telecom")
    artifacts = FakeArtifacts()
    presigned: list[str] = []

    class Incoming:
        def presigned_post(self, key: str, **_: object) -> tuple[str, dict[str, str]]:
            presigned.append(key)
            return "https://example.invalid/", {"key": key}

        def get_with_metadata(
            self, key: str, max_bytes: int | None = None
        ) -> tuple[bytes, dict[str, str]]:
            raise AssertionError("not read here")

    uploads = UploadService(
        {"telecom": config}, artifacts, FakeFeedbackStore(), incoming=Incoming()
    )
    rows = pd.DataFrame(
        {
            "calls": [40, 85],
            "minutes": [311.9, 516.7],
            "messages": [83, 56],
            "mb_used": [19915.42, 22696.96],
            "is_ultra": [0, 1],
        }
    )
    uploads.accept("telecom", rows.to_csv(index=False).encode(), "rows.csv")
    uploads.start_presigned("telecom", "0" * 64)
    # When the template's lifecycle rules are applied to those keys
    written = [key for key in artifacts.objects if key.endswith(".csv")]
    # Then the accepted file matches no expiring rule, and the unfinished target does
    assert written and all(expiring_rules(key) == [] for key in written)
    assert presigned and all(expiring_rules(key) for key in presigned)
