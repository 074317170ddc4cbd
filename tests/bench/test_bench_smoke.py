"""The benchmark smoke mode still runs end to end and writes both reports (no timings checked)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from propensity.local.template import REPO_ROOT

TOP_LEVEL_KEYS = {
    "generated_at",
    "mode",
    "machine",
    "stack_startup_s",
    "model",
    "cold_start",
    "warm",
    "per_row",
    "batch",
    "retrain",
    "package_sizes",
    "cost_per_million",
    "load",
    "runtimes",
    "targets",
    "bench_seconds",
}
TARGETS = {
    "cold_start_3x_faster",
    "cold_start_under_1_5_s",
    "warm_p50_5x_faster_like_for_like",
    "warm_p50_5x_faster_with_log",
    "scorer_10us_per_row",
    "scorer_5us_per_row",
    "warm_within_0_2_ms_of_the_floor",
    "retrain_package_20mib_spare",
    "load_run_zero_errors",
}


@pytest.mark.slow
def test_smoke_run_writes_both_reports(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]

    report = json.loads((tmp_path / "report.json").read_text())
    assert set(report) >= TOP_LEVEL_KEYS
    assert report["mode"] == "smoke"
    assert {"cpu", "cores", "memory_gib", "python"} <= set(report["machine"])
    for design in ("ours", "baseline", "floor"):
        assert {
            "to_first_response_s",
            "process_wall_s",
            "process_cpu_s",
            "imports_s",
            "init_s",
            "model_fetch_s",
            "first_request_s",
            "max_rss_mib",
        } <= set(report["cold_start"][design])
        assert {"median", "min", "max", "n"} <= set(report["cold_start"][design]["init_s"])
    for variant in ("ours_with_log", "ours_log_stubbed", "baseline", "floor"):
        assert {"p50", "p95", "p99"} <= set(report["warm"][variant]["request_ms"])
    assert "log_write_ms" in report["warm"]["ours_with_log"]
    assert "propensity" in report["warm"]["where_the_time_goes"]["own_time_us_per_request"]
    # The previous runtime beside ours: measured where a Python 3.11 exists, else says why
    runtimes = report["runtimes"]
    if runtimes["available"]:
        assert set(runtimes["warm_request_ms"]) == {"3.11", "3.13"}
        for by_design in runtimes["cold_to_first_response_s"].values():
            assert set(by_design) == {"ours", "floor"}
    else:
        assert "no Python 3.11" in runtimes["why"]
    assert {"ours_scorer_us", "baseline_predict_proba_one_row_df_us"} <= set(report["per_row"])
    assert set(report["batch"]["ours"]) == set(report["batch"]["baseline"])
    assert {"ours_cli", "baseline_predict_proba_whole_frame"} <= set(
        report["batch"]["cli_full_dataset"]
    )
    assert {"process_wall_s", "max_rss_mib"} <= set(report["retrain"])
    assert {"formula", "ours", "baseline"} <= set(report["cost_per_million"])
    assert {"requests", "errors", "requests_per_s", "latency_ms", "clients"} <= set(report["load"])
    assert report["load"]["requests"] > 0
    assert set(report["targets"]) == TARGETS

    markdown = (tmp_path / "report.md").read_text()
    for heading in (
        "## Targets",
        "## 1. Cold start",
        "## 2. Warm latency",
        "## 3. Batch throughput",
        "## 4. Retrain",
        "## 5. Package sizes",
        "## 6. Cost per million predictions",
        "## 7. Load run",
    ):
        assert heading in markdown
