"""The runner: resume, version bumps, fault isolation, kill-and-resume, CLI behaviour."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import FIXTURES, TRACK, reliabench_exe, with_track

from harness.errors import UsageError
from harness.grid import parse_seeds, plan_grid
from harness.registry import Curve, Metric
from harness.runner import FLUSH_SECONDS, run_cells
from harness.scores import CURVE_SERIES, ScoreError, validate
from harness.store import SCHEMA_VERSION, Store

HEALTHY = ["good", "fair", "bad"]


def run(registry, db, **filters):
    with Store(db) as store:
        return run_cells(registry, plan_grid(registry, **filters), store, show_progress=False)


def test_resume_runs_nothing_the_second_time(registry, db):
    first = run(registry, db, methods=HEALTHY)
    assert (first.ran, first.skipped, len(first.failed)) == (12, 0, 0)  # 2 tasks x 3 methods x 2 seeds
    second = run(registry, db, methods=HEALTHY)
    assert (second.ran, second.skipped) == (0, 12)
    with Store(db) as store:
        assert store.query("SELECT count(*) AS n FROM cells")["n"][0] == 12
        runs = store.runs()
    assert runs["ran"].tolist() == [12, 0] and runs["status"].tolist() == ["finished", "finished"]


def test_version_bump_reruns_only_its_cells(registry, db):
    run(registry, db, methods=HEALTHY)
    registry.methods["fair"] = dataclasses.replace(registry.methods["fair"], version="2")
    again = run(registry, db, methods=HEALTHY)
    assert again.ran == 4 and again.skipped == 8
    with Store(db) as store:
        versions = store.query("SELECT method_version, count(*) AS n FROM cells WHERE method = 'fair' GROUP BY 1")
    assert dict(zip(versions["method_version"], versions["n"], strict=True)) == {"1": 4, "2": 4}


def test_config_and_seed_enter_the_key(registry):
    quick = {c.key for c in plan_grid(registry, methods=["good"], profile="quick")}
    full = {c.key for c in plan_grid(registry, methods=["good"], profile="full")}
    assert not quick & full, "a different profile config must give different keys"
    seeds = plan_grid(registry, methods=["good"], seeds=(0, 5))
    assert len({c.key for c in seeds}) == len(seeds) == 4


def test_faulty_plugins_fail_only_their_cells(registry, db):
    faulty = ["raises", "nan", "wrong-shape", "text", "not-scorer"]
    summary = run(registry, db, tasks=["small"], seeds=(0,), methods=HEALTHY + faulty)
    failed = {cell.method_name: outcome.error for cell, outcome in summary.failed}
    assert set(failed) == {"raises", "nan", "wrong-shape", "text", "not-scorer"}
    assert failed["raises"] == "ValueError: boom: this method always fails"
    assert "non-finite" in failed["nan"] and "'score'" in failed["nan"]
    assert "declared sample (1-D)" in failed["wrong-shape"] and "(2, 8)" in failed["wrong-shape"]
    assert "not a number or array" in failed["text"]
    assert "instance of NotAScorer, which is not a Scorer: it lacks scores" in failed["not-scorer"]
    with Store(db) as store:
        cells = store.cells("toy").set_index("method")
        scores = store.results("toy")
    assert (cells.loc[HEALTHY, "status"] == "ok").all()
    assert (cells.loc[list(failed), "status"] == "error").all()
    assert "Traceback" in cells.loc["raises", "detail"]
    assert set(scores["method"]) == set(HEALTHY), "failed cells store no scores"


def test_undeclared_metric_fails_the_cell(registry, db):
    suite = registry.suites["toy"]
    registry.suites["toy"] = dataclasses.replace(suite, evaluate=lambda cell: {"score": [1.0], "bogus": 2.0})
    summary = run(registry, db, methods=["good"], tasks=["small"], seeds=(0,))
    (_, outcome), *_ = summary.failed
    assert "metric 'bogus', which suite 'toy' does not declare" in outcome.error


def test_failed_cell_is_rerun_and_replaced_without_duplicates(registry, db):
    suite = registry.suites["toy"]
    registry.suites["toy"] = dataclasses.replace(suite, evaluate=lambda cell: 1 / 0)
    assert len(run(registry, db, methods=["good"]).failed) == 4
    registry.suites["toy"] = suite
    again = run(registry, db, methods=["good"])
    assert again.ran == 4 and not again.failed
    with Store(db) as store:
        dupes = store.query("SELECT key, count(*) AS n FROM cells GROUP BY key HAVING n > 1")
        statuses = store.query("SELECT DISTINCT status FROM cells")["status"].tolist()
    assert dupes.empty and statuses == ["ok"]


def test_stored_scores_keep_every_shape(registry, db):
    run(registry, db, methods=["good"], tasks=["small"], seeds=(0,))
    with Store(db) as store:
        scores = store.results("toy")
    by_metric = dict(list(scores.groupby("metric")))
    assert by_metric["score"]["sample"].tolist() == list(range(8))
    assert by_metric["total"]["sample"].isna().all() and len(by_metric["total"]) == 1
    assert by_metric["trace"]["step"].tolist() == [0.0, 10.0, 20.0]
    matrix = by_metric["matrix"]
    assert len(matrix) == 6 and (matrix["row"] >= matrix["col"]).all(), "the masked upper triangle is not stored"
    assert by_metric["total"]["value"].iloc[0] == pytest.approx(by_metric["score"]["value"].sum())


NAN = float("nan")


@pytest.mark.parametrize(
    ("series", "message"),
    [
        ({"lower": [0, 1], "upper": [2, 3, 4]}, "lower has shape (2,) but its steps (3,)"),
        ({"reference": [1, 2, 3, 4]}, "reference has shape (4,) but its steps (3,)"),
        ({"reference": [[1, 2, 3]]}, "reference has shape (1, 3)"),
        ({"lower": [0, 3, 2.5], "upper": [2, 2.5, 2]}, "lower > upper at 2 step(s) (first at step 1.0: 3.0 > 2.5)"),
        ({"lower": [0, NAN, 2], "upper": [2, 3, 4]}, "lower has 1 non-finite value(s) (first at step 1.0)"),
        ({"lower": [0, 1, 2], "upper": [2, 3, float("inf")]}, "upper has 1 non-finite value(s) (first at step 2.0)"),
        ({"reference": [NAN, NAN, 0]}, "reference has 2 non-finite value(s) (first at step 0.0)"),
        ({"upper": [2, 3, 4]}, "has upper but no lower: give both bounds of its band, or neither"),
        ({"lower": [0, 1, 2]}, "has lower but no upper"),
        ({"reference": "measured"}, "is str, not a number or array"),
    ],
)
def test_a_curve_band_is_checked(registry, series, message):
    suite = dataclasses.replace(registry.suites["toy"], metrics=(TRACK,))
    with pytest.raises(ScoreError) as error:
        validate(suite, {"track": Curve([0, 1, 2], [1.0, 2.0, 3.0], **series)})
    assert "'track'" in str(error.value) and message in str(error.value)


def test_a_banded_curve_keeps_its_values_unmasked(registry):
    suite = dataclasses.replace(registry.suites["toy"], metrics=(TRACK,))
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[0, 1, 0])
    with pytest.raises(ScoreError, match="curve 'track' has a band or reference, so its values cannot be masked"):
        validate(suite, {"track": Curve([0, 1, 2], masked, reference=[1, 2, 3])})
    rows = validate(suite, {"track": Curve([0, 1, 2], masked)})  # without one, masked steps are left out
    assert rows.step.tolist() == [0.0, 2.0] and rows.value.tolist() == [1.0, 3.0]


def test_a_band_is_stored_beside_unchanged_values(registry, tmp_path):
    toy = registry.suites["toy"]
    stored = {}
    for band in (False, True):
        registry.suites["toy"] = with_track(toy, band)
        run(registry, tmp_path / f"{band}.duckdb", methods=HEALTHY)
        with Store(tmp_path / f"{band}.duckdb", read_only=True) as store:
            stored[band] = store.results("toy").drop(columns="run_id")
    order = ["cell_key", "metric", "row", "step", "sample", "col"]
    plain, banded = (stored[band].sort_values(order).reset_index(drop=True) for band in (False, True))
    extra = banded["row"].notna() & (banded["metric"] == "track")
    assert banded[~extra].reset_index(drop=True).equals(plain), "every value row is stored exactly as without a band"
    assert plain.loc[plain["metric"] == "track", "row"].isna().all()
    for _, cell in banded[banded["metric"] == "track"].groupby("cell_key"):
        series = {code: part.sort_values("step") for code, part in cell.groupby(cell["row"].fillna(0))}
        assert sorted(series) == [0, *CURVE_SERIES.values()]
        values = series[0]["value"].to_numpy()
        for code in CURVE_SERIES.values():
            assert series[code]["step"].tolist() == [0.0, 1.0, 2.0, 3.0]
            assert series[code]["sample"].isna().all() and series[code]["col"].isna().all()
        assert np.allclose(series[CURVE_SERIES["lower"]]["value"], values - 0.5)
        assert np.allclose(series[CURVE_SERIES["upper"]]["value"], values + 0.5)
        assert series[CURVE_SERIES["reference"]]["value"].tolist() == [0.0, 0.5, 1.0, 0.5]


def test_same_seed_same_numbers_bit_for_bit(registry, tmp_path):
    frames = []
    for name in ("a", "b"):
        run(registry, tmp_path / f"{name}.duckdb", methods=HEALTHY)
        with Store(tmp_path / f"{name}.duckdb") as store:
            frames.append(store.results("toy").drop(columns="run_id").sort_values(["cell_key", "metric", "sample"]))
    assert frames[0].reset_index(drop=True).equals(frames[1].reset_index(drop=True))


def test_parse_seeds():
    assert parse_seeds("0,1,2") == (0, 1, 2)
    assert parse_seeds("3-5,1,3") == (3, 4, 5, 1)
    with pytest.raises(UsageError, match="not a list of integers"):
        parse_seeds("a,b")


def test_unknown_filters_suggest_names(registry):
    with pytest.raises(UsageError, match="no suite named 'tyo'; did you mean 'toy'"):
        plan_grid(registry, suites=["tyo"])
    with pytest.raises(UsageError, match="did you mean 'small'"):
        plan_grid(registry, tasks=["smal"])


def test_cli_run_summary_exit_code_and_dry_run(cli_run):
    code, out = cli_run("run", "--method", "good,raises", "--task", "small", "--quiet")
    assert code == 1
    assert "ran 4, skipped 0 (already stored), failed 2 of 4 cells" in out
    assert "ValueError: boom" in out
    code, out = cli_run("run", "--method", "good,raises", "--task", "small", "--dry-run")
    assert code == 0 and "plan: 4 cells" in out and "2 to run, 2 already stored" in out
    code, out = cli_run("run", "--method", "god")
    assert code == 2 and "did you mean 'good'" in out and "Traceback" not in out


def test_cli_help_is_useful(cli_run):
    code, out = cli_run("run", "--help")
    assert code == 0 and "--profile TEXT" in out and "study" in out and "resumes" in out
    code, out = cli_run("leaderbord")
    assert code == 2 and "Did you mean 'leaderboard'" in out


def test_busy_database_names_the_holder(db, cli_run, monkeypatch):
    monkeypatch.setattr("harness.store.READ_WAIT_S", 0.5)  # how long a run waits for what it takes for a reader
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('open', flush=True); time.sleep(30)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(UsageError, match=rf"in use by another run \(pid {holder.pid}\)"):
            Store(db)
        code, out = cli_run("run", "--method", "good", "--quiet")
        assert code == 2 and f"pid {holder.pid}" in out
    finally:
        holder.kill()
        holder.wait()


def test_two_concurrent_runs_never_store_a_cell_twice(db):
    argv = [
        reliabench_exe(),
        "--plugins-dir",
        str(FIXTURES),
        "run",
        "--db",
        str(db),
        "--quiet",
        "--executor",
        "serial",
        "--wait",
        "60",
        *KILL_GRID,
    ]
    env = {**os.environ, "TOY_SLEEP": "0.05"}
    first, second = (subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2))
    outputs = [p.communicate(timeout=120)[0] for p in (first, second)]
    assert first.returncode == second.returncode == 0
    assert sorted("ran 18, skipped 0" in out for out in outputs) == [False, True]
    assert any("ran 0, skipped 18" in out for out in outputs), "the run that waited finds everything stored"
    assert _stored(db) == (18, 18)


def test_foreign_duckdb_file_is_refused(tmp_path):
    path = tmp_path / "other.duckdb"
    duckdb.connect(str(path)).execute("CREATE TABLE t (x INT)").close()
    with pytest.raises(UsageError, match="not a reliabench database"):
        Store(path)


def test_newer_schema_is_refused(db):
    Store(db).close()
    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = '999' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(UsageError, match="newer reliabench"):
        Store(db)


# The metrics table as schema versions 1 and 2 wrote it (before group_name and axis; before versus).
V1_COLUMNS = (
    "suite, suite_version, metric, higher_is_better, unit, meaning, shape, formula, reference, deterministic, "
    "phases, position"
)
V1_METRICS = """
CREATE TABLE metrics (
    suite VARCHAR, suite_version VARCHAR, metric VARCHAR, higher_is_better BOOLEAN, unit VARCHAR,
    meaning VARCHAR, shape VARCHAR, formula VARCHAR, reference VARCHAR, deterministic BOOLEAN, phases BOOLEAN,
    position INTEGER,
    PRIMARY KEY (suite, suite_version, metric)
);
"""
V2_METRICS = V1_METRICS.replace(
    "    position INTEGER,\n", "    position INTEGER, group_name VARCHAR DEFAULT '', axis VARCHAR DEFAULT '',\n"
)


def _as_old(db, version: int) -> None:
    """Turn a database into schema ``version`` (1 or 2): that version's metrics table, holding the same
    declarations (as far as it has columns for them)."""
    columns = V1_COLUMNS + (", group_name, axis" if version == 2 else "")
    con = duckdb.connect(str(db))
    declared = con.execute(f"SELECT {columns} FROM metrics").fetchall()
    con.execute("DROP TABLE metrics")
    con.execute(V1_METRICS if version == 1 else V2_METRICS)
    con.executemany(f"INSERT INTO metrics VALUES ({', '.join('?' * len(declared[0]))})", declared)
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(version)])
    con.close()


def _migrated(db) -> tuple[str, set[str], pd.DataFrame]:
    with pytest.raises(UsageError, match="old schema"):
        Store(db, read_only=True)
    with Store(db) as store:  # a writer migrates
        version = store.query("SELECT value FROM meta WHERE key = 'schema_version'")["value"][0]
        columns = store.query("SELECT column_name FROM information_schema.columns WHERE table_name = 'metrics'")
        return version, set(columns["column_name"]), store.metrics("toy")


def test_v1_database_is_migrated_and_reads_as_before(registry, db):
    from harness.publish.content import suite_page

    run(registry, db, methods=["good", "bad"], seeds=(0,))
    _as_old(db, 1)
    version, columns, metrics = _migrated(db)
    assert version == str(SCHEMA_VERSION) == "3", "1 -> 2 -> 3"
    assert {"group_name", "axis", "versus"} <= columns
    assert metrics["metric"].tolist() == list(registry.suites["toy"].metric_names), "declaration order is kept"
    assert (metrics["group_name"] == "").all() and (metrics["axis"] == "").all() and (metrics["versus"] == "").all()
    with Store(db) as store:  # a NULL, as a hand-made row may hold, reads as ''
        store.con.execute("UPDATE metrics SET group_name = NULL, axis = NULL, versus = NULL WHERE metric = 'trace'")
        trace = store.metrics("toy").set_index("metric").loc["trace"]
        assert (trace["group_name"], trace["axis"], trace["versus"]) == ("", "", "")
        store.record_suite(registry.suites["toy"])  # named columns: the appended ones get their values
    with Store(db, read_only=True) as store:
        page = suite_page(store, "toy")
    assert list(page.curves) == ["trace"] and page.groups == {} and page.scatters == {}
    assert page.rows[0].entry == "good"


def test_v2_database_is_migrated_keeping_its_groups_and_axes(registry, db):
    from harness.publish.content import suite_page

    toy = registry.suites["toy"]
    declared = dataclasses.replace(
        toy,
        metrics=tuple(dataclasses.replace(m, axis="checkpoint") if m.name == "trace" else m for m in toy.metrics),
    )
    registry.suites["toy"] = declared
    run(registry, db, methods=["good", "bad"], seeds=(0,))
    _as_old(db, 2)
    version, columns, metrics = _migrated(db)
    assert version == "3" and "versus" in columns
    assert metrics.set_index("metric")["axis"].to_dict() == {
        "score": "",
        "total": "",
        "trace": "checkpoint",
        "matrix": "",
    }
    assert (metrics["versus"] == "").all(), "rows written before versus have none"
    drawn = dataclasses.replace(
        declared,
        metrics=tuple(dataclasses.replace(m, versus="score") if m.name == "total" else m for m in declared.metrics),
    )
    with Store(db) as store:
        store.record_suite(drawn)  # named columns: versus lands in its appended column
        assert store.metrics("toy").set_index("metric")["versus"].to_dict()["total"] == "score"
    with Store(db, read_only=True) as store:
        page = suite_page(store, "toy")
    assert list(page.scatters) == ["total"] and list(page.scatters["total"]) == ["small", "tiny-data"]
    assert page.axis("trace") == "checkpoint"


def test_every_metric_declaration_is_stored(registry, db):
    suite = registry.suites["toy"]
    shaped = (
        Metric("a", False, "u", "m", shape="scalar", formula="f", reference="r", deterministic=False, group="g"),
        Metric("b", True, shape="curve", phases=True, axis="pushback turn"),
        Metric("c", True, shape="scalar", versus="a"),
    )
    with Store(db) as store:
        store.record_suite(dataclasses.replace(suite, metrics=shaped))
        stored = store.metrics(suite.name).drop(columns=["suite", "suite_version", "position"])
    as_declared = [
        {
            ("metric" if f.name == "name" else "group_name" if f.name == "group" else f.name): getattr(m, f.name)
            for f in dataclasses.fields(Metric)
        }
        for m in shaped
    ]
    assert stored.to_dict("records") == as_declared


def _stored(db) -> tuple[int, int]:
    with Store(db, read_only=True) as store:
        cells = store.query("SELECT count(*) AS n, count(DISTINCT key) AS k FROM cells WHERE status = 'ok'")
    return int(cells["n"][0]), int(cells["k"][0])


def _contents(db) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every cell's key and status, and every score, in a fixed order: what two equal databases share."""
    with Store(db, read_only=True) as store:
        cells = store.query("SELECT key, status FROM cells ORDER BY key")
        scores = store.query(
            'SELECT cell_key, metric, sample, step, "row", col, value FROM scores '
            'ORDER BY cell_key, metric, sample, step, "row", col'
        )
    return cells, scores


KILL_GRID = ["--method", ",".join(HEALTHY), "--seeds", "0-2"]  # 2 tasks x 3 methods x 3 seeds = 18 cells


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    db = tmp_path_factory.mktemp("reference") / "reference.duckdb"
    argv = [reliabench_exe(), "--plugins-dir", str(FIXTURES), "run", "--db", str(db), "--quiet", "--executor", "serial"]
    subprocess.run([*argv, *KILL_GRID], check=True, capture_output=True)
    return _contents(db)


@pytest.mark.parametrize(
    ("executor", "sleep", "kill_after"),
    [("serial", 0.3, 2), ("serial", 0.01, 10), ("process", 0.05, 3), ("process", 0.02, 11)],
)
def test_sigkill_at_any_point_resumes_to_the_uninterrupted_database(
    db, tmp_path, uninterrupted, executor, sleep, kill_after
):
    argv = [reliabench_exe(), "--plugins-dir", str(FIXTURES), "run", "--db", str(db), "--quiet", *KILL_GRID]
    marks = tmp_path / "started.txt"
    env = {**os.environ, "TOY_SLEEP": str(sleep), "TOY_MARKS": str(marks)}
    victim = subprocess.Popen(
        [*argv, "--executor", executor], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None:
        if marks.exists() and len(marks.read_text().splitlines()) >= kill_after:
            break
        time.sleep(0.005)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    done, distinct = _stored(db)
    assert done == distinct < 18
    if executor == "serial" and sleep > FLUSH_SECONDS:
        assert done >= kill_after - 1, "a cell slower than the flush interval is stored as soon as it ends"
    finish = subprocess.run([*argv, "--executor", executor], capture_output=True, text=True, check=False)
    assert finish.returncode == 0, finish.stdout + finish.stderr
    assert f"ran {18 - done}, skipped {done}" in finish.stdout
    cells, scores = _contents(db)
    reference_cells, reference_scores = uninterrupted
    assert cells.equals(reference_cells), "the same cells, each once, all ok"
    assert scores.equals(reference_scores), "the same values, bit for bit, none twice"


def test_names_may_be_comma_separated_or_repeated(cli_run):
    """``--task a --task b`` means both tasks, as ``--task a,b`` does (click would otherwise keep only the last)."""
    code, repeated = cli_run(
        "run", "--suite", "toy", "--task", "small", "--task", "tiny-data", "--seeds", "0", "--dry-run"
    )
    assert code == 0, repeated
    code, joined = cli_run("run", "--suite", "toy", "--task", "small,tiny-data", "--seeds", "0", "--dry-run")
    assert code == 0 and repeated == joined
    assert "small" in repeated and "tiny-data" in repeated


def test_leaderboard_reads_while_a_run_writes(db):
    """A run opens the file only to write: boards and exports read it meanwhile, and a second run still waits."""
    argv = [reliabench_exe(), "--plugins-dir", str(FIXTURES), "run", "--db", str(db), "--quiet"]
    run = subprocess.Popen(
        [*argv, "--executor", "serial", *KILL_GRID], env={**os.environ, "TOY_SLEEP": "0.8"}, stdout=subprocess.PIPE
    )
    try:
        seen = 0
        while run.poll() is None and not 0 < seen < 18:
            time.sleep(0.2)
            if db.exists():
                seen = _stored(db)[0]  # waits for a write in progress, never for the whole run
        assert run.poll() is None and 0 < seen < 18, "read while the run was still going"
        board = subprocess.run(
            [reliabench_exe(), "--plugins-dir", str(FIXTURES), "leaderboard", "--suite", "toy", "--db", str(db)],
            capture_output=True,
            text=True,
        )
        assert board.returncode == 0 and "good" in board.stdout
        second = subprocess.run([*argv, "--method", "good"], capture_output=True, text=True)
        assert second.returncode == 2 and f"in use by another run (pid {run.pid})" in second.stdout + second.stderr
    finally:
        run.wait(timeout=120)
    assert run.returncode == 0 and _stored(db) == (18, 18)
