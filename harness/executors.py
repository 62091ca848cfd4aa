"""Executors run cells and hand back outcomes; only the runner writes to the store.

``execute_cell`` is the one place a plugin's ``evaluate`` is called: whatever it
raises or returns wrong becomes that cell's ``error`` outcome, never the run's.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from harness.grid import Cell
from harness.scores import ScoreError, ScoreRows, validate


@dataclass(frozen=True)
class Outcome:
    """What happened to one cell: status ok/error/timeout, why, how long, and its score rows."""

    status: str
    duration_s: float
    scores: ScoreRows | None = None
    error: str = ""
    detail: str = ""


def execute_cell(cell: Cell) -> Outcome:
    start = time.perf_counter()
    try:
        result = cell.suite.evaluate(cell)
        rows = validate(cell.suite, result)
    except ScoreError as exc:
        return Outcome("error", time.perf_counter() - start, error=f"bad result: {exc}")
    except Exception as exc:
        return Outcome(
            "error", time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}", detail=traceback.format_exc()
        )
    return Outcome("ok", time.perf_counter() - start, scores=rows)


class SerialExecutor:
    """Runs cells one after another in this process: simplest, and best for debugging."""

    name = "serial"

    def map(self, cells: Iterable[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        for cell in cells:
            yield cell, execute_cell(cell)
