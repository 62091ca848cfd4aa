"""Executors run cells and hand back outcomes; only the runner's process writes to the store.

``execute_cell`` is the one place a plugin's ``evaluate`` is called: whatever it
raises or returns wrong becomes that cell's ``error`` outcome, never the run's.
The process executor goes further: each cell runs in a worker process with a
wall-clock timeout and a memory limit, so a hang, a segfault, ``os._exit`` or
runaway allocation costs one cell and one worker, which is replaced.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import resource
import signal
import time
import traceback
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any, Protocol

from harness.grid import Cell
from harness.scores import ScoreError, ScoreRows, validate

GIB = 1 << 30


@dataclass(frozen=True)
class Outcome:
    """What happened to one cell: status ok/error/timeout, why, how long, and its score rows.

    ``retryable`` marks failures that were not the cell's own result (an exception,
    a crash, a timeout); a result that breaks the contract fails the same way again.
    """

    status: str
    duration_s: float
    scores: ScoreRows | None = None
    error: str = ""
    detail: str = ""
    retryable: bool = False


def execute_cell(cell: Cell) -> Outcome:
    start = time.perf_counter()
    try:
        result = cell.suite.evaluate(cell)
        rows = validate(cell.suite, result)
    except ScoreError as exc:
        return Outcome("error", time.perf_counter() - start, error=f"bad result: {exc}")
    except Exception as exc:
        return Outcome(
            "error",
            time.perf_counter() - start,
            error=f"{type(exc).__name__}: {exc}",
            detail=traceback.format_exc(),
            retryable=True,
        )
    return Outcome("ok", time.perf_counter() - start, scores=rows)


@dataclass(frozen=True)
class ExecutionOptions:
    """How cells run: ``workers`` in parallel, each cell within ``timeout_s`` and ``max_memory`` bytes.

    ``threads`` is the torch/BLAS thread count per cell (default: the cores
    shared out among the workers). ``scheduler`` joins an existing Dask cluster.
    """

    workers: int = 1
    timeout_s: float | None = None
    max_memory: int | None = None
    threads: int | None = None
    scheduler: str | None = None

    def threads_per_cell(self) -> int:
        return self.threads or max(1, (os.cpu_count() or 1) // max(1, self.workers))


class Executor(Protocol):
    """Runs cells and yields each with its outcome as it finishes (in any order)."""

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class CellRef:
    """A cell by name, small and picklable: what crosses to a worker, which resolves it in its own registry."""

    suite: str
    task: str
    model: str
    method: str
    seed: int
    profile: str
    config: Any
    data_fingerprint: str
    key: str

    @staticmethod
    def of(cell: Cell) -> CellRef:
        return CellRef(
            cell.suite.name,
            cell.task.name,
            cell.model_name,
            cell.method_name,
            cell.seed,
            cell.profile,
            dict(cell.config),
            cell.data_fingerprint,
            cell.key,
        )

    def resolve(self, registry) -> Cell:
        suite = registry.get("suite", self.suite)
        return Cell(
            suite,
            suite.task(self.task),
            registry.get("model", self.model) if self.model else None,
            registry.get("method", self.method) if self.method else None,
            self.seed,
            self.profile,
            self.config,
            self.data_fingerprint,
            self.key,
        )


def limit_threads(threads: int) -> None:
    """Pin BLAS/OpenMP and torch to ``threads`` in this process (before or after torch is imported)."""
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[variable] = str(threads)
    torch = __import__("sys").modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def memory_note(outcome: Outcome, max_memory: int | None) -> Outcome:
    """Say so when an allocation failure was the memory limit at work."""
    hit = "MemoryError" in outcome.error or "can't allocate memory" in outcome.error
    if not hit or max_memory is None:
        return outcome
    note = f" (over the cell memory limit of {max_memory / GIB:.3g} GiB; raise it with --max-memory)"
    return Outcome(outcome.status, outcome.duration_s, outcome.scores, outcome.error + note, outcome.detail, False)


class SerialExecutor:
    """Runs cells one after another in this process: simplest, and best for debugging. No timeouts."""

    def __init__(self, options: ExecutionOptions | None = None):
        self.options = options or ExecutionOptions()

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        if self.options.threads:
            limit_threads(self.options.threads)
        for cell in cells:
            yield cell, execute_cell(cell)

    def close(self) -> None:
        return None


def worker_registry(source: tuple[tuple[str, ...], bool]):
    """Rebuild, in a worker process, the registry described by ``registry_source``."""
    from harness.plugins import load_registry

    plugins_dirs, defaults = source
    return load_registry(plugins_dirs, defaults=defaults)


def registry_source(registry) -> tuple[tuple[str, ...], bool]:
    """What a worker needs to rebuild ``registry``: picklable, unlike the plugins themselves."""
    if registry.in_process_only:
        raise ValueError(
            "this executor runs cells in other processes, which can only load plugins they can import (built-ins, "
            "installed packages or --plugins-dir); use --executor serial for plugin objects registered in-process"
        )
    return tuple(str(d) for d in registry.plugins_dirs), registry.defaults


def _worker_main(conn: Connection, source, threads: int, max_memory: int | None) -> None:
    """A worker process: rebuild the registry, then run cells sent by the parent until told to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    _die_with_parent()
    limit_threads(threads)
    if max_memory:
        resource.setrlimit(resource.RLIMIT_DATA, (max_memory, max_memory))
    registry = worker_registry(source)
    conn.send(("ready", None))
    while (ref := _receive(conn)) is not None:
        try:
            cell = ref.resolve(registry)
        except Exception as exc:
            conn.send(("done", Outcome("error", 0.0, error=f"worker cannot resolve the cell: {exc}")))
            continue
        conn.send(("done", memory_note(execute_cell(cell), max_memory)))


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this worker if the runner dies (even by SIGKILL), so no orphan keeps computing."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _receive(conn: Connection):
    """The next message, or None once the other side is gone."""
    try:
        return conn.recv()
    except (EOFError, OSError):
        return None


@dataclass
class _Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection
    cell: Cell | None = None
    started: float = 0.0
    deadline: float = float("inf")


def _death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (a segmentation fault in native code)" if name == "SIGSEGV" else ""
        return f"worker process killed by {name}{hint}"
    return f"worker process exited with code {exitcode} before returning a result"


class ProcessExecutor:
    """Each cell in a worker subprocess, ``workers`` at a time, with a timeout and a memory limit.

    Workers are started once (spawned, so they import plugins afresh) and reused;
    one whose cell hangs is killed at the deadline, one that dies is replaced.
    """

    def __init__(self, registry, options: ExecutionOptions):
        self.source, self.options = registry_source(registry), options
        self.context = multiprocessing.get_context("spawn")
        self.idle: list[_Worker] = []

    def _spawn(self, count: int) -> list[_Worker]:
        """Start ``count`` workers at once (they import plugins in parallel) and wait until all are ready."""
        workers = []
        for _ in range(count):
            parent, child = self.context.Pipe()
            process = self.context.Process(
                target=_worker_main,
                args=(child, self.source, self.options.threads_per_cell(), self.options.max_memory),
                daemon=True,
            )
            process.start()
            child.close()
            workers.append(_Worker(process, parent))
        for worker in workers:
            if not worker.conn.poll(120) or _receive(worker.conn) != ("ready", None):
                for other in workers:
                    self._kill(other)
                raise RuntimeError(f"a worker process failed to start ({_death(worker.process.exitcode)})")
        return workers

    def _kill(self, worker: _Worker) -> None:
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(5)
        worker.conn.close()

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        pending: deque[Cell] = deque(cells)
        busy: list[_Worker] = []
        self.idle += self._spawn(max(0, min(self.options.workers, len(pending)) - len(self.idle)))
        try:
            while pending or busy:
                while pending and len(busy) < self.options.workers:
                    worker = self.idle.pop() if self.idle else self._spawn(1)[0]
                    worker.cell = pending.popleft()
                    worker.started = time.monotonic()
                    worker.deadline = worker.started + (self.options.timeout_s or float("inf"))
                    worker.conn.send(CellRef.of(worker.cell))
                    busy.append(worker)
                yield from self._collect(busy)
        finally:
            for worker in busy:  # interrupted: nothing in flight survives
                self._kill(worker)

    def _collect(self, busy: list[_Worker]) -> Iterable[tuple[Cell, Outcome]]:
        """Wait for the first result, death or deadline among busy workers; yield what finished."""
        now = time.monotonic()
        timeout = max(0.0, min(w.deadline for w in busy) - now)
        wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=min(timeout, 3600))
        for worker in list(busy):
            cell = worker.cell
            outcome = self._outcome(worker)
            if outcome is None:
                continue
            busy.remove(worker)
            yield cell, outcome

    def _outcome(self, worker: _Worker) -> Outcome | None:
        if worker.conn.poll():
            try:
                _, outcome = worker.conn.recv()
            except (EOFError, OSError):
                outcome = None
            if outcome is not None:
                self.idle.append(worker)
                return outcome
        if not worker.process.is_alive():
            self._kill(worker)
            return Outcome(
                "error", time.monotonic() - worker.started, error=_death(worker.process.exitcode), retryable=True
            )
        if time.monotonic() >= worker.deadline:
            self._kill(worker)
            return Outcome(
                "timeout",
                self.options.timeout_s or 0.0,
                retryable=True,
                error=f"no result within the {self.options.timeout_s:g} s timeout; the worker was killed",
            )
        return None

    def close(self) -> None:
        for worker in self.idle:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
            worker.process.join(5)
            self._kill(worker)
        self.idle = []
