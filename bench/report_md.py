"""``report.md``: the full report rendered from ``report.json``'s dict."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from bench.common import (
    ratio,
)

# --- markdown ------------------------------------------------------------------------------------


def _f(value: Any, digits: int = 2) -> str:
    if isinstance(value, float):
        if math.isinf(value):
            return "∞"
        return f"{value:,.{digits}f}"
    return str(value)


def _mmm(stats: Mapping[str, float], scale: float = 1.0, digits: int = 2) -> str:
    return (
        f"{_f(stats['median'] * scale, digits)} "
        f"({_f(stats['min'] * scale, digits)}–{_f(stats['max'] * scale, digits)})"
    )


COLD_NOTE = """What was profiled and changed (`-X importtime`, cProfile of the handler's
init): the predict function no longer imports the routers it does not serve (admin, feedback
and their services: `api/app.py` imports them only when `/openapi.json` is first built), shares
one DynamoDB client between the registry and the prediction log, builds the pydantic settings
schema only for the function's own settings class (`defer_build`), and the wiring imports the
feedback/admin/retrain pieces inside their own functions. No numpy/pandas/scikit-learn is
imported (tests/bench/test_predict_imports.py). What remains is mostly not ours: FastAPI's
import (its OpenAPI pydantic models alone are ~0.2 s), boto3 + botocore (including the service
models, endpoint rules and the 1.2 MB `endpoints.json` it parses when the clients are made),
Mangum (asyncio) and pydantic-settings: the floor column. Of ours, the largest are the
predict routes' FastAPI/pydantic definitions and the model-config and schema pydantic models
(the chat reader is imported on the first chat request)."""


SCORER_NOTE = """The scorer is already one pass over a precompiled per-feature plan (flat tuples,
no attribute lookups, no per-row allocation beyond the two per-feature lists and the `Score`,
built without the frozen dataclass's per-field `object.__setattr__` calls); what remains is
CPython's bytecode for about 15 dict lookups, type checks and additions per row. When this
table shows up, the run was slower than 10 µs/row: compare the CPU time per row above (the
machine's other load inflates wall time)."""


def runtimes_markdown(runtimes: Mapping[str, Any] | None) -> list[str]:
    """The 3.11 against 3.13 table (bench/runtimes.py), or why it is missing."""
    if not runtimes:
        return []
    lines = ["", "### Python 3.11 against 3.13 (the same handlers, same run)", ""]
    if not runtimes.get("available"):
        return [*lines, f"Not measured: {runtimes.get('why')}."]
    lines += [
        runtimes["note"],
        "",
        "| Python | cold ours (s) | cold floor (s) | warm p50 ours (ms) | warm p50 floor (ms) |",
        "|---|---|---|---|---|",
    ]
    for python, cold in runtimes["cold_to_first_response_s"].items():
        warm = runtimes["warm_request_ms"][python]
        lines.append(
            f"| {python} | {_f(cold['ours']['median'], 3)} | {_f(cold['floor']['median'], 3)} "
            f"| {_f(warm['ours']['p50'], 3)} | {_f(warm['floor']['p50'], 3)} |"
        )
    return lines


def _shadow_lines(shadow: Mapping[str, Any] | None) -> list[str]:
    """Warm p50 with a shadow challenger loaded against none, measured in the same run."""
    if not shadow:
        return []
    none, with_shadow = (
        shadow["no_challenger"]["request_ms"],
        shadow["shadow_challenger"]["request_ms"],
    )
    return [
        "### With a shadow challenger (bench/shadow.py)",
        "",
        "| predict handler | p50 ms | p95 ms | p99 ms |",
        "|---|---:|---:|---:|",
        f"| no challenger | {_f(none['p50'], 3)} | {_f(none['p95'], 3)} | {_f(none['p99'], 3)} |",
        f"| shadow challenger | {_f(with_shadow['p50'], 3)} | {_f(with_shadow['p95'], 3)} "
        f"| {_f(with_shadow['p99'], 3)} |",
        "",
        f"Shadow over none (p50): **{_f(shadow['shadow_over_none_p50_ms'], 3)} ms** "
        f"({shadow['requests']:,} requests each). {shadow['note']}",
        "",
    ]


def render_markdown(r: Mapping[str, Any]) -> str:
    m = r["machine"]
    cold, warm, per_row, batch = r["cold_start"], r["warm"], r["per_row"], r["batch"]
    lines = [
        "# propensity benchmark: our predict path vs the usual sklearn-on-Lambda design",
        "",
        f"Generated {r['generated_at']} by `python -m bench.run"
        f"{' --smoke' if r['mode'] == 'smoke' else ''}` (mode **{r['mode']}**, "
        f"{r['bench_seconds']:.0f} s). Medians with (min–max) over repeated runs. "
        "Baseline = `bench/baseline_handler.py` (FastAPI + Mangum, pandas + scikit-learn + "
        "joblib at module level, `model.joblib` from the same local S3, one-row DataFrame → "
        "`predict_proba`). Same model (bank v1), same inputs, same run.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, "
        f"scikit-learn {m['scikit_learn']}, pandas {m['pandas']}. AWS is emulated by moto server "
        f"on 127.0.0.1 (stack start-up incl. bootstrap training: {r['stack_startup_s']:.1f} s).",
        "",
        "## Targets",
        "",
        "| target | measured | met |",
        "|---|---|---|",
    ]
    for name, t in r["targets"].items():
        met = {True: "met", False: "**missed**", None: "n/a"}[t.get("met")]
        lines.append(f"| {name} ({t.get('target', '')}) | {_f(t.get('measured', '—'))} | {met} |")
    lines += [
        "",
        f"## 1. Cold start (fresh `python -c` process, × {cold['ours']['process_wall_s']['n']} "
        "per design, in turn)",
        "",
        "Spawn → first response is the cold start as Lambda has it (runtime start, init, first "
        "invocation) and what the targets use; process wall adds the interpreter's exit "
        "(module teardown), which Lambda never waits for; CPU is the child's user + system "
        "time (less sensitive than wall time to other load on the machine). Imports = the "
        "handler's dependencies; init = executing the handler module (settings, clients, "
        "model fetch + parse); model fetch = S3 get + parse (ours: the champion cache preload "
        "incl. the registry read; baseline: S3 get + `joblib.load`); first request = the "
        "`events/predict-bank.json` event. Floor = `bench/floor_handler.py`: the same "
        "frameworks and AWS clients as ours (FastAPI, Mangum, pydantic-settings, powertools, "
        "boto3 S3 + DynamoDB) with no code or model of ours, one route, no AWS call.",
        "",
        "| seconds | ours | baseline | baseline / ours | floor | ours − floor |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (
        ("to_first_response_s", "**spawn → first response**"),
        ("process_wall_s", "process wall (incl. exit)"),
        ("process_cpu_s", "process CPU (incl. exit)"),
        ("in_process_s", "in process (imports + init + first request)"),
        ("imports_s", "imports"),
        ("init_s", "init"),
        ("model_fetch_s", "model fetch"),
        ("first_request_s", "first request"),
    ):
        ours_m, floor_m = cold["ours"][key]["median"], cold["floor"][key]["median"]
        ratio_value = ratio(cold["baseline"][key]["median"], ours_m)
        lines.append(
            f"| {label} | {_mmm(cold['ours'][key], 1, 3)} | {_mmm(cold['baseline'][key], 1, 3)} "
            f"| {_f(ratio_value, 1)}× | {_mmm(cold['floor'][key], 1, 3)} "
            f"| {_f(ours_m - floor_m, 3)} |"
        )
    lines.append(
        f"| peak RSS (MiB) | {_mmm(cold['ours']['max_rss_mib'], 1, 0)} | "
        f"{_mmm(cold['baseline']['max_rss_mib'], 1, 0)} | | "
        f"{_mmm(cold['floor']['max_rss_mib'], 1, 0)} | |"
    )
    profile = cold["import_profile"]
    lines += [
        "",
        "Costliest imports (one run each under `-X importtime`, cumulative ms; depth 0 = "
        "imported by the handler, 1 = by those; the tool's own overhead inflates them):",
        "",
        "| ours | ms | baseline | ms |",
        "|---|---|---|---|",
    ]
    for a, b in zip(
        profile["ours"]["top_cumulative"], profile["baseline"]["top_cumulative"], strict=False
    ):
        lines.append(
            f"| {'  ' * a['depth']}`{a['module']}` | {_f(a['cumulative_ms'], 0)} "
            f"| {'  ' * b['depth']}`{b['module']}` | {_f(b['cumulative_ms'], 0)} |"
        )
    own = profile["ours"]
    lines += [
        "",
        f"Our own modules (`propensity.*`) account for {_f(own['own_modules_self_total_ms'], 0)} "
        f"ms of the {_f(own['all_self_total_ms'], 0)} ms spent importing (self time, same run); "
        "the costliest:",
        "",
        "| module | self ms |",
        "|---|---|",
        *(f"| `{e['module']}` | {_f(e['self_ms'], 1)} |" for e in own["own_modules_self"]),
        "",
        COLD_NOTE,
    ]
    lines += [
        "",
        f"## 2. Warm latency per request ({warm['requests']:,} requests, bank rows, in process)",
        "",
        warm["note"],
        "",
        "| ms | p50 | p95 | p99 | mean |",
        "|---|---|---|---|---|",
    ]
    for key, label in (
        ("ours_with_log", "ours (real handler, with DynamoDB log write)"),
        ("ours_log_stubbed", "ours, log write stubbed"),
        ("baseline", "baseline"),
        ("floor", "floor: one bare FastAPI + Mangum route"),
    ):
        s = warm[key]["request_ms"]
        lines.append(
            f"| {label} | {_f(s['p50'], 3)} | {_f(s['p95'], 3)} | {_f(s['p99'], 3)} "
            f"| {_f(s['mean'], 3)} |"
        )
    s = warm["ours_with_log"]["log_write_ms"]
    lines += [
        f"| of which the log write (ours, moto) | {_f(s['p50'], 3)} | {_f(s['p95'], 3)} "
        f"| {_f(s['p99'], 3)} | {_f(s['mean'], 3)} |",
        "",
        f"p50 ratio baseline / ours: **{_f(warm['ratio_p50_like_for_like'], 1)}×** like for like "
        f"(no log in either), {_f(warm['ratio_p50_with_log'], 1)}× with our log write included. "
        f"Logged item ≈ {warm['log_item_bytes']} bytes → {warm['log_item_wru']} WRU.",
        "",
        f"Ours over the floor (p50, log stubbed): **{_f(warm['ours_over_floor_p50_ms'], 3)} ms** "
        "(target ≤ 0.2 ms). Where a request's time goes (cProfile own time, µs per request over "
        f"{warm['where_the_time_goes']['requests']:,} requests; profiling inflates all alike):",
        "",
        "| package | µs / request |",
        "|---|---|",
        *(
            f"| {name} | {_f(us, 1)} |"
            for name, us in warm["where_the_time_goes"]["own_time_us_per_request"].items()
        ),
        "",
        "Our top functions: "
        + "; ".join(
            f"`{t['function']}` {_f(t['us_per_request'], 1)} µs"
            for t in warm["where_the_time_goes"]["our_top_functions_us"]
        )
        + ".",
        "",
        *_shadow_lines(r.get("shadow")),
        "### Per row, without HTTP",
        "",
        "| µs per row | median (min–max) | rows × repeats |",
        "|---|---|---|",
        f"| ours: `Scorer.score` | {_mmm(per_row['ours_scorer_us'])} "
        f"(CPU {_f(per_row['ours_scorer_us']['cpu_median'])}) | "
        f"{per_row['ours_scorer_us']['rows']:,} × {per_row['ours_scorer_us']['repeats']} |",
        f"| baseline: `predict_proba(DataFrame([row]))` | "
        f"{_mmm(per_row['baseline_predict_proba_one_row_df_us'], 1, 1)} | "
        f"{per_row['baseline_predict_proba_one_row_df_us']['rows']:,} × "
        f"{per_row['baseline_predict_proba_one_row_df_us']['repeats']} |",
        "",
        f"Ratio: {_f(per_row['ratio_median'], 0)}×.",
    ]
    if "profile_top_by_tottime" in per_row:
        lines += [
            "",
            "The scorer misses 10 µs/row; cProfile over 5,000 rows (profiler overhead inflates "
            "the absolute numbers):",
            "",
            "| function | calls per row | tottime µs/row | cumtime µs/row |",
            "|---|---|---|---|",
        ]
        for p in per_row["profile_top_by_tottime"]:
            lines.append(
                f"| `{p['function']}` | {_f(p['calls_per_row'], 0)} "
                f"| {_f(p['tottime_us_per_row'])} | {_f(p['cumtime_us_per_row'])} |"
            )
        lines += ["", SCORER_NOTE]
    lines += runtimes_markdown(r.get("runtimes"))
    lines += [
        "",
        "## 3. Batch throughput (`POST /models/bank/predict/batch` through the handler)",
        "",
        batch["note"] + ".",
        "",
        "| rows | ours rows/s | of which log write (s) | ours rows/s excl. log "
        "| baseline rows/s | ours / baseline |",
        "|---|---|---|---|---|---|",
    ]
    for size, entry in batch["ours"].items():
        lines.append(
            f"| {int(size):,} | {_mmm(entry['rows_per_s'], 1, 0)} | "
            f"{_mmm(entry['log_write_s'], 1, 3)} | "
            f"{_mmm(entry['rows_per_s_excl_log'], 1, 0)} | "
            f"{_mmm(batch['baseline'][size]['rows_per_s'], 1, 0)} | "
            f"{_f(batch['ratio_rows_per_s_median'][size], 2)}× |"
        )
    cli = batch["cli_full_dataset"]
    whole = cli["baseline_predict_proba_whole_frame"]
    lines += [
        "",
        f"Full bank dataset ({cli['ours_cli']['rows']:,} rows): `propensity predict` (a fresh "
        "process: start-up, CSV read, scoring with reasons, CSV write) "
        f"{_mmm(cli['ours_cli']['rows_per_s'], 1, 0)} rows/s, "
        f"{_mmm(cli['ours_cli']['process_wall_s'])} s; "
        f"`pipeline.predict_proba` on the whole DataFrame ({whole['note']}) "
        f"{_mmm(whole['rows_per_s'], 1, 0)} rows/s.",
    ]
    rt = r["retrain"]
    lines += [
        "",
        "## 4. Retrain (bank + 1,000 feedback rows)",
        "",
        f"{rt['how']}. Training rows {rt['rows_train']:,} (of which extra {rt['rows_extra']:,}).",
        "",
        f"- process wall: {_mmm(rt['process_wall_s'])} s "
        f"(train + render: {_mmm(rt['train_and_render_s'])} s)",
        f"- peak memory: {_mmm(rt['max_rss_mib'], 1, 0)} MiB (RetrainFunction has 3,008 MB)",
        "",
        "## 5. Package sizes (unzipped, from `make sam-check`)",
        "",
    ]
    sizes = r["package_sizes"]
    if not sizes.get("available"):
        lines.append("run make sam-check first")
    else:
        lines += [
            f"From `{sizes['source']}`, written by `make sam-check` at {sizes['built_at']} "
            "(not rebuilt by the benchmark).",
            "",
            "| package | MiB | headroom under 250 MiB |",
            "|---|---|---|",
        ]
        for name, mib in sizes["layers_mib"].items():
            lines.append(f"| layer {name} | {_f(mib)} | |")
        for name, spec in sizes["functions"].items():
            lines.append(
                f"| {name} + {' + '.join(spec['layers'])} | {_f(spec['total_mib'])} "
                f"| {_f(spec['headroom_mib'])} |"
            )
    cost = r["cost_per_million"]
    lines += [
        "",
        "## 6. Cost per million predictions",
        "",
        f"Formula: {cost['formula']}.",
        "",
        cost["assumptions"],
        "",
        "| USD per 1M | ours | baseline |",
        "|---|---|---|",
    ]
    for key, label in (
        ("duration_ms", "mean duration (ms)"),
        ("billed_ms", "billed ms"),
        ("memory_mb", "memory (MB)"),
        ("lambda_compute_usd", "Lambda compute"),
        ("lambda_requests_usd", "Lambda requests"),
        ("http_api_usd", "HTTP API"),
        ("dynamodb_writes_usd", "DynamoDB log writes"),
        ("total_usd", "**total**"),
    ):
        lines.append(f"| {label} | {_f(cost['ours'][key], 3)} | {_f(cost['baseline'][key], 3)} |")
    lines += ["", f"Baseline / ours: {_f(cost['ratio_total'], 2)}×."]
    load = r["load"]
    lat = load["latency_ms"]
    lines += [
        "",
        "## 7. Load run (the local HTTP API, `propensity serve`'s stack)",
        "",
        load["how"] + ".",
        "",
        "| clients | seconds | requests | errors | requests/s | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|",
        f"| {load['clients']} | {_f(load['elapsed_s'], 1)} | {load['requests']:,} "
        f"| {load['errors']} | {_f(load['requests_per_s'], 1)} | {_f(lat.get('p50', 0.0), 1)} "
        f"| {_f(lat.get('p95', 0.0), 1)} | {_f(lat.get('p99', 0.0), 1)} |",
        "",
        f"Statuses {load['statuses']}, exceptions {load['exceptions'] or 'none'}, "
        f"{load['connections']} connections. Warm-up: first request "
        f"{_f(load['warmup_first_request_s'], 2)} s (the handler's cold start in the local "
        f"stack), then p50 {_f(load['warmup_rest_ms'].get('p50', 0.0), 1)} ms sequentially. "
        "Latency under load is mostly queueing: the local stack runs each function's "
        "invocations one at a time (one container), where Lambda would add containers; the "
        "throughput is this machine's for one warm container with its DynamoDB (moto) write, "
        "not Lambda's.",
        "",
    ]
    if "chat_parse" in r:
        from bench import chat_parse

        lines += chat_parse.render(r["chat_parse"])
    return "\n".join(lines)
