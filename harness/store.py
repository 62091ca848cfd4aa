"""The DuckDB store: one file holds every run, cell and score.

Each finished cell is written in one transaction (its row and all its scores, or
nothing), so a run killed at any point loses only the cells in flight. One run
writes to a database at a time (a lock file beside it); it opens the file only to
write, so ``leaderboard``, ``export`` and ``site build`` can read while it runs. A
second run is told which process holds the database instead of being shown
DuckDB's lock error.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from harness.errors import UsageError
from harness.registry import Suite, kind_name
from harness.scores import NO_INDEX, ScoreRows

SCHEMA_VERSION = 3
DEFAULT_DB = Path("results") / "reliabench.duckdb"
DB_ENV = "RELIABENCH_DB"

SCORE_COLUMNS = ("cell_key", "metric", "sample", "step", "row", "col", "value")

SCHEMA = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE runs (
    run_id VARCHAR PRIMARY KEY, started_at TIMESTAMPTZ, finished_at TIMESTAMPTZ, status VARCHAR,
    argv VARCHAR, git_sha VARCHAR, python VARCHAR, torch VARCHAR, harness_version VARCHAR,
    host VARCHAR, plugins VARCHAR, ran INTEGER, skipped INTEGER, failed INTEGER
);
CREATE TABLE suites (
    suite VARCHAR, suite_version VARCHAR, title VARCHAR, description VARCHAR, primary_metric VARCHAR,
    model_kind VARCHAR, method_kind VARCHAR, refs VARCHAR, tasks VARCHAR, rank_by VARCHAR,
    PRIMARY KEY (suite, suite_version)
);
CREATE TABLE metrics (
    suite VARCHAR, suite_version VARCHAR, metric VARCHAR, higher_is_better BOOLEAN, unit VARCHAR,
    meaning VARCHAR, shape VARCHAR, formula VARCHAR, reference VARCHAR, deterministic BOOLEAN, phases BOOLEAN,
    position INTEGER, group_name VARCHAR DEFAULT '', axis VARCHAR DEFAULT '', versus VARCHAR DEFAULT '',
    PRIMARY KEY (suite, suite_version, metric)
);
CREATE TABLE cells (
    key VARCHAR PRIMARY KEY, run_id VARCHAR, suite VARCHAR, suite_version VARCHAR, task VARCHAR,
    data_fingerprint VARCHAR, entry VARCHAR, model VARCHAR, model_version VARCHAR, method VARCHAR,
    method_version VARCHAR, seed INTEGER, profile VARCHAR, config VARCHAR, suite_plugin VARCHAR, model_plugin VARCHAR,
    method_plugin VARCHAR, status VARCHAR, error VARCHAR, detail VARCHAR, duration_s DOUBLE,
    finished_at TIMESTAMPTZ
);
CREATE TABLE scores (
    cell_key VARCHAR, metric VARCHAR, sample INTEGER, step DOUBLE, "row" INTEGER, col INTEGER, value DOUBLE
);
CREATE INDEX scores_cell ON scores (cell_key);
"""

# Statements that bring a database from schema version N to N + 1.
MIGRATIONS: dict[int, str] = {
    # 1 -> 2: metrics say which group of shares they belong to and what their step axis is
    1: "ALTER TABLE metrics ADD COLUMN group_name VARCHAR DEFAULT '';\n"
    "ALTER TABLE metrics ADD COLUMN axis VARCHAR DEFAULT '';",
    # 2 -> 3: a metric may name another to be drawn against (a scatter plot per condition)
    2: "ALTER TABLE metrics ADD COLUMN versus VARCHAR DEFAULT '';",
}

# The columns ``record_suite`` writes, named: a migrated table has its newer columns at the end.
METRIC_COLUMNS = (
    "suite",
    "suite_version",
    "metric",
    "higher_is_better",
    "unit",
    "meaning",
    "shape",
    "formula",
    "reference",
    "deterministic",
    "phases",
    "position",
    "group_name",
    "axis",
    "versus",
)


class DatabaseBusy(UsageError):
    """Another process holds the database open for writing."""


def default_db() -> Path:
    return Path(os.environ.get(DB_ENV) or DEFAULT_DB)


def _now() -> datetime:
    return datetime.now(UTC)


def _connect(path: Path, read_only: bool, wait_s: float) -> duckdb.DuckDBPyConnection:
    deadline = time.monotonic() + wait_s
    while True:
        try:
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise UsageError(f"cannot open results database {path}: {exc}") from None
            if time.monotonic() >= deadline:
                pid = re.search(r"PID (\d+)", str(exc))
                raise _busy(path, pid.group(1) if pid else None, read_only) from None
            time.sleep(0.05)
        except duckdb.Error as exc:
            raise UsageError(f"{path} is not a readable reliabench database: {exc}") from None


def _busy(path: Path, pid: str | None, read_only: bool = False) -> DatabaseBusy:
    holder = f" (pid {pid})" if pid else ""
    if read_only:
        return DatabaseBusy(f"database {path} is held open for writing by another process{holder}; try again")
    return DatabaseBusy(
        f"database {path} is in use by another run{holder}; wait for it to finish, "
        "pass --wait SECONDS, or use another --db"
    )


class _RunLock:
    """One writing run per database, for the whole run: an exclusive ``flock`` on ``<db>.lock``.

    DuckDB lets one process hold a file for writing and no one read it meanwhile, so
    a run does not keep the file open: it opens it to write and lets go (readers such
    as ``leaderboard`` come in between). This lock keeps a second run out instead.
    """

    def __init__(self, path: Path, wait_s: float):
        lock = path.with_name(path.name + ".lock")
        try:
            self.file = open(lock, "a+")  # noqa: SIM115 (held for the run)
        except OSError as exc:
            raise UsageError(
                f"cannot write the lock file {lock} beside the results database: {exc.strerror or exc}; "
                "pass a --db in a folder you can write to"
            ) from None
        deadline = time.monotonic() + wait_s
        while True:
            try:
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    self.file.seek(0)
                    pid = self.file.read().strip()
                    self.file.close()
                    raise _busy(path, pid or None) from None
                time.sleep(0.2)
        self.file.seek(0)
        self.file.truncate()
        self.file.write(str(os.getpid()))
        self.file.flush()

    def release(self) -> None:
        fcntl.flock(self.file, fcntl.LOCK_UN)
        self.file.close()


@dataclass(frozen=True)
class CellRecord:
    """One cell's row in ``cells``: its axes, versions, provenance and outcome."""

    key: str
    run_id: str
    suite: str
    suite_version: str
    task: str
    data_fingerprint: str
    entry: str
    model: str
    model_version: str
    method: str
    method_version: str
    seed: int
    profile: str
    config: str
    suite_plugin: str
    model_plugin: str
    method_plugin: str
    status: str
    error: str
    detail: str
    duration_s: float


CELL_COLUMNS = (*(f.name for f in fields(CellRecord)), "finished_at")


READ_WAIT_S = 10.0  # a reader waits this long for a run's write to finish (a write takes well under a second)
REOPEN_WAIT_S = 600.0  # a run waits this long for readers to let go before it writes again


class Store:
    """A connection to the results database; use as a context manager.

    A writing store holds the run lock (:class:`_RunLock`) until it is closed, but
    its DuckDB connection only while it works: :meth:`release` closes it so readers
    can open the file, and the next use opens it again.
    """

    def __init__(self, path: Path | str | None = None, read_only: bool = False, wait_s: float = 0.0):
        self.path = Path(path) if path is not None else default_db()
        self.read_only = read_only
        if read_only and not self.path.exists():
            raise UsageError(f"no results database at {self.path}; run `reliabench run` first or pass --db")
        self._lock: _RunLock | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        if not read_only:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise UsageError(
                    f"cannot create the folder of results database {self.path}: {exc.strerror or exc}; "
                    "pass a --db in a folder you can write to"
                ) from None
            self._lock = _RunLock(self.path, wait_s)
        try:
            # a writer holds the run lock by now: only a reader can have the file open, and not for long
            self._con = _connect(self.path, read_only, max(wait_s, READ_WAIT_S))
            self._prepare_schema(read_only)
        except BaseException:
            self.close()
            raise

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The DuckDB connection, opened again after :meth:`release` (waiting for readers to let go)."""
        if self._con is None:
            self._con = _connect(self.path, self.read_only, REOPEN_WAIT_S)
        return self._con

    def release(self) -> None:
        """Close the file (the run lock stays held) so that readers can open it until the next write."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.release()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- schema -------------------------------------------------------------------------
    def _prepare_schema(self, read_only: bool) -> None:
        tables = {row[0] for row in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "meta" not in tables:
            if tables:
                raise UsageError(f"{self.path} is a DuckDB file but not a reliabench database; pass another --db")
            if read_only:
                raise UsageError(f"{self.path} holds no reliabench results yet")
            with self._transaction():
                self.con.execute(SCHEMA)
                self.con.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            return
        version = int(self.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()[0][0])
        if version > SCHEMA_VERSION:
            raise UsageError(
                f"{self.path} was written by a newer reliabench (schema {version}, this one reads up to "
                f"{SCHEMA_VERSION}); upgrade reliabench"
            )
        if version < SCHEMA_VERSION:
            if read_only:
                raise UsageError(f"{self.path} uses an old schema ({version}); open it once with `reliabench run`")
            with self._transaction():
                for step in range(version, SCHEMA_VERSION):
                    self.con.execute(MIGRATIONS[step])
                self.con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])

    def _transaction(self):
        return _Transaction(self.con)

    # -- writes -------------------------------------------------------------------------
    def begin_run(self, run_id: str, provenance: Mapping[str, Any]) -> None:
        """Record a new run, first marking ``interrupted`` every run still ``running``.

        Only one process can hold the database for writing, so a run found
        ``running`` by the next writer was killed before it could say so.
        """
        self.con.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
        self.con.execute(
            "INSERT INTO runs (run_id, started_at, status, argv, git_sha, python, torch, harness_version, host, "
            "plugins) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
            [
                run_id,
                _now(),
                json.dumps(provenance["argv"]),
                provenance["git_sha"],
                provenance["python"],
                provenance["torch"],
                provenance["harness_version"],
                provenance["host"],
                json.dumps(provenance["plugins"]),
            ],
        )

    def finish_run(self, run_id: str, status: str, ran: int, skipped: int, failed: int) -> None:
        self.con.execute(
            "UPDATE runs SET finished_at = ?, status = ?, ran = ?, skipped = ?, failed = ? WHERE run_id = ?",
            [_now(), status, ran, skipped, failed, run_id],
        )

    def record_suite(self, suite: Suite) -> None:
        """Keep the suite's declarations beside its numbers, so reading needs no plugin."""
        with self._transaction():
            self.con.execute(
                "INSERT OR REPLACE INTO suites VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    suite.name,
                    suite.version,
                    suite.title,
                    suite.description,
                    suite.primary_metric,
                    kind_name(suite.model_kind),
                    kind_name(suite.method_kind),
                    json.dumps(list(suite.references)),
                    json.dumps({t.name: t.description for t in suite.tasks}),
                    suite.rank_by,
                ],
            )
            self.con.executemany(
                f"INSERT OR REPLACE INTO metrics ({', '.join(METRIC_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(METRIC_COLUMNS))})",
                [
                    [
                        suite.name,
                        suite.version,
                        m.name,
                        m.higher_is_better,
                        m.unit,
                        m.meaning,
                        m.shape,
                        m.formula,
                        m.reference,
                        m.deterministic,
                        m.phases,
                        position,
                        m.group,
                        m.axis,
                        m.versus,
                    ]
                    for position, m in enumerate(suite.metrics)
                ],
            )

    def write_cells(self, batch: Sequence[tuple[CellRecord, ScoreRows | None]], replace: bool = False) -> None:
        """Store finished cells in one transaction: each with all its scores, or nothing.

        ``replace`` first removes whatever is stored under the same keys (a failed
        cell being re-run); fresh keys skip that scan.
        """
        if not batch:
            return
        records = [record for record, _ in batch]
        cells = pa.table({c: [getattr(r, c) for r in records] for c in CELL_COLUMNS if c != "finished_at"})
        cells = cells.append_column("finished_at", pa.array([_now()] * len(records), pa.timestamp("us", tz="UTC")))
        scored = [(record.key, rows) for record, rows in batch if rows is not None and len(rows)]
        with self._transaction():
            self.con.register("pending_cells", cells)
            try:
                if replace:
                    self.con.execute("DELETE FROM scores WHERE cell_key IN (SELECT key FROM pending_cells)")
                    self.con.execute("DELETE FROM cells WHERE key IN (SELECT key FROM pending_cells)")
                self.con.execute("INSERT INTO cells SELECT * FROM pending_cells")
            finally:
                self.con.unregister("pending_cells")
            if scored:
                self.con.register("pending_scores", _score_table(scored))
                try:
                    self.con.execute(
                        f"INSERT INTO scores SELECT {', '.join(_quoted(SCORE_COLUMNS))} FROM pending_scores"
                    )
                finally:
                    self.con.unregister("pending_scores")

    # -- reads --------------------------------------------------------------------------
    def stored_status(self, keys: Iterable[str]) -> dict[str, str]:
        """The stored status of each of ``keys`` that has a row."""
        self.con.register("wanted_keys", pa.table({"key": pa.array(list(keys), pa.string())}))
        try:
            rows = self.con.execute("SELECT c.key, c.status FROM cells c JOIN wanted_keys w USING (key)").fetchall()
        finally:
            self.con.unregister("wanted_keys")
        return dict(rows)

    def ok_keys(self, keys: Iterable[str]) -> set[str]:
        return {key for key, status in self.stored_status(keys).items() if status == "ok"}

    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        return self.con.sql(sql, params=params or None).to_arrow_table().to_pandas()

    def results(self, suite: str | None = None) -> pd.DataFrame:
        """Every score of every ``ok`` cell, joined with the cell's axes."""
        where = "WHERE c.status = 'ok'" + (" AND c.suite = ?" if suite else "")
        return self.query(
            "SELECT c.suite, c.suite_version, c.task, c.entry, c.model, c.method, c.seed, c.profile, s.metric, "
            's.sample, s.step, s."row", s.col, s.value, c.key AS cell_key, c.run_id '
            f"FROM scores s JOIN cells c ON s.cell_key = c.key {where}",
            [suite] if suite else [],
        )

    def cells(self, suite: str | None = None) -> pd.DataFrame:
        where = "WHERE suite = ?" if suite else ""
        return self.query(f"SELECT * FROM cells {where} ORDER BY suite, task, entry, seed", [suite] if suite else [])

    def suites(self) -> pd.DataFrame:
        return self.query("SELECT * FROM suites ORDER BY suite, suite_version")

    def metrics(self, suite: str | None = None) -> pd.DataFrame:
        """The declared metrics in declaration order; ``group_name``, ``axis`` and ``versus`` are '' where none was
        declared."""
        where = "WHERE suite = ?" if suite else ""
        return self.query(
            "SELECT * REPLACE (coalesce(group_name, '') AS group_name, coalesce(axis, '') AS axis, "
            "coalesce(versus, '') AS versus) "
            f"FROM metrics {where} ORDER BY suite, suite_version, position",
            [suite] if suite else [],
        )

    def runs(self) -> pd.DataFrame:
        return self.query("SELECT * FROM runs ORDER BY started_at")


def _score_table(scored: Sequence[tuple[str, ScoreRows]]) -> pa.Table:
    def column(name: str) -> np.ndarray:
        return np.concatenate([getattr(rows, name) for _, rows in scored])

    def nullable(name: str) -> pa.Array:
        values = column(name)
        return pa.array(values, pa.int32(), mask=values == NO_INDEX)

    keys = np.repeat(np.array([key for key, _ in scored], dtype=object), [len(rows) for _, rows in scored])
    step = column("step")
    return pa.table(
        {
            "cell_key": pa.array(keys, pa.string()),
            "metric": pa.array(column("metric"), pa.string()),
            "sample": nullable("sample"),
            "step": pa.array(step, pa.float64(), mask=np.isnan(step)),
            "row": nullable("row"),
            "col": nullable("col"),
            "value": pa.array(column("value"), pa.float64()),
        }
    )


def _quoted(columns: Iterable[str]) -> list[str]:
    return [f'"{c}"' for c in columns]


class _Transaction:
    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con

    def __enter__(self) -> None:
        self.con.execute("BEGIN TRANSACTION")

    def __exit__(self, exc_type, exc, tb) -> None:
        self.con.execute("ROLLBACK" if exc_type else "COMMIT")


def load_results(db: Path | str | None = None, suite: str | None = None) -> pd.DataFrame:
    """All stored scores of successful cells as a pandas DataFrame (one row per value)."""
    with Store(db, read_only=True) as store:
        return store.results(suite)
