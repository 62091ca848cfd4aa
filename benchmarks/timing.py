"""The one timing rule of every benchmark: one warm-up call, then the best of ``repeats`` wall-clock runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_time(work: Callable[[], object], repeats: int = 10) -> float:
    """Seconds of the fastest of ``repeats`` calls of ``work`` after a warm-up call (the least disturbed run)."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)
