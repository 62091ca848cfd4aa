"""Scale-out: speed-up of 2 workers over 1 on the attribution quick grid, and the cost of isolation.

Run: .venv/bin/python benchmarks/scaling.py
Goals, per cell with start-up excluded (a run pays its start-up once; a dask run
also starts a LocalCluster and a template process in each worker): >= 1.8x with
2 workers on 2 cores, for the process and the dask executor; one dask worker
within 1.15x of one process worker. Whole-run times are printed beside them. Every cell runs with one
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
FIRST = 24  # a run of the first cells measures the start-up that every run pays once
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
        whole, per_cell = {}, {}
        for executor in ("process", "dask"):
            for workers in (1, 2):
                whole[executor, workers] = timed_run(registry, grid, executor, workers, folder)
                start = timed_run(registry, grid[:FIRST], executor, workers, folder)
                per_cell[executor, workers] = (whole[executor, workers] - start) / (len(grid) - FIRST)
            print(
                f"  {executor:<8} whole run: 1 worker {whole[executor, 1]:5.1f} s, "
                f"2 workers {whole[executor, 2]:5.1f} s "
                f"({whole[executor, 1] / whole[executor, 2]:.2f}x); per cell, start-up excluded: "
                f"{per_cell[executor, 1]:.3f} s and {per_cell[executor, 2]:.3f} s "
                f"({per_cell[executor, 1] / per_cell[executor, 2]:.2f}x, goal >= 1.8x)"
            )
        ratio = per_cell["dask", 1] / per_cell["process", 1]
        print(f"  one dask worker / one process worker, per cell: {ratio:.2f}x (goal <= 1.15x)")
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
