"""Run a planned grid: skip what is stored, execute the rest, store each cell as it finishes."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from harness import provenance
from harness.executors import Executor, Outcome, SerialExecutor
from harness.grid import canonical_json
from harness.registry import Cell, Registry
from harness.scores import ScoreRows
from harness.store import CellRecord, Store
from harness.terminal import plain

FLUSH_SECONDS = 0.25
RELEASE_SECONDS = 2.0  # the file is held at most this long at a time, so readers get in (a reader waits 10 s)


@dataclass
class RunSummary:
    """How a run went; ``failed`` keeps each failed cell with its outcome."""

    run_id: str
    db: Path
    planned: int
    skipped: int
    ran: int = 0
    failed: list[tuple[Cell, Outcome]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return not self.failed and not self.interrupted


def _plugin_label(registry: Registry, category: str, name: str) -> str:
    if not name:
        return ""
    info = registry.provider(category, name)
    return f"{info.package}=={info.version}:{info.name}"


def _record(cell: Cell, outcome: Outcome, run_id: str, registry: Registry) -> CellRecord:
    return CellRecord(
        key=cell.key,
        run_id=run_id,
        suite=cell.suite.name,
        suite_version=cell.suite.version,
        task=cell.task.name,
        data_fingerprint=cell.data_fingerprint,
        entry=cell.entry,
        model=cell.model_name,
        model_version=cell.model.version if cell.model else "",
        method=cell.method_name,
        method_version=cell.method.version if cell.method else "",
        seed=cell.seed,
        profile=cell.profile,
        config=canonical_json(cell.config),
        suite_plugin=_plugin_label(registry, "suite", cell.suite.name),
        model_plugin=_plugin_label(registry, "model", cell.model_name),
        method_plugin=_plugin_label(registry, "method", cell.method_name),
        status=outcome.status,
        error=outcome.error,
        detail=outcome.detail,
        duration_s=outcome.duration_s,
    )


def _progress_for(console: Console) -> Progress | _LineProgress:
    """A live bar on a terminal; plain lines where ``console`` writes to a file or a pipe (CI logs, nohup)."""
    return _progress(console) if console.is_terminal else _LineProgress(console)


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        TextColumn("{task.fields[current]}", markup=False),
        console=console,
    )


class _Writer:
    """Group commit with a deadline: a background thread writes what has finished every FLUSH_SECONDS.

    A cell that ends more than FLUSH_SECONDS after the last write is written at
    once; any other is written by the thread within FLUSH_SECONDS, whatever the
    executor is doing (even while hung cells hold every worker). A stream of
    trivial cells thus shares one transaction instead of paying DuckDB's
    per-commit cost each. Every stored cell has all its scores.
    """

    def __init__(self, store: Store, stale: set[str]):
        self.store, self.stale = store, stale
        self.pending: list[tuple[CellRecord, ScoreRows | None]] = []
        self.last_write = self.last_release = time.monotonic()
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._flush_regularly, name="reliabench-writer", daemon=True)
        self.thread.start()

    def add(self, record: CellRecord, scores: ScoreRows | None) -> None:
        if self.failure is not None:
            raise self.failure
        with self.lock:
            self.pending.append((record, scores))
        if time.monotonic() - self.last_write >= FLUSH_SECONDS:
            self.flush()

    def _flush_regularly(self) -> None:
        while not self.stopping.wait(FLUSH_SECONDS):
            try:
                self.flush()
            except BaseException as exc:  # raised in the runner's thread at the next add or at close
                self.failure = exc
                return

    def flush(self) -> None:
        """Write what has finished; let go of the file once it has been held for RELEASE_SECONDS (closing
        checkpoints DuckDB's log, too costly to do at every write)."""
        with self.lock:
            now = time.monotonic()
            if self.pending:
                replace = any(record.key in self.stale for record, _ in self.pending)
                self.store.write_cells(self.pending, replace=replace)  # on failure the cells stay pending
                self.pending = []
                self.last_write = now
            if now - self.last_release >= RELEASE_SECONDS:
                self.store.release()  # readers may open the file until the next write
                self.last_release = now

    def close(self) -> None:
        """Stop the thread and write what is left (raising whatever stopped the thread)."""
        self.stopping.set()
        self.thread.join()
        self.flush()
        if self.failure is not None:
            raise self.failure


def run_cells(
    registry: Registry,
    cells: Sequence[Cell],
    store: Store,
    executor: Executor | None = None,
    argv: Sequence[str] = (),
    console: Console | None = None,
    show_progress: bool = True,
    fail_fast: bool = False,
    retries: int = 0,
) -> RunSummary:
    """Execute every cell of ``cells`` not already stored ``ok``; store outcomes as they finish.

    A cell that failed for a reason other than its own result (an exception, a
    crash, a timeout) is tried up to ``retries`` more times before it is stored.
    """
    executor = executor or SerialExecutor()
    console = console or Console(stderr=True)
    run_id = uuid.uuid4().hex
    store.begin_run(run_id, provenance.collect(registry, argv))
    for suite in {c.suite.name: c.suite for c in cells}.values():
        store.record_suite(suite)

    stored = store.stored_status(c.key for c in cells)
    store.release()
    todo = list({c.key: c for c in cells if stored.get(c.key) != "ok"}.values())
    summary = RunSummary(run_id, store.path, planned=len(cells), skipped=len(cells) - len(todo))
    writer = _Writer(store, stale=set(stored))
    attempts: dict[str, int] = {}

    status = "finished"
    try:
        with _progress_for(console) if show_progress else _NoProgress() as bar:
            job = bar.add_task("cells", total=len(todo), current="")
            while todo and status == "finished":
                again = []
                for cell, outcome in executor.map(todo):
                    tries = attempts.get(cell.key, 0)
                    if outcome.status != "ok" and outcome.retryable and tries < retries:
                        attempts[cell.key] = tries + 1
                        again.append(cell)
                        continue
                    if tries:
                        outcome = dataclasses.replace(outcome, error=f"{outcome.error} (after {tries} retries)")
                    writer.add(_record(cell, outcome, run_id, registry), outcome.scores)
                    summary.ran += 1
                    if outcome.status != "ok":
                        summary.failed.append((cell, outcome))
                    bar.update(job, advance=1, current=cell.label)
                    if fail_fast and summary.failed:
                        status = "failed-fast"
                        break
                todo = again
    except KeyboardInterrupt:
        summary.interrupted = True
        status = "interrupted"
        raise
    finally:
        writer.close()
        store.finish_run(run_id, status, summary.ran, summary.skipped, len(summary.failed))
    return summary


class _LineProgress:
    """Progress as plain lines: one each time another tenth of the cells is done, or a minute has passed."""

    EVERY_SECONDS = 60.0

    def __init__(self, console: Console):
        self.console = console
        self.total, self.done, self.start = 0, 0, time.monotonic()
        self.last_line, self.last_tenth = self.start, 0

    def __enter__(self) -> _LineProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, description: str, total: int, **fields: object) -> int:
        self.total = total
        return 0

    def update(self, task: int, advance: int = 0, current: str = "") -> None:
        self.done += advance
        now, tenth = time.monotonic(), self.done * 10 // max(self.total, 1)
        if tenth > self.last_tenth or now - self.last_line >= self.EVERY_SECONDS or self.done == self.total:
            elapsed = time.strftime("%H:%M:%S", time.gmtime(now - self.start))
            self.console.print(plain(f"cells {self.done}/{self.total} · {elapsed} · {current}"), soft_wrap=True)
            self.last_line, self.last_tenth = now, tenth


class _NoProgress:
    """Stands in for a progress bar when none is wanted (tests, --quiet)."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def add_task(self, *args: object, **kwargs: object) -> int:
        return 0

    def update(self, *args: object, **kwargs: object) -> None:
        return None
