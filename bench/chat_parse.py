"""Chat parse time against message length (``python -m bench.run --only chat-parse``).

Reads messages of 100, 1,000 and 10,000 characters with the bank lexicon and reports the median
time per message and per character: a linear parser keeps the time per character flat. Three
kinds of text: ordinary sentences, a run of separators and digits (what made the old regexes
quadratic), and words the lexicon does not know. It reports; nothing asserts a time.
"""

from __future__ import annotations

import csv
import gc
import gzip
import io
import statistics
import time
from pathlib import Path
from typing import Any

from propensity.chat import Lexicon, build_lexicon, extract
from propensity.config import load_model_config
from propensity.scoring.specs import FeatureSpec

REPO = Path(__file__).resolve().parent.parent
LENGTHS = (100, 1_000, 10_000)
TEXTS = {
    "sentences": (
        "Tengo 45 años, saldo 1.200 €, hipoteca sí, no soy estudiante, casado. "
        "I'm 30, single, no housing loan, balance 2,500, contacted 3 times in May. "
    ),
    "separators": "1.2,3 4.5,6 7.8,9 -0,1 2.345.678,9 " * 3,
    "unknown words": "el cliente comenta que le gusta mucho el fútbol y viajar en verano ",
}


def bank_lexicon() -> tuple[Lexicon, float]:
    """The bank lexicon, with the ranges and categories of its shipped dataset, and the
    milliseconds building it took (once per scorecard in the predict function)."""
    config = load_model_config("bank")
    raw = gzip.decompress((REPO / "data" / config.dataset.source).read_bytes())
    rows = list(csv.DictReader(io.StringIO(raw.decode()), delimiter=config.dataset.delimiter))
    specs = [
        FeatureSpec(n, "numeric", (), min(v), max(v), True, 1.0)
        for n in config.features.numeric
        for v in [[float(r[n]) for r in rows]]
    ] + [
        FeatureSpec(n, "categorical", tuple(sorted({r[n] for r in rows})), None, None, False, 1.0)
        for n in config.features.categorical
    ]
    start = time.perf_counter()
    lexicon = build_lexicon(config, specs)
    return lexicon, (time.perf_counter() - start) * 1000


def _message(text: str, length: int) -> str:
    return (text * (length // len(text) + 1))[:length]


def measure(*, smoke: bool) -> dict[str, Any]:
    lexicon, built_ms = bank_lexicon()
    repeats = 3 if smoke else 25
    results: dict[str, Any] = {}
    for kind, text in TEXTS.items():
        messages = [_message(text, length) for length in LENGTHS]
        times: list[list[float]] = [[] for _ in LENGTHS]
        gc.disable()  # as timeit does: a collection would land on whichever run triggers it
        try:
            # Lengths interleaved, CPU time of this process: other jobs on the host slow every
            # length alike instead of whichever was being timed when they ran.
            for _ in range(repeats):
                for slot, message in enumerate(messages):
                    start = time.process_time()
                    extract(lexicon, message)
                    times[slot].append(time.process_time() - start)
        finally:
            gc.enable()
        rows = []
        for length, runs in zip(LENGTHS, times, strict=True):
            median_ms, fastest_ms = statistics.median(runs) * 1000, min(runs) * 1000
            rows.append(
                {
                    "chars": length,
                    "median_ms": median_ms,
                    "min_ms": fastest_ms,
                    "us_per_char": median_ms * 1000 / length,
                }
            )
        results[kind] = {
            "rows": rows,
            # 10x the characters: a linear parser takes ~10x the time, a quadratic one ~100x.
            "growth_1k_to_10k": rows[2]["median_ms"] / rows[1]["median_ms"],
        }
    return {
        "how": (
            f"extract() with the bank lexicon: CPU time, median (min) of {repeats} runs per "
            "message, lengths interleaved, garbage collector off while timing"
        ),
        "lexicon_build_ms": built_ms,
        "texts": results,
    }


def render(report: dict[str, Any]) -> list[str]:
    lines = [
        "",
        "## Chat parse time by message length",
        "",
        f"{report['how']}; building the lexicon (once per scorecard) took "
        f"{report['lexicon_build_ms']:.1f} ms.",
        "",
        "| text | 100 chars | 1,000 chars | 10,000 chars | growth 1k→10k (median) |",
        "|---|---|---|---|---|",
    ]
    for kind, result in report["texts"].items():
        cells = [
            f"{row['median_ms']:.2f} ms (min {row['min_ms']:.2f}, {row['us_per_char']:.1f} µs/char)"
            for row in result["rows"]
        ]
        lines.append(f"| {kind} | {' | '.join(cells)} | {result['growth_1k_to_10k']:.1f}× |")
    return lines


if __name__ == "__main__":
    print("\n".join(render(measure(smoke=False))))
