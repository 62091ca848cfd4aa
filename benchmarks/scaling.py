"""Scale-out: speed-up of 2 workers over 1 on the attribution quick grid, and the cost of isolation.

Run: .venv/bin/python benchmarks/scaling.py
Goals: >= 1.8x with 2 workers on 2 cores, for the process and the dask executor;
one dask worker within 1.15x of one process worker per cell (start-up excluded:
a dask run also starts a LocalCluster and a template process in each worker). Every cell runs with one
torch thread in a fresh process, so the comparison is of workers alone; models
are trained (cached) by a warm-up pass first, so no run pays for training.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from harness.executors import ExecutionOptions
from harness.grid import plan_grid
from harness.plugins import load_registry
from harness.runner import run_cells
from harness.store import Store

FEW = 200
FIRST = 24  # cells whose run measures the start-up a whole run pays once
FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "plugin_fixtures"


def timed_run(registry, cells, executor: str, workers: int, folder: Path) -> float:
    """Wall time of a whole run, worker start-up included."""
    start = time.perf_counter()
    runner = registry.get("executor", executor).create(registry, ExecutionOptions(workers=workers))
    try:
        with Store(folder / f"{executor}-{workers}-{time.monotonic_ns()}.duckdb") as store:
            summary = run_cells(registry, cells, store, runner, show_progress=False)
    finally:
        runner.close()
    assert not summary.failed
    return time.perf_counter() - start


def main() -> None:
    registry = load_registry([FIXTURES])
    grid = plan_grid(registry, suites=["attribution"])
    trivial = plan_grid(registry, suites=["toy"], methods=["good", "fair", "bad"], seeds=range(200))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        timed_run(registry, grid, "serial", 1, folder)  # warm-up: train and cache every model
        print(f"attribution quick grid, {len(grid)} cells, 1 torch thread per cell, a fresh process per cell:")
        one_worker = {}
        for executor in ("process", "dask"):
            one = one_worker[executor] = timed_run(registry, grid, executor, 1, folder)
            two = timed_run(registry, grid, executor, 2, folder)
            speed_up = f"speed-up {one / two:.2f}x (goal >= 1.8x)"
            print(f"  {executor:<8} 1 worker {one:6.1f} s, 2 workers {two:6.1f} s: {speed_up}")
        per_cell = {
            executor: (one_worker[executor] - timed_run(registry, grid[:FIRST], executor, 1, folder))
            / (len(grid) - FIRST)
            for executor in ("process", "dask")
        }
        print(
            f"  per cell, start-up excluded (cells {FIRST + 1}-{len(grid)}): process {per_cell['process']:.3f} s, "
            f"dask {per_cell['dask']:.3f} s, ratio {per_cell['dask'] / per_cell['process']:.2f}x (goal <= 1.15x); "
            f"whole runs {one_worker['dask'] / one_worker['process']:.2f}x (a LocalCluster and its template start)"
        )
        slopes = {}
        for executor in ("serial", "process", "dask"):
            few, many = (timed_run(registry, trivial[:n], executor, 1, folder) for n in (FEW, len(trivial)))
            slopes[executor] = (many - few) / (len(trivial) - FEW)
        for executor in ("process", "dask"):
            print(
                f"isolation ({executor}): {(slopes[executor] - slopes['serial']) * 1e3:.1f} ms per cell beyond "
                f"in-process execution ({slopes['serial'] * 1e3:.2f} ms per trivial cell in-process; start-up excluded)"
            )


if __name__ == "__main__":
    main()
