"""Run cells on a Dask ``distributed`` cluster: a LocalCluster by default, or ``--scheduler tcp://host:port``.

dask-jobqueue (Slurm, PBS, ...) and dask-kubernetes clusters are reached the
same way: start the cluster there, pass its scheduler address. Workers only
compute; outcomes come back to the runner, which alone writes the database.
"""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator, Sequence

from distributed.diagnostics.plugin import WorkerPlugin

from harness.executors import CellRef, ExecutionOptions, Outcome, registry_source
from harness.isolation import run_isolated, template_context
from harness.registry import Cell

DAEMON_HINT = (
    "Dask workers run daemonic processes, which cannot start a process per cell; "
    "start them with the Dask setting distributed.worker.daemon: False"
)


def run_on_worker(ref: CellRef, source, timeout_s: float | None, max_memory: int | None) -> Outcome:
    """The task a Dask worker runs: the cell in a fresh process of its own, exactly as the process executor does.

    The worker itself never runs plugin code, so a crash, a hang or the memory
    limit costs the cell, never the worker or the cells queued on it.
    """
    if multiprocessing.current_process().daemon:
        return Outcome("error", 0.0, error=DAEMON_HINT)
    return run_isolated(ref, source, timeout_s, max_memory)


class _WarmTemplate(WorkerPlugin):
    """A Dask worker plugin: start the worker's clean template process when the worker starts, not in a cell."""

    def setup(self, worker) -> None:
        from multiprocessing import forkserver

        if not multiprocessing.current_process().daemon:
            template_context()
            forkserver.ensure_running()


class DaskExecutor:
    """At most ``workers`` cells in flight; each cell's timeout is kept by the worker that runs it."""

    def __init__(self, registry, options: ExecutionOptions):
        import dask
        from distributed import Client, LocalCluster

        self.source, self.options = registry_source(registry), options
        self.cluster = None
        settings = {
            "distributed.scheduler.allowed-failures": 0,
            "distributed.worker.daemon": False,  # so that a worker may start a process per cell
            # Workers inherit the runner's environment as it is, so cells run as under the process executor
            # (Dask's default MALLOC_TRIM_THRESHOLD_ alone slowed allocation-heavy cells by about 20%).
            "distributed.nanny.pre-spawn-environ": {},
        }
        with dask.config.set(settings):
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
        self.client.register_plugin(_WarmTemplate(), name="reliabench-template")

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        from distributed import wait

        pending = list(reversed(cells))
        flying: dict = {}  # future -> (cell, submitted)
        try:
            while pending or flying:
                while pending and len(flying) < max(1, self.options.workers):
                    cell = pending.pop()
                    future = self.client.submit(
                        run_on_worker,
                        CellRef.of(cell),
                        self.source,
                        self.options.timeout_s,
                        self.options.max_memory,
                        key=f"cell-{cell.key}-{time.monotonic_ns()}",
                        pure=False,
                    )
                    flying[future] = (cell, time.monotonic())
                done, _ = wait(list(flying), return_when="FIRST_COMPLETED")
                for future in done:
                    cell, submitted = flying.pop(future)
                    yield cell, self._outcome(future, submitted)
        finally:
            for future in flying:
                future.cancel()

    def _outcome(self, future, submitted: float) -> Outcome:
        if future.status == "finished":
            return future.result()
        exc = future.exception()
        name = type(exc).__name__
        reason = "its Dask worker died" if name == "KilledWorker" else f"{name}: {exc}"
        return Outcome("error", time.monotonic() - submitted, error=reason, retryable=True)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
