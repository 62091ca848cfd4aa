"""Time to build the static site from a large results database.

Run: .venv/bin/python benchmarks/site.py
Goal: under 10 s for 500 entries across 7 suites with 3 seeds.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from overhead import make_plugin

from harness.grid import plan_grid
from harness.plugins import load_registry
from harness.publish import build_site
from harness.runner import run_cells
from harness.store import Store

SUITES = tuple(f"suite{i}" for i in range(7))


def main() -> None:
    plugin, _ = make_plugin(n_tasks=2, n_methods=72, n_seeds=3, n_samples=32, suites=SUITES)
    registry = load_registry(extra=[plugin], defaults=False)
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "site.duckdb"
        with Store(db) as store:
            run_cells(registry, plan_grid(registry), store, show_progress=False)
            entries = int(store.query("SELECT count(DISTINCT (suite, entry)) AS n FROM cells")["n"][0])
            rows = int(store.query("SELECT count(*) AS n FROM scores")["n"][0])
        start = time.perf_counter()
        index = build_site(db, Path(tmp) / "site")
        seconds = time.perf_counter() - start
        pages = len(list(index.parent.rglob("*.html")))
    print(
        f"site with {entries} entries across {len(SUITES)} suites, 3 seeds ({rows:,} scores, {pages} pages): "
        f"{seconds:.2f} s (goal < 10 s)"
    )


if __name__ == "__main__":
    main()
