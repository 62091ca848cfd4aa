"""Executors run cells and hand back outcomes; only the runner's process writes to the store.

``execute_cell`` is the one place a plugin's ``evaluate`` is called: whatever it
raises or returns wrong becomes that cell's ``error`` outcome, never the run's.
The process executor (:mod:`harness.isolation`) goes further and gives every
cell a fresh process with a timeout and a memory limit.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from harness.grid import CELL_THREADS
from harness.plugins import load_registry
from harness.registry import Cell
from harness.scores import ScoreError, ScoreRows, validate

GIB = 1 << 30


@dataclass(frozen=True)
class Outcome:
    """What happened to one cell: status ok/error/timeout, why, how long, and its score rows.

    ``status`` is ``ok``, ``error`` or ``timeout``; ``duration_s`` the seconds the cell took; ``scores``
    the validated score rows of an ``ok`` cell (None otherwise); ``error`` one line saying why a cell
    failed and ``detail`` its traceback, if any. ``retryable`` marks failures that were not the cell's
    own result (an exception, a crash, a timeout); a result that breaks the contract fails the same way
    again.
    """

    status: str
    duration_s: float
    scores: ScoreRows | None = None
    error: str = ""
    detail: str = ""
    retryable: bool = False


def execute_cell(cell: Cell) -> Outcome:
    """Evaluate one cell; every failure of the plugin's code, ``sys.exit`` included, is this cell's outcome."""
    start = time.perf_counter()
    try:
        result = cell.suite.evaluate(cell)
        rows = validate(cell.suite, result)
    except ScoreError as exc:
        return Outcome("error", time.perf_counter() - start, error=f"bad result: {exc}")
    except (Exception, SystemExit) as exc:
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

    Every cell runs with :data:`CELL_THREADS` torch/BLAS threads whatever the
    executor. ``scheduler`` joins an existing Dask cluster.
    """

    workers: int = 1
    timeout_s: float | None = None
    max_memory: int | None = None
    scheduler: str | None = None


class Executor(Protocol):
    """Runs cells and yields each with its outcome as it finishes (in any order)."""

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        """Run ``cells``; yield each with its :class:`Outcome` as it finishes, in any order.

        A plugin's failure must become that cell's outcome (:func:`execute_cell` does it), never an
        exception out of ``map``; the runner stores each outcome as it is yielded.
        """
        ...

    def close(self) -> None:
        """Release what the executor holds (worker processes, a cluster connection); called once, at the end."""
        ...


@dataclass(frozen=True)
class CellRef:
    """A cell by name, small and picklable: what crosses to a worker, which resolves it in its own registry.

    ``suite``, ``task``, ``model`` and ``method`` are names (``""`` for a side the suite does not have);
    ``seed``, ``profile``, ``config``, ``data_fingerprint`` and ``key`` are the cell's own.
    """

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
        """The reference to send for ``cell``."""
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
        """The cell again, from a registry loaded where it runs (``worker_registry``); unknown names raise."""
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
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(threads)


def memory_note(outcome: Outcome, max_memory: int | None) -> Outcome:
    """Say so when an allocation failure was the memory limit at work."""
    hit = "MemoryError" in outcome.error or "can't allocate memory" in outcome.error
    if not hit or max_memory is None:
        return outcome
    size = f"{max_memory / GIB:.3g} GiB" if max_memory >= GIB else f"{max_memory / (1 << 20):.3g} MiB"
    note = f" (over the cell memory limit of {size}; raise it with --max-memory)"
    return Outcome(outcome.status, outcome.duration_s, outcome.scores, outcome.error + note, outcome.detail, False)


class SerialExecutor:
    """Runs cells one after another in this process, for debugging: no isolation, timeout or memory limit."""

    def __init__(self, options: ExecutionOptions | None = None):
        self.options = options or ExecutionOptions()

    def map(self, cells: Sequence[Cell]) -> Iterator[tuple[Cell, Outcome]]:
        limit_threads(CELL_THREADS)
        for cell in cells:
            yield cell, execute_cell(cell)

    def close(self) -> None:
        return None


RegistrySource = tuple[tuple[str, ...], bool, tuple[str, ...] | None]  # plugin folders, built-ins, allow-list


def worker_registry(source: RegistrySource):
    """Rebuild, in a worker process, the registry described by ``registry_source``."""
    plugins_dirs, defaults, allowed = source
    return load_registry(plugins_dirs, defaults=defaults, allowed=allowed)


def registry_source(registry) -> RegistrySource:
    """What a worker needs to rebuild ``registry``: picklable, unlike the plugins themselves."""
    if registry.in_process_only:
        raise ValueError(
            "this executor runs cells in other processes, which can only load plugins they can import (built-ins, "
            "installed packages or --plugins-dir); use --executor serial for plugin objects registered in-process"
        )
    return tuple(str(d) for d in registry.plugins_dirs), registry.defaults, registry.allowed
