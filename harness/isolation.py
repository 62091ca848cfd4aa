"""A fresh process for every cell, forked from a clean template: nothing a cell does reaches another.

The template is multiprocessing's fork server, started once per executing
process. It imports torch and the built-in suites and plugins and then only
ever forks: it runs no plugin code, so every child starts from the same clean
state whatever earlier cells did (monkeypatched functions, environment
variables, thread counts, leftover threads). Each child

- leads its own process group, so whatever the cell starts dies with it;
- is killed by Linux if its parent dies (``PR_SET_PDEATHSIG``);
- runs with one torch/BLAS thread, so numbers never depend on ``--workers``;
- loads the registry (importing third-party plugins), then takes the memory limit;
- makes the model cache read-only before any method code runs (:func:`_sealing_cache`),
  so no method can poison what later cells load;
- sends one message, ``(cell key, outcome)``, and leaves with ``os._exit``,
  so a thread the plugin left behind cannot send anything after it.

The parent accepts only an outcome carrying the key of the cell it started.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import multiprocessing
import os
import resource
import signal
import time
from collections import deque
from collections.abc import Iterator, Sequence
from multiprocessing.connection import Connection, wait
from typing import Any

from harness import cache
from harness.executors import (
    CellRef,
    ExecutionOptions,
    Outcome,
    execute_cell,
    limit_threads,
    memory_note,
    registry_source,
    worker_registry,
)
from harness.grid import CELL_THREADS
from harness.plugins import DEFAULT_PLUGINS
from harness.registry import Cell

PRELOAD = (  # what every cell would import anyway: imported once, shared by every fork
    "__main__",  # the runner's main module (the reliabench script), which a child would otherwise re-import
    "torch",
    "torch._dynamo",  # imported by the first optimizer a cell creates: 1.2 s each time otherwise
    "numpy",
    "scipy.stats",
    "pyarrow",
    "datasets",
    "sklearn.datasets",
    "sklearn.model_selection",
    "harness.plugins",
    "harness.executors",
    *DEFAULT_PLUGINS,
    "harness.template",
)


def template_context() -> multiprocessing.context.BaseContext:
    """The fork-server context whose server has imported :data:`PRELOAD` (started on first use)."""
    limit_threads(CELL_THREADS)  # inherited by the server: no BLAS thread pools exist when it forks
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOAD))
    return context


def _cell_main(conn: Connection, ref: CellRef, source, max_memory: int | None) -> None:
    """In the child: run one cell and send its outcome, tagged with the cell's key; never return."""
    os.setpgid(0, 0)
    _stop_keeping_the_template_alive()
    _die_with_parent()
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the runner decides when to stop
    limit_threads(CELL_THREADS)
    registry = None
    try:
        registry = worker_registry(source)
        cell = _sealing_cache(ref.resolve(registry))
    except Exception as exc:
        outcome = Outcome("error", 0.0, error=_unresolved(exc, registry))
    else:
        if max_memory:
            resource.setrlimit(resource.RLIMIT_DATA, (max_memory, max_memory))
        outcome = memory_note(execute_cell(cell), max_memory)
    try:
        conn.send((ref.key, outcome))
    finally:
        os._exit(0)


def _unresolved(exc: Exception, registry) -> str:
    problems = "; ".join(registry.problems) if registry is not None else ""
    return f"the cell's process cannot resolve the cell: {exc}" + (
        f" (plugin problems: {problems})" if problems else ""
    )


def _sealing_cache(cell: Cell) -> Cell:
    """The cell, with a method whose loading first makes the model cache read-only in this process."""
    if cell.method is None:
        return cell
    load = cell.method.load

    def sealed_load(*args: Any, **kwargs: Any) -> Any:
        cache.seal()
        return load(*args, **kwargs)

    return dataclasses.replace(cell, method=dataclasses.replace(cell.method, load=sealed_load))


def _stop_keeping_the_template_alive() -> None:
    """Close this child's copy of the fork server's liveness pipe.

    The server exits once no process holds that pipe; a child that kept it would
    keep the server alive after the runner died, and the server would keep the
    child alive in turn (it dies with its parent, the server).
    """
    from multiprocessing import forkserver

    alive = getattr(forkserver._forkserver, "_forkserver_alive_fd", None)
    if alive is not None:
        with contextlib.suppress(OSError):
            os.close(alive)
        forkserver._forkserver._forkserver_alive_fd = None


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (even by SIGKILL): no orphan keeps computing."""
    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


def death_reason(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name
        hint = " (a segmentation fault in native code)" if name == "SIGSEGV" else ""
        return f"the cell's process was killed by {name}{hint}"
    return f"the cell's process exited with code {exitcode} before returning a result"


class CellProcess:
    """One cell running in its own process, with a deadline."""

    def __init__(self, context, ref: CellRef, source, timeout_s: float | None, max_memory: int | None):
        self.ref = ref
        self.conn, child = context.Pipe(duplex=False)
        self.process = context.Process(target=_cell_main, args=(child, ref, source, max_memory), daemon=True)
        self.started = time.monotonic()
        self.timeout_s = timeout_s
        self.deadline = self.started + (timeout_s or float("inf"))
        self.process.start()
        child.close()

    @property
    def waitables(self) -> list:
        return [self.conn, self.process.sentinel]

    def poll(self) -> Outcome | None:
        """The cell's outcome once it has one (its result, its death, or its deadline); None while it runs."""
        if self.conn.poll():
            outcome = self._receive()
            self.stop()
            return outcome
        if not self.process.is_alive():
            self.stop()
            return Outcome("error", self._elapsed(), error=death_reason(self.process.exitcode), retryable=True)
        if time.monotonic() >= self.deadline:
            self.stop()
            return Outcome(
                "timeout",
                self.timeout_s or 0.0,
                retryable=True,
                error=f"no result within the {self.timeout_s:g} s timeout; the cell's process was killed",
            )
        return None

    def _receive(self) -> Outcome:
        try:
            message = self.conn.recv()
        except (EOFError, OSError):
            self.process.join(5)
            return Outcome("error", self._elapsed(), error=death_reason(self.process.exitcode), retryable=True)
        except Exception as exc:  # not even a picklable message: the cell's process sent garbage
            return Outcome("error", self._elapsed(), error=f"the cell's process sent an unreadable message: {exc}")
        if not (isinstance(message, tuple) and len(message) == 2 and isinstance(message[1], Outcome)):
            return Outcome("error", self._elapsed(), error="the cell's process sent something other than an outcome")
        key, outcome = message
        if key != self.ref.key:
            return Outcome("error", self._elapsed(), error="the cell's process answered for another cell (rejected)")
        return outcome

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def stop(self) -> None:
        """Kill the cell's whole process group (whatever it started) and reap it."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.join(5)
        self.conn.close()


def run_isolated(ref: CellRef, source, timeout_s: float | None, max_memory: int | None) -> Outcome:
    """Run one cell in a fresh process and wait for its outcome (what a Dask task does)."""
    cell = CellProcess(template_context(), ref, source, timeout_s, max_memory)
    while True:
        wait(cell.waitables, timeout=max(0.0, min(cell.deadline - time.monotonic(), 3600)))
        outcome = cell.poll()
        if outcome is not None:
            return outcome


class ProcessExecutor:
    """Each cell in a fresh process forked from the clean template, ``workers`` at a time.

    A hang is killed at the deadline, a crash is named, and neither touches any
    other cell: no process is ever reused.
    """

    def __init__(self, registry, options: ExecutionOptions):
        self.source, self.options = registry_source(registry), options
        self.context = template_context()

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        pending: deque[Cell] = deque(cells)
        running: dict[CellProcess, Cell] = {}
        try:
            while pending or running:
                while pending and len(running) < max(1, self.options.workers):
                    cell = pending.popleft()
                    started = CellProcess(
                        self.context, CellRef.of(cell), self.source, self.options.timeout_s, self.options.max_memory
                    )
                    running[started] = cell
                deadline = min(p.deadline for p in running)
                wait(
                    [w for p in running for w in p.waitables], timeout=max(0.0, min(deadline - time.monotonic(), 3600))
                )
                for process in list(running):
                    outcome = process.poll()
                    if outcome is not None:
                        yield running.pop(process), outcome
        finally:
            for process in running:  # interrupted: nothing in flight survives
                process.stop()

    def close(self) -> None:
        return None
