"""Built-in executors, registered exactly as a Ray or Slurm executor plugin would be."""

from __future__ import annotations

from harness import hookimpl
from harness.executors import SerialExecutor
from harness.isolation import ProcessExecutor
from harness.registry import ExecutorSpec


def _dask(registry, options):
    from harness.dask_executor import DaskExecutor

    return DaskExecutor(registry, options)


@hookimpl
def register_executors(register):
    register(
        ExecutorSpec(
            "serial",
            lambda registry, options: SerialExecutor(options),
            "in this process, one cell after another; for debugging (no timeout or memory limit)",
        )
    )
    register(
        ExecutorSpec(
            "process",
            ProcessExecutor,
            "each cell in a fresh process forked from a clean template, with a timeout and a memory limit (default)",
        )
    )
    register(ExecutorSpec("dask", _dask, "a Dask distributed cluster: a LocalCluster, or --scheduler tcp://host:port"))
