"""``retrain_scale.{md,png}`` from the measured samples, and the one-function ceiling.

The ceiling is extrapolated, not measured: least-squares fits of wall time and peak memory on
the rows a retrain trains on (``fit``), solved for Lambda's limits (3,008 MB, 15 min). Memory is
fitted over every snapshot retrain (it follows the rows held, not where they came from); time
over the retrains that read few items from DynamoDB (``snapshot-next`` and the base points),
since a first snapshot's time is mostly the emulator's reads, reported apart as a read rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

LAMBDA_MEMORY_MIB = 3008  # Lambda's "MB" are MiB
LAMBDA_SECONDS = 900
TARGET_1M = {"peak_rss_mib": 3 * 1024, "retrain_s": 300}
BASE_ROWS = 45_211
METRICS = (("retrain_s", LAMBDA_SECONDS), ("peak_rss_mib", LAMBDA_MEMORY_MIB))
SNAPSHOT_MODES = ("snapshot-first", "snapshot-next")


def fitted(sample: dict[str, Any], key: str) -> bool:
    """Whether ``sample`` enters the fit of ``key`` (see the module's docstring)."""
    if key == "peak_rss_mib":
        return sample["mode"] in SNAPSHOT_MODES
    return sample["mode"] == "snapshot-next" or int(sample.get("base_factor", 1)) > 1


def fit(samples: Sequence[dict[str, Any]], key: str) -> dict[str, Any] | None:
    """``key ≈ c0 + c_feedback · feedback rows + c_base · base rows`` by least squares over the
    samples ``fitted`` names; one slope for all rows when the base did not vary."""
    import numpy as np

    points = [s for s in samples if fitted(s, key)]
    if len(points) < 2:
        return None
    f = np.array([float(s["feedback_items"]) for s in points])
    b = np.array([float(s.get("base_rows", BASE_ROWS)) for s in points])
    y = np.array([float(s[key]) for s in points])
    two = len(set(b.tolist())) > 1 and len(set(f.tolist())) > 1 and len(points) >= 3
    design = np.column_stack([np.ones_like(f), f, b] if two else [np.ones_like(f), f + b])
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    predicted = design @ coef
    c0, cf = float(coef[0]), float(coef[1])
    cb = float(coef[2]) if two else cf
    return {
        "intercept": c0,
        "per_feedback_row": cf,
        "per_base_row": cb,
        "points": len(points),
        "max_abs_residual": float(np.max(np.abs(y - predicted))),
    }


def _solve(
    model: dict[str, Any], limit: float, *, feedback: float | None, base: float | None
) -> float:
    """Rows of the free variable (the one passed as None) at which the fit reaches ``limit``."""
    c0, cf, cb = model["intercept"], model["per_feedback_row"], model["per_base_row"]
    if feedback is None:
        slope, rest = cf, c0 + cb * (base or 0.0)
    else:
        slope, rest = cb, c0 + cf * feedback
    return (limit - rest) / slope if slope > 0 else float("inf")


def ceiling(samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
    fits = {key: fit(samples, key) for key, _ in METRICS}
    out: dict[str, Any] = {"fits": fits, "limits": dict(METRICS)}
    if not all(fits.values()):
        return out
    for name, kwargs in (
        ("feedback_rows_on_bank_base", {"feedback": None, "base": float(BASE_ROWS)}),
        ("base_rows_with_10k_feedback", {"feedback": 10_000.0, "base": None}),
    ):
        by = {
            key: _solve(fits[key], limit, **kwargs)  # type: ignore[arg-type]
            for key, limit in METRICS
        }
        binding = min(by, key=lambda k: by[k])
        out[name] = {"by_metric": by, "rows": by[binding], "binding": binding}
    return out


def target_1m(samples: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """Per snapshot mode at N >= 1M: whether it stayed under the target, metric by metric."""
    verdicts = {}
    for s in samples:
        if s["size"] >= 1_000_000 and s["mode"] in SNAPSHOT_MODES:
            met = {k: s[k] < limit for k, limit in TARGET_1M.items()}
            verdicts[s["mode"]] = {"met": all(met.values()), "by_metric": met}
    return verdicts or None


def read_rates(samples: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """A first snapshot's extra time over the next retrain of the same stores, per item read
    from DynamoDB: the emulator's read rate as the retrain sees it."""
    rates = []
    for first in (s for s in samples if s["mode"] == "snapshot-first"):
        nxt = [
            s
            for s in samples
            if s["mode"] == "snapshot-next"
            and s["size"] == first["size"]
            and s.get("base_factor", 1) == first.get("base_factor", 1)
        ]
        if nxt:
            extra = first["retrain_s"] - nxt[0]["retrain_s"]
            items = first["dynamodb_feedback_items_read"] - nxt[0]["dynamodb_feedback_items_read"]
            if extra > 0 and items > 0:
                rates.append({"size": first["size"], "items": items, "items_per_s": items / extra})
    return rates


HEADER = (
    "| N feedback | base rows | mode | retrain s | peak MiB | DynamoDB feedback items read | "
    "read units | S3 MB read | rows in snapshot |",
    "|---:|---:|---|---:|---:|---:|---:|---:|---:|",
)
SHARES = (
    ("feedback read", "inclusive_share_ours", "training_inputs.py:TrainingInputs._stored_feedback"),
    ("training", "inclusive_share_ours", "candidate.py:SklearnTrainer.train"),
    ("waiting on a socket (the emulators)", "innermost_share", "socket.py:SocketIO.readinto"),
)


def shares(sample: dict[str, Any]) -> dict[str, float]:
    """Shares of the retrain's wall time, from its sampling profile."""
    profile = sample.get("profile") or {}
    return {
        label: sum(e["share"] for e in profile.get(key, []) if e["function"].endswith(name))
        for label, key, name in SHARES
    }


def _target_lines(samples: Sequence[dict[str, Any]]) -> list[str]:
    t1m = target_1m(samples)
    lines = ["## The 1M point", ""]
    if t1m is None:
        return [*lines, "Not measured in this run (`--scale-1m`).", ""]
    verdicts = "; ".join(
        f"{mode}: "
        + (
            "**met**"
            if v["met"]
            else "**missed** (" + ", ".join(k for k, ok in v["by_metric"].items() if not ok) + ")"
        )
        for mode, v in t1m.items()
    )
    lines += [
        "Target: a retrain at N = 1,000,000 feedback rows plus bank's base under 3 GiB peak and "
        "5 minutes. `snapshot-next` is the steady state (the parts from S3, the 1 % new items "
        "from DynamoDB); `snapshot-first` is a model's first snapshot, every item read from "
        f"DynamoDB Local. {verdicts}.",
        "",
        "| N | mode | retrain s | peak MiB | "
        + " | ".join(f"{label} (share of wall)" for label, _, _ in SHARES)
        + " | wall less socket waits (s) |",
        "|---:|---|---:|---:|" + "---:|" * len(SHARES) + "---:|",
    ]
    for s in samples:
        if s["size"] >= 1_000_000:
            share = shares(s)
            waiting = share["waiting on a socket (the emulators)"]
            lines.append(
                f"| {s['n']:,} | {s['mode']} | {s['retrain_s']:.0f} | {s['peak_rss_mib']:.0f} | "
                + " | ".join(f"{v:.0%}" for v in share.values())
                + f" | {s['retrain_s'] * (1 - waiting):.0f} |"
            )
    rates = read_rates(samples)
    if rates:
        lines += [
            "",
            "A first snapshot's time beyond the next retrain's, per item it read from DynamoDB "
            "Local (pointers and feedback items): "
            + "; ".join(
                f"N = {r['size']:,}: {r['items']:,.0f} items at {r['items_per_s']:,.0f}/s"
                for r in rates
            )
            + ".",
        ]
    return [*lines, ""]


def _row(s: dict[str, Any]) -> str:
    snap = s.get("snapshot") or {}
    base = s.get("base_rows", BASE_ROWS)
    return (
        f"| {s['n']:,} | {base:,} (×{s.get('base_factor', 1)}) | {s['mode']} | "
        f"{s['retrain_s']:.1f} | {s['peak_rss_mib']:.0f} | "
        f"{s['dynamodb_feedback_items_read']:,} | {s['dynamodb_read_units']:,.0f} | "
        f"{s['s3_bytes_read'] / 1e6:.2f} | {snap.get('rows', '–')} |"
    )


def markdown(report: dict[str, Any]) -> str:
    samples = report["samples"]
    lines = [
        "# Retrain at scale",
        "",
        f"Generated {report.get('generated_at', '')} by `{report.get('command', '')}` (see "
        "`bench/retrain_scale.py`): each retrain in its own process, DynamoDB Local (in memory) "
        f"and a moto S3 server on this machine ({report.get('machine', '')}).",
        "",
        *HEADER,
        *(_row(s) for s in samples),
        "",
    ]
    loads = report.get("loads", [])
    if loads:
        lines += [
            "Writing the feedback to DynamoDB Local (BatchWriteItem, 12 rows = 24 items per "
            "call, 8 threads): "
            + "; ".join(
                f"{x['rows']:,} rows in {x['seconds']:.0f} s "
                f"({x['rows'] / x['seconds']:,.0f} rows/s)"
                for x in loads
            )
            + ".",
            "",
        ]
    lines += _target_lines(samples)
    for label, extra in report.get("extra_runs", {}).items():
        lines += [
            f"## {label}",
            "",
            f"{extra['note']} Generated {extra['generated_at']} by `{extra['command']}`.",
            "",
            *HEADER,
            *(_row(s) for s in extra["samples"]),
            "",
        ]
    lines += _ceiling_lines(ceiling(samples))
    lines += _profile_lines(samples)
    lines += [report.get("note", ""), "", report["how"].strip(), ""]
    return "\n".join(lines)


def _ceiling_lines(c: dict[str, Any]) -> list[str]:
    lines = ["## Ceiling for one retrain function (3,008 MB, 15 min)", ""]
    fits = c["fits"]
    if not all(fits.values()):
        return [*lines, "Too few full-read points to fit.", ""]
    lines += [
        "Method: ordinary least squares on the rows a retrain trains on, `y = c0 + c_f · "
        "feedback rows + c_b · base rows`, then solved for Lambda's limits. Peak memory is "
        "fitted over every snapshot retrain (`snapshot-first`, `snapshot-next`, the base "
        "points); wall time over those reading few items from DynamoDB (`snapshot-next`, the "
        "base points), as a model's first snapshot is a one-time read (its rate is above). "
        "Linear extrapolation from this machine (Lambda at 3,008 MB has about 1.7 vCPU): an "
        "estimate, not a measurement.",
        "",
        "| fit | c0 | per feedback row | per base row | points | max residual |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for key, unit, scale in (("retrain_s", "s", 1e6), ("peak_rss_mib", "MiB", 1e6)):
        f = fits[key]
        lines.append(
            f"| {key} | {f['intercept']:.1f} {unit} | {f['per_feedback_row'] * scale:.1f} "
            f"{unit}/1M rows | {f['per_base_row'] * scale:.1f} {unit}/1M rows | {f['points']} "
            f"| {f['max_abs_residual']:.1f} {unit} |"
        )
    lines.append("")
    for name, label in (
        ("feedback_rows_on_bank_base", "feedback rows (bank's 45,211 base rows)"),
        ("base_rows_with_10k_feedback", "base rows (with 10,000 feedback rows)"),
    ):
        e = c[name]
        by = e["by_metric"]
        lines.append(
            f"- **{label}: about {e['rows'] / 1e6:.1f}M**, bound by {e['binding']} "
            f"(time reaches 15 min at {by['retrain_s'] / 1e6:.1f}M, memory 3,008 MB at "
            f"{by['peak_rss_mib'] / 1e6:.1f}M)."
        )
    return [*lines, ""]


def _profile_lines(samples: Sequence[dict[str, Any]]) -> list[str]:
    big = max(samples, key=lambda s: s["retrain_s"], default=None)
    if not big or not big.get("profile"):
        return []
    p = big["profile"]
    lines = [
        f"## Where the slowest retrain's time went (N = {big['n']:,}, base "
        f"{big.get('base_rows', BASE_ROWS):,}, {big['mode']})",
        "",
        f"Sampling profiler (`bench/retrain_scale_sampler.py`, {p['samples']} samples every "
        f"{p['interval_s']} s): share of wall time each of our functions was on the stack.",
        "",
        "| function | share |",
        "|---|---:|",
        *(f"| `{e['function']}` | {e['share']:.0%} |" for e in p["inclusive_share_ours"][:12]),
        "",
        f"Highest resident memory sampled: {p['rss_peak_mib']:.0f} MiB, in "
        + " ← ".join(f"`{s}`" for s in p["rss_peak_stack"][:5])
        + ".",
        "",
    ]
    return lines


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    samples = report["samples"]
    fig, axes = plt.subplots(1, 2, figsize=(13, 4.6))
    for ax, (key, limit) in zip(axes, METRICS, strict=True):
        for mode, marker in (
            ("table", "o"),
            ("snapshot-first", "s"),
            ("snapshot-next", "^"),
            ("table-next", "x"),
        ):
            fb = [s for s in samples if s["mode"] == mode and s.get("base_factor", 1) == 1]
            if fb:
                ax.plot(
                    [s["feedback_items"] + BASE_ROWS for s in fb],
                    [s[key] for s in fb],
                    marker=marker,
                    label=f"feedback N, {mode}",
                )
        base = [s for s in samples if s.get("base_factor", 1) > 1]
        if base:
            ax.plot(
                [s["feedback_items"] + s["base_rows"] for s in base],
                [s[key] for s in base],
                "D",
                color="black",
                label="base ×k (10k feedback), snapshot-first",
            )
            for s in base:
                ax.annotate(f"×{s['base_factor']}", (s["feedback_items"] + s["base_rows"], s[key]))
        for label, extra in report.get("extra_runs", {}).items():
            ax.plot(
                [s["feedback_items"] + s["base_rows"] for s in extra["samples"]],
                [s[key] for s in extra["samples"]],
                "*",
                markersize=11,
                label=label,
            )
        ax.axhline(limit, color="red", linestyle="--", linewidth=1, label="Lambda limit")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("training rows (base + feedback)")
        ax.set_title(
            {"retrain_s": "retrain wall time (s)", "peak_rss_mib": "peak memory (MiB)"}[key]
        )
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
