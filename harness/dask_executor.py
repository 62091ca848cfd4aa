"""Run cells on a Dask ``distributed`` cluster: a LocalCluster by default, or ``--scheduler tcp://host:port``.

dask-jobqueue (Slurm, PBS, ...) and dask-kubernetes clusters are reached the
same way: start the cluster there, pass its scheduler address. Workers only
compute; outcomes come back to the runner, which alone writes the database.
"""

from __future__ import annotations

import logging
import resource
import time
from collections.abc import Iterator, Sequence

from distributed.diagnostics.plugin import WorkerPlugin

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
from harness.grid import Cell

_REGISTRIES: dict = {}  # in each worker process: the registry rebuilt for each source


def run_on_worker(ref: CellRef, source, threads: int, max_memory: int | None) -> Outcome:
    """The task a Dask worker runs: the same ``execute_cell`` as every other executor."""
    if source not in _REGISTRIES:
        _REGISTRIES[source] = worker_registry(source)
    limit_threads(threads)
    if max_memory:
        resource.setrlimit(resource.RLIMIT_DATA, (max_memory, max_memory))
    return memory_note(execute_cell(ref.resolve(_REGISTRIES[source])), max_memory)


class _WarmRegistry(WorkerPlugin):
    """A Dask worker plugin: rebuild the registry when a worker starts (or restarts), not inside a cell's time."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def setup(self, worker) -> None:
        _REGISTRIES.setdefault(self.source, worker_registry(self.source))


class DaskExecutor:
    """At most ``workers`` cells in flight; a cell's timeout runs from when a worker starts processing it."""

    def __init__(self, registry, options: ExecutionOptions):
        import dask
        from distributed import Client, LocalCluster

        self.source, self.options = registry_source(registry), options
        self.cluster = None
        with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
            if options.scheduler:
                self.client = Client(options.scheduler)
            else:
                self.cluster = LocalCluster(
                    n_workers=options.workers,
                    threads_per_worker=1,
                    processes=True,
                    memory_limit=0,
                    dashboard_address=None,
                    silence_logs=logging.ERROR,
                )
                self.client = Client(self.cluster)
        self.client.register_plugin(_WarmRegistry(self.source), name="reliabench-registry")

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        from distributed import wait

        pending = list(reversed(cells))
        flying: dict = {}  # future -> [cell, started or None]
        threads = self.options.threads_per_cell()
        try:
            while pending or flying:
                while pending and len(flying) < max(1, self.options.workers):
                    cell = pending.pop()
                    future = self.client.submit(
                        run_on_worker,
                        CellRef.of(cell),
                        self.source,
                        threads,
                        self.options.max_memory,
                        key=f"cell-{cell.key}-{time.monotonic_ns()}",
                        pure=False,
                    )
                    flying[future] = [cell, None]
                try:
                    done, _ = wait(
                        list(flying), timeout=0.5 if self.options.timeout_s else None, return_when="FIRST_COMPLETED"
                    )
                except TimeoutError:  # nothing finished yet: check the clocks
                    done = set()
                for future in done:
                    cell, started = flying.pop(future)
                    yield cell, self._outcome(future, started)
                yield from self._expired(flying)
        finally:
            for future in flying:
                future.cancel()

    def _expired(self, flying: dict) -> Iterator[tuple[Cell, Outcome]]:
        """Start the clock of cells a worker has begun; give up on those past the timeout."""
        if not self.options.timeout_s or not flying:
            return
        now = time.monotonic()
        processing = set().union(*self.client.processing().values())
        for future, state in list(flying.items()):
            if state[1] is None and future.key in processing:
                state[1] = now
            if state[1] is not None and now - state[1] >= self.options.timeout_s:
                flying.pop(future)
                self._abandon(future)
                yield (
                    state[0],
                    Outcome(
                        "timeout",
                        self.options.timeout_s,
                        retryable=True,
                        error=f"no result within the {self.options.timeout_s:g} s timeout; worker restarted",
                    ),
                )

    def _outcome(self, future, started: float | None) -> Outcome:
        if future.status == "finished":
            return future.result()
        exc = future.exception()
        name = type(exc).__name__
        reason = (
            "its Dask worker died (a crash such as a segfault or os._exit, or the memory limit)"
            if name == "KilledWorker"
            else f"{name}: {exc}"
        )
        return Outcome("error", time.monotonic() - (started or time.monotonic()), error=reason, retryable=True)

    def _abandon(self, future) -> None:
        """Cancel a hung cell and restart the worker still running it (a thread cannot be stopped)."""
        running = [worker for worker, keys in self.client.processing().items() if future.key in keys]
        future.cancel()
        if running:
            self.client.restart_workers(running)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
