"""Timing helpers and the results file every benchmark writes (with the machine's fingerprint)."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from randnas.repro import fingerprint

RESULTS = Path(__file__).resolve().parent / "results"


def time_call(function: Callable[[], object], repeats: int, warmup: int = 1) -> dict[str, float]:
    """Median and spread of `repeats` timed calls after `warmup` untimed ones (seconds)."""
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "repeats": repeats}


def write_results(name: str, results: dict, notes: str = "") -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    record = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "notes": notes,
        "machine": fingerprint(),
        "results": results,
    }
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path
