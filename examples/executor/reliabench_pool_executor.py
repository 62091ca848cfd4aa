"""A process-pool executor for reliabench: cells run on a fixed pool of long-lived worker processes.

Each worker loads the plugins once and then runs cell after cell, so in-process caches outlive a cell
(the ptq suite's FP32 evaluations of a family are shared by every quantizer a worker runs). The price
is isolation: unlike the built-in process executor (a fresh process per cell) there is no timeout, no
memory limit, the model cache stays writable, and a cell that kills its worker breaks the pool, which
fails the cells still queued. Workers are started with ``spawn`` and import this module by name, so
use it installed (``pip install``), not from ``--plugins-dir``.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool

from harness.executors import (
    CellRef,
    ExecutionOptions,
    Outcome,
    RegistrySource,
    execute_cell,
    limit_threads,
    registry_source,
    worker_registry,
)
from harness.grid import CELL_THREADS
from harness.hookspecs import hookimpl
from harness.registry import Cell, ExecutorSpec, Registry

_worker_registry: Registry | None = None  # in a worker: the plugins it loaded at start


def _start_worker(source: RegistrySource) -> None:
    global _worker_registry
    limit_threads(CELL_THREADS)
    _worker_registry = worker_registry(source)


def _run(ref: CellRef) -> Outcome:
    return execute_cell(ref.resolve(_worker_registry))


class PoolExecutor:
    """A pool of ``options.workers`` worker processes per call of ``map``; cells go to workers as they free up.

    A pool lives for one ``map`` call, so the runner's retries (``--retries``) start a fresh pool
    after a worker died.
    """

    def __init__(self, registry: Registry, options: ExecutionOptions):
        self.source = registry_source(registry)  # ValueError for plugin objects a worker cannot import
        self.workers = max(1, options.workers)

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        pool = ProcessPoolExecutor(
            self.workers,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_worker,
            initargs=(self.source,),
        )
        try:
            futures = {pool.submit(_run, CellRef.of(cell)): cell for cell in cells}
            for future in as_completed(futures):
                try:
                    outcome = future.result()
                except BrokenProcessPool as exc:
                    outcome = Outcome("error", 0.0, error=f"a worker of the pool died: {exc}", retryable=True)
                yield futures[future], outcome
        finally:
            pool.shutdown(cancel_futures=True)

    def close(self) -> None:
        return None


@hookimpl
def register_executors(register: Callable[[ExecutorSpec], None]) -> None:
    """``create`` is called as ``create(registry, options)`` when a run chooses ``--executor pool``."""
    register(ExecutorSpec("pool", PoolExecutor, "a pool of long-lived worker processes; no timeout or memory limit"))
