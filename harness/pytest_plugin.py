"""Fixtures for plugin authors (a ``pytest11`` plugin): run your plugin through the harness in a test.

``reliabench_db`` is a fresh results database, ``reliabench_run(module_or_path, ...)`` loads the plugin the
way ``reliabench check-plugin`` does (alone, besides the built-ins), runs a tiny grid and returns the stored
results as pandas with the run's summary, and ``reliabench_cli`` runs the ``reliabench`` command in-process.
Every name starts with ``reliabench_`` so that no project's own fixtures are shadowed.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

from harness.executors import ExecutionOptions
from harness.grid import plan_grid
from harness.plugin_check import isolated, smoke_cells
from harness.runner import RunSummary, run_cells
from harness.store import DB_ENV, Store

RunPlugin = Callable[..., tuple[pd.DataFrame, RunSummary]]


@pytest.fixture
def reliabench_db(tmp_path: Path) -> Path:
    """A results database of this test alone."""
    return tmp_path / "reliabench.duckdb"


@pytest.fixture
def reliabench_run(reliabench_db: Path) -> RunPlugin:
    """``run(module_or_path, suite=, task=, model=, method=, seeds=(0,), executor=None)`` → (results, summary).

    With no filter it runs one cell per entry the plugin registers (as ``check-plugin`` does); with
    filters, that grid for ``seeds``. Cells run in this process (tracebacks reach the test) unless
    ``executor`` names a registered one.
    """

    def run(
        plugin: ModuleType | str | Path,
        suite: str | None = None,
        task: str | None = None,
        model: str | None = None,
        method: str | None = None,
        seeds: tuple[int, ...] = (0,),
        executor: str | None = None,
    ) -> tuple[pd.DataFrame, RunSummary]:
        target = Path(plugin.__file__) if isinstance(plugin, ModuleType) else plugin
        with isolated([target]) as loaded:
            registry = loaded.registry
            if suite or task or model or method:
                names = [[n] if n else None for n in (suite, task, model, method)]
                cells = plan_grid(registry, *names, seeds=seeds)
            else:
                cells = list({c.key: c for c in smoke_cells(loaded).values() if c is not None}.values())
                executor = executor or next((n for c, n in loaded.provided() if c == "executor"), None)
                cells = cells or plan_grid(registry, seeds=seeds)[:1]
            runner = registry.executors[executor].create(registry, ExecutionOptions(1)) if executor else None
            try:
                with Store(reliabench_db) as store:
                    summary = run_cells(registry, cells, store, runner, show_progress=False)
                    results = store.results()
            finally:
                if runner is not None:
                    runner.close()
        return results, summary

    return run


@pytest.fixture
def reliabench_cli(
    reliabench_db: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> Callable[..., tuple[int, str]]:
    """``cli("run", "--suite", "x", ...)`` → (exit code, output); every command's database is ``reliabench_db``
    (through ``RELIABENCH_DB``), so no command reads or writes the user's own results."""
    from harness.cli import main

    monkeypatch.setenv(DB_ENV, str(reliabench_db))

    def invoke(*args: str) -> tuple[int, str]:
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code
        captured = capsys.readouterr()
        return int(code or 0), captured.out + captured.err

    return invoke
