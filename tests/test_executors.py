"""Executors: fault isolation in cell processes, retries, determinism across serial, process and dask."""

from __future__ import annotations

import pytest
from conftest import FIXTURES

from harness.executors import ExecutionOptions
from harness.grid import plan_grid
from harness.isolation import ProcessExecutor
from harness.plugins import load_registry
from harness.runner import run_cells
from harness.store import Store

HEALTHY = ["good", "fair", "bad"]
FAULTS = ["raises", "nan", "wrong-shape", "hangs", "segfaults", "exits", "hogs"]
TIMEOUT = 10  # seconds: what the hanging cell waits; healthy cells must start well within it on a loaded machine
EXPECTED = {
    "raises": ("error", "ValueError: boom"),
    "nan": ("error", "non-finite"),
    "wrong-shape": ("error", "declared sample (1-D) but the cell returned shape (2, 8)"),
    "hangs": ("timeout", f"no result within the {TIMEOUT} s timeout"),
    "segfaults": ("error", "killed by SIGSEGV"),
    "exits": ("error", "exited with code 3"),
    "hogs": ("error", "over the cell memory limit of 1 GiB"),
}


def _run(cli_run, executor, *extra):
    return cli_run(
        "run",
        "--executor",
        executor,
        "--task",
        "small",
        "--seeds",
        "0",
        "--method",
        ",".join(HEALTHY + FAULTS),
        "--timeout",
        str(TIMEOUT),
        "--max-memory",
        "1G",
        "--workers",
        "2",
        "--quiet",
        *extra,
    )


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_every_fault_fails_only_its_cell_with_a_named_reason(cli_run, db, executor):
    code, out = _run(cli_run, executor)
    assert code == 1
    assert "ran 10, skipped 0 (already stored), failed 7 of 10 cells" in out
    with Store(db, read_only=True) as store:
        cells = store.cells("toy").set_index("method")
    assert (cells.loc[HEALTHY, "status"] == "ok").all()
    for method, (status, reason) in EXPECTED.items():
        # the same reasons on both: a Dask worker runs each cell in a process of its own too
        assert cells.loc[method, "status"] == status, (method, cells.loc[method, "error"])
        assert reason in cells.loc[method, "error"], (method, cells.loc[method, "error"])
        assert f"{status}" in out and f"small {method} seed=0" in out


def test_retries_apply_to_crashes_not_to_bad_results(cli_run, db):
    code, _ = cli_run(
        "run",
        "--executor",
        "process",
        "--task",
        "small",
        "--seeds",
        "0",
        "--method",
        "exits,nan,good",
        "--retries",
        "2",
        "--workers",
        "1",
        "--quiet",
    )
    assert code == 1
    with Store(db, read_only=True) as store:
        cells = store.cells("toy").set_index("method")
    assert cells.loc["exits", "error"].endswith("(after 2 retries)")
    assert "retries" not in cells.loc["nan", "error"], "a bad result is the cell's own: not retried"


def test_in_process_plugins_are_refused_by_the_process_executor():
    registry = load_registry(extra=[object()], defaults=False)
    with pytest.raises(ValueError, match="use --executor serial"):
        ProcessExecutor(registry, ExecutionOptions())


def _scores(db):
    with Store(db, read_only=True) as store:
        return store.query(
            'SELECT cell_key, metric, sample, step, "row", col, value FROM scores '
            'ORDER BY cell_key, metric, sample, step, "row", col'
        )


def test_same_grid_bit_identical_on_serial_process_and_dask(tmp_path):
    registry = load_registry([FIXTURES])
    cells = plan_grid(registry, suites=["toy"], methods=HEALTHY) + plan_grid(
        registry, suites=["attribution"], tasks=["breast_cancer"], methods=["ig", "expected-gradients"], seeds=[0]
    )
    options = ExecutionOptions(workers=2, timeout_s=600)
    frames = {}
    for name in ("serial", "process", "dask"):
        runner = registry.get("executor", name).create(registry, options)
        try:
            with Store(tmp_path / f"{name}.duckdb") as store:
                summary = run_cells(registry, cells, store, runner, show_progress=False)
        finally:
            runner.close()
        assert not summary.failed, [o.error for _, o in summary.failed]
        frames[name] = _scores(tmp_path / f"{name}.duckdb")
        frames[name] = frames[name][~frames[name]["metric"].isin(["seconds-per-sample"])].reset_index(drop=True)
    assert len(frames["serial"]) > 100
    assert frames["serial"].equals(frames["process"])
    assert frames["serial"].equals(frames["dask"])


def test_a_small_memory_limit_on_dask_fails_the_hog_not_the_run(cli_run, db):
    """The limit binds each cell's own process, never the Dask worker, so nothing hangs and the guilty cell is named."""
    code, out = cli_run(
        "run", "--executor", "dask", "--task", "small", "--seeds", "0", "--method", "good,hogs", "--max-memory", "100M"
    )
    assert code == 1, out
    with Store(db, read_only=True) as store:
        cells = store.cells("toy").set_index("method")
    assert cells.loc["good", "status"] == "ok"
    assert "over the cell memory limit of 100 MiB" in cells.loc["hogs", "error"]
