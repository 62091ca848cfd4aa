"""Hostile plugins cannot reach other cells, the model cache or the store; finished cells survive a killed runner."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FIXTURES, reliabench_exe

from harness.store import Store

HOSTILE = Path(__file__).parent / "hostile_fixtures"
HEALTHY = ["good", "fair", "bad", "probe"]
GUILTY = {  # the cells that must fail, and why
    "forger": "answered for another cell",
    "exits-quietly": "SystemExit: 0",
    "exits-hard": "exited with code 0",
}
HARMLESS_TO_THEMSELVES = ["patcher", "env-changer", "late-mutator"]  # their own cells are fine; later ones must be too


def _run(db: Path, cache: Path, *args: str) -> subprocess.CompletedProcess:
    argv = [reliabench_exe(), "--plugins-dir", str(FIXTURES), "--plugins-dir", str(HOSTILE), "run", "--db", str(db)]
    env = {**os.environ, "RELIABENCH_CACHE": str(cache), "RELIABENCH_PLUGINS": ""}
    return subprocess.run([*argv, "--quiet", *args], env=env, capture_output=True, text=True, check=False)


def _scores(db: Path, methods: list[str]):
    """Every score of ``methods``' cells, by the cell's axes, in a fixed order (equal frames: equal numbers)."""
    with Store(db, read_only=True) as store:
        rows = store.query(
            'SELECT c.suite, c.task, c.model, c.method, c.seed, s.metric, s.sample, s.step, s."row", s.col, s.value '
            "FROM scores s JOIN cells c ON s.cell_key = c.key ORDER BY ALL"
        )
    rows = rows[rows["method"].isin(methods) & (rows["metric"] != "seconds-per-sample")]
    return rows.reset_index(drop=True)


def _statuses(db: Path) -> dict[str, tuple[str, str]]:
    with Store(db, read_only=True) as store:
        cells = store.cells()
    return {(c.method, c.seed): (c.status, c.error) for c in cells.itertuples()}


def _cache_digest(cache: Path) -> dict[str, str]:
    return {
        str(p.relative_to(cache)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(cache.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("executor", ["process", "dask"])
def test_hostile_methods_cannot_change_anyone_elses_numbers(tmp_path, executor):
    """One worker, so every cell would share a process if processes were reused; hostile cells run first."""
    clean_db, hostile_db = tmp_path / "clean.duckdb", tmp_path / "hostile.duckdb"
    common = ["--suite", "toy", "--task", "small", "--seeds", "0,1", "--workers", "1", "--executor", executor]
    clean = _run(clean_db, tmp_path / "cache", *common, "--method", ",".join(HEALTHY))
    assert clean.returncode == 0, clean.stderr
    order = [*HARMLESS_TO_THEMSELVES, "forger", "exits-quietly", *HEALTHY, "exits-hard"]  # a crash would renew a worker
    hostile = _run(hostile_db, tmp_path / "cache", *common, "--method", ",".join(order))
    assert hostile.returncode == 1, hostile.stderr

    healthy = _scores(hostile_db, HEALTHY)
    assert len(healthy) > 50 and healthy.equals(_scores(clean_db, HEALTHY)), "bit-identical to a clean run"
    statuses = _statuses(hostile_db)
    failed = {method for (method, _), (status, _) in statuses.items() if status != "ok"}
    assert failed == set(GUILTY), "exactly the guilty cells are reported"
    for (method, _), (_, error) in statuses.items():
        if method in GUILTY:
            assert GUILTY[method] in error, (method, error)


def test_a_method_that_patches_torch_cannot_poison_later_cells_or_the_model_cache(tmp_path):
    """The patcher runs first on each seed, in the cell that trains and caches that seed's model."""
    common = ["--suite", "attribution", "--task", "breast_cancer", "--model", "mlp", "--seeds", "0,1"]
    common += ["--workers", "1", "--executor", "process"]
    clean = _run(tmp_path / "clean.duckdb", tmp_path / "clean-cache", *common, "--method", "ig")
    assert clean.returncode == 0, clean.stderr
    hostile = _run(tmp_path / "hostile.duckdb", tmp_path / "hostile-cache", *common, "--method", "torch-patcher,ig")
    assert hostile.returncode == 1, hostile.stderr

    assert _scores(tmp_path / "hostile.duckdb", ["ig"]).equals(_scores(tmp_path / "clean.duckdb", ["ig"]))
    models = lambda cache: {k: v for k, v in _cache_digest(cache).items() if k.endswith(".bin")}  # noqa: E731
    assert models(tmp_path / "hostile-cache") == models(tmp_path / "clean-cache"), "same weights"
    statuses = _statuses(tmp_path / "hostile.duckdb")
    assert {m for (m, _), (status, _) in statuses.items() if status != "ok"} == {"torch-patcher"}


def test_sys_exit_in_a_method_fails_its_cell_under_the_serial_executor(tmp_path):
    """Serial runs share the runner's process (no isolation), but a plugin's sys.exit still cannot end the run."""
    db = tmp_path / "serial.duckdb"
    run = _run(db, tmp_path / "cache", "--task", "small", "--method", "exits-quietly,good", "--executor", "serial")
    assert run.returncode == 1 and "SystemExit: 0" in run.stdout + run.stderr
    statuses = _statuses(db)
    assert {key: status for key, (status, _) in statuses.items()} == {
        ("exits-quietly", 0): "error",
        ("exits-quietly", 1): "error",
        ("good", 0): "ok",
        ("good", 1): "ok",
    }
    with Store(db, read_only=True) as store:
        assert store.runs()["status"].tolist() == ["finished"]


def _processes_with(marker: str) -> list[int]:
    """Live processes whose environment holds ``marker`` (this test's unique file path)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "environ").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_killing_the_runner_while_hung_cells_hold_every_worker_keeps_every_finished_cell(db, tmp_path):
    """Four quick cells finish, then two hung cells hold both workers; the runner is killed with SIGKILL."""
    marks = tmp_path / "started.txt"
    argv = [reliabench_exe(), "--plugins-dir", str(FIXTURES), "run", "--db", str(db), "--quiet", "--task", "small"]
    grid = ["--method", "good,hangs", "--seeds", "0-3", "--workers", "2", "--timeout", "600"]
    env = {**os.environ, "TOY_MARKS": str(marks), "RELIABENCH_PLUGINS": ""}
    runner = subprocess.Popen([*argv, *grid], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (marks.exists() and len(marks.read_text().splitlines()) >= 6):
        time.sleep(0.01)
    time.sleep(1.0)  # the hung cells hold both workers; the finished ones must be written within 0.25 s
    runner.send_signal(signal.SIGKILL)
    runner.wait()

    with Store(db, read_only=True) as store:
        cells = store.cells("toy")
    assert sorted(cells.loc[cells["status"] == "ok", "seed"]) == [0, 1, 2, 3]
    assert set(cells["method"]) == {"good"}

    end = time.monotonic() + 10
    while _processes_with(str(marks)) and time.monotonic() < end:
        time.sleep(0.1)
    assert _processes_with(str(marks)) == [], "no process of the run outlives it"

    again = subprocess.run([*argv, "--method", "good", "--seeds", "0-3"], env=env, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    with Store(db, read_only=True) as store:
        runs = store.runs().sort_values("started_at")
    assert runs["status"].tolist() == ["interrupted", "finished"], "the killed run is marked by the next one"


@pytest.mark.parametrize(("executor", "workers"), [("serial", "1"), ("process", "1"), ("process", "2"), ("dask", "1")])
def test_every_cell_runs_with_one_thread_whatever_the_workers(tmp_path, executor, workers):
    """Float results depend on the thread count, so it is fixed per cell: the probe (noise + threads) equals good."""
    db = tmp_path / "threads.duckdb"
    grid = ["--task", "small", "--seeds", "0", "--method", "probe,good", "--executor", executor, "--workers", workers]
    run = _run(db, tmp_path / "cache", *grid)
    assert run.returncode == 0, run.stderr
    scores = _scores(db, ["probe", "good"])
    scores = scores[scores["metric"] == "score"]
    probe, good = (scores.loc[scores["method"] == m, "value"].to_numpy() for m in ("probe", "good"))
    assert len(good) == 8 and (probe == good).all(), "one torch thread and OMP_NUM_THREADS=1 in the cell"


def test_what_a_cell_starts_dies_with_it(tmp_path):
    """A subprocess a plugin leaves running is killed with its cell's process group."""
    cache = tmp_path / "cache"
    run = _run(tmp_path / "spawn.duckdb", cache, "--task", "small", "--seeds", "0", "--method", "spawner")
    assert run.returncode == 0, run.stderr
    assert _processes_with(str(cache)) == [], "the plugin's sleep 600 is gone"


def test_what_decides_the_floats_is_part_of_every_key(registry, monkeypatch):
    """Library versions and the thread count decide float results, so a cell stored under others runs again."""
    from harness import grid

    before = {cell.label: cell.key for cell in grid.plan_grid(registry, methods=["good"])}
    assert grid.numerics()["threads"] == 1 and grid.numerics()["torch"]
    upgraded = {**grid.numerics(), "torch": "9.9.9"}
    monkeypatch.setattr(grid, "numerics", lambda: upgraded)
    after = {cell.label: cell.key for cell in grid.plan_grid(registry, methods=["good"])}
    assert before.keys() == after.keys() and not set(before.values()) & set(after.values())
