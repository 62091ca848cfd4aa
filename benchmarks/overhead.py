"""Harness overhead: time per trivial cell, and time to rank a million stored scores.

Run: .venv/bin/python benchmarks/overhead.py  (or `make bench`)
Goals: <= 2 ms of harness time per trivial cell; <= 3 s for a leaderboard with
t intervals, paired tests and rank sets over 1,000,000 score rows.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from harness import MethodSpec, Metric, Profile, Suite, Task, hookimpl
from harness.grid import plan_grid
from harness.leaderboard import leaderboard
from harness.plugins import load_registry
from harness.runner import run_cells
from harness.store import Store


class Constant:
    """The method kind of the benchmark suite: a method is just a number."""


def make_plugin(n_tasks: int, n_methods: int, n_seeds: int, n_samples: int, suites: tuple[str, ...] = ("bench",)):
    """A plugin whose cells cost nothing but the harness's own work; its methods enter every suite."""
    noise = np.random.default_rng(0).normal(size=n_samples)
    inside = {"seconds": 0.0}

    def evaluate(cell):
        start = time.perf_counter()
        offset = cell.method.load()
        result = {"m": noise + offset + 0.01 * cell.seed} if n_samples > 1 else {"m": offset}
        inside["seconds"] += time.perf_counter() - start
        return result

    registered = [
        Suite(
            name=name,
            version="1",
            title=f"Benchmark {name}",
            description="trivial cells",
            tasks=tuple(Task(f"t{i}") for i in range(n_tasks)),
            metrics=(Metric("m", True, shape="sample" if n_samples > 1 else "scalar"),),
            primary_metric="m",
            profiles={"quick": Profile(tuple(range(n_seeds))), "full": Profile(tuple(range(n_seeds)))},
            evaluate=evaluate,
            method_kind=Constant,
        )
        for name in suites
    ]

    class Plugin:
        @hookimpl
        def register_suites(self, register):
            for suite in registered:
                register(suite)

        @hookimpl
        def register_methods(self, register):
            for i in range(n_methods):
                register(MethodSpec(f"m{i:03d}", Constant, "1", lambda i=i: i / n_methods))

    return Plugin(), inside


def cell_overhead(workdir: Path, n_cells: int) -> float:
    plugin, inside = make_plugin(n_tasks=1, n_methods=n_cells // 10, n_seeds=10, n_samples=1)
    registry = load_registry(extra=[plugin], defaults=False)
    cells = plan_grid(registry)
    with Store(workdir / "overhead.duckdb") as store:
        start = time.perf_counter()
        run_cells(registry, cells, store, show_progress=False)
        total = time.perf_counter() - start
    return (total - inside["seconds"]) / len(cells)


def leaderboard_time(workdir: Path) -> tuple[int, float]:
    plugin, _ = make_plugin(n_tasks=2, n_methods=50, n_seeds=5, n_samples=2000)
    registry = load_registry(extra=[plugin], defaults=False)
    db = workdir / "million.duckdb"
    with Store(db) as store:
        run_cells(registry, plan_grid(registry), store, show_progress=False)
    with Store(db, read_only=True) as store:
        rows = int(store.query("SELECT count(*) AS n FROM scores")["n"][0])
        start = time.perf_counter()
        board = leaderboard(store, "bench")
        seconds = time.perf_counter() - start
    assert board["rank"].notna().all()
    return rows, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=2000, help="trivial cells to time")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        per_cell = cell_overhead(Path(tmp), args.cells)
        print(f"harness overhead per trivial cell: {per_cell * 1e3:.2f} ms (goal <= 2 ms, {args.cells} cells)")
        rows, seconds = leaderboard_time(Path(tmp))
        print(f"leaderboard with t intervals and rank sets over {rows:,} score rows: {seconds:.2f} s (goal <= 3 s)")


if __name__ == "__main__":
    main()
