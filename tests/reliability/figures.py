"""The figures a reliability suite records (cases run, 5xx seen, duplicates stored...).

Each suite calls ``record(suite, figures)``; the figures are written to
``test-output/reliability/<suite>.json`` and printed in pytest's terminal summary, so every run
shows the counts behind each guarantee.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "reliability"


def record(suite: str, figures: dict[str, Any]) -> None:
    """Merge ``figures`` into the suite's JSON file (several tests may add to one suite)."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    path = OUTPUT / f"{suite}.json"
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    current.update(figures)
    path.write_text(json.dumps(current, indent=2, sort_keys=True, default=str) + "\n")


def recorded() -> dict[str, dict[str, Any]]:
    if not OUTPUT.exists():
        return {}
    return {p.stem: json.loads(p.read_text()) for p in sorted(OUTPUT.glob("*.json"))}


def reset() -> None:
    """Called at session start so a summary only shows this run's figures."""
    if OUTPUT.exists():
        for path in OUTPUT.glob("*.json"):
            path.unlink()
